"""Request and response shapes of the styles API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from hallmark.styles.models import StyleModel


class StyleCreate(BaseModel):
    """Define a style model on a set of your works."""

    name: str = Field(min_length=1, max_length=100)
    artwork_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    engine: str = Field(default="studio", max_length=50)
    base_model: str = Field(default="", max_length=255)
    description: str | None = Field(default=None, max_length=2000)
    hide_prompts: bool = Field(
        default=False, description="Leave prompts out of the images' content credentials"
    )
    allow_ai_training: bool = Field(
        default=False, description="Say in the images' credentials that AI may train on them"
    )


class StylePublish(BaseModel):
    """Publishing grants the platform a license to offer the model (R5); the owner must accept."""

    accept_platform_license: bool = False


class StylePublic(BaseModel):
    """A style model as its viewers see it."""

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    description: str | None
    engine: str
    base_model: str
    status: str
    visibility: str
    published_at: datetime | None
    hide_prompts: bool
    allow_ai_training: bool
    training_set_size: int
    provenance: str = Field(description="trained here, or imported under attestation (R2)")
    attested_at: datetime | None = Field(
        default=None, description="When the owner attested an imported model's training rights"
    )
    created_at: datetime

    @classmethod
    def from_model(cls, style: StyleModel) -> StylePublic:
        """Build the response from the ORM row."""
        return cls(
            id=style.id,
            owner_id=style.owner_id,
            name=style.name,
            description=style.description,
            engine=style.engine,
            base_model=style.base_model,
            status=style.status,
            visibility=style.visibility,
            published_at=style.published_at,
            hide_prompts=style.hide_prompts,
            allow_ai_training=style.allow_ai_training,
            training_set_size=len(style.training_works),
            provenance=style.provenance,
            attested_at=style.attested_at,
            created_at=style.created_at,
        )


class StylePage(BaseModel):
    """A page of styles."""

    items: list[StylePublic]
    total: int
    limit: int
    offset: int
