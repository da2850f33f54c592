"""Request and response shapes of the artworks API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hallmark.schemas import ErrorBody


class ArtworkPublic(BaseModel):
    """An artwork as its owner sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    owner_id: uuid.UUID
    sha256: str
    size_bytes: int
    mime: str
    width: int
    height: int
    original_filename: str
    caption: str | None
    training_opt_out: bool
    rights_attested_at: datetime
    variant_of_id: uuid.UUID | None
    created_at: datetime


class ArtworkUpdate(BaseModel):
    """Changes an owner may make to an artwork; absent fields stay as they are."""

    caption: str | None = Field(default=None, max_length=2000)
    clear_caption: bool = False
    training_opt_out: bool | None = None


class ArtworkUploadResult(BaseModel):
    """One file's outcome in a batch upload."""

    filename: str
    outcome: str
    artwork: ArtworkPublic | None = None
    error: ErrorBody | None = None


class ArtworkPage(BaseModel):
    """A page of artworks."""

    items: list[ArtworkPublic]
    total: int
    limit: int
    offset: int
