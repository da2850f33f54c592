"""Shapes shared by every API slice."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel

# The largest value an INTEGER column holds on every database Hallmark runs on: a number the
# database could not store is refused as a 422 before it reaches SQL.
MAX_DB_INT = 2**31 - 1
# The largest OFFSET (a BIGINT) either database takes.
MAX_DB_BIGINT = 2**63 - 1
MAX_PAGE_SIZE = 200

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="How many items per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_BIGINT, description="How many items to skip")]


class ErrorBody(BaseModel):
    """What went wrong: a stable code, a message for people, and the rule if one applied."""

    code: str
    message: str
    rule: str | None = None


class ErrorResponse(BaseModel):
    """Every API error response: `{"error": {...}}`."""

    error: ErrorBody
