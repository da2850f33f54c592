"""Response shapes of the usage register API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class LicenseUsePublic(BaseModel):
    """A license on an image, as the register shows it to the model's owner."""

    model_config = ConfigDict(from_attributes=True)

    license_id: uuid.UUID
    licensee_username: str
    purposes: list[str]
    terms_name: str
    channel: str
    price_minor: int
    currency: str
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class UsageEntryPublic(BaseModel):
    """One image made with the model: who, when, what prompt, and its licenses."""

    model_config = ConfigDict(from_attributes=True)

    generation_id: uuid.UUID
    created_at: datetime
    maker_username: str
    prompt: str
    seed: int
    listed: bool
    licenses: list[LicenseUsePublic]


class UsagePage(BaseModel):
    """A page of a model's usage register, newest image first."""

    style_id: uuid.UUID
    style_name: str
    items: list[UsageEntryPublic]
    total: int
    limit: int
    offset: int
