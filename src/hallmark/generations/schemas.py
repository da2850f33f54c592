"""Response shapes of the generations API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class GenerationPublic(BaseModel):
    """A generated image's record as its owner or maker sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    style_id: uuid.UUID
    maker_id: uuid.UUID
    owner_id: uuid.UUID
    ownership_rule: str
    prompt: str
    negative_prompt: str | None
    seed: int
    parameters: dict[str, Any]
    sha256: str
    mime: str
    width: int
    height: int
    near_copy: bool
    near_copy_artwork_id: uuid.UUID | None
    near_copy_method: str | None
    near_copy_cleared_at: datetime | None
    created_at: datetime


class GenerationPage(BaseModel):
    """A page of generations."""

    items: list[GenerationPublic]
    total: int
    limit: int
    offset: int
