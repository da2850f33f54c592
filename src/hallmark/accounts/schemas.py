"""Request and response shapes of the accounts API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class UserCreate(BaseModel):
    """A sign-up request."""

    username: str = Field(min_length=3, max_length=32, examples=["ana"])
    password: str = Field(min_length=10, max_length=256)
    display_name: str | None = Field(default=None, max_length=100)


class UserPublic(BaseModel):
    """What anyone may know about an account."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str
    created_at: datetime


class TokenCreate(BaseModel):
    """Exchange a username and password for an API token."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    name: str = Field(default="api", max_length=100)


class TokenIssued(BaseModel):
    """A new API token; `token` is shown only in this response."""

    id: uuid.UUID
    token: str
    token_type: str = "bearer"
    expires_at: datetime | None
