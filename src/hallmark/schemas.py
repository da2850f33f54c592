"""Shapes shared by every API slice."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """What went wrong: a stable code, a message for people, and the rule if one applied."""

    code: str
    message: str
    rule: str | None = None


class ErrorResponse(BaseModel):
    """Every API error response: `{"error": {...}}`."""

    error: ErrorBody
