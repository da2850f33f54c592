"""Request and response shapes of the styles API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from hallmark import rights
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


class LicenseOptionPublic(BaseModel):
    """A license the owner offers on every image of the model."""

    name: str
    purposes: list[str]
    price_minor: int
    currency: str
    exclusive: bool


class OwnershipNoticePublic(BaseModel):
    """What anyone but the owner is told before making images with a model (R4)."""

    rule: str
    owner_id: uuid.UUID
    owner_username: str
    statement: str = Field(description="Whose the images will be, and the rule that says so")
    license_needed: str = Field(description="What license the maker needs to use an image")
    text: str
    offers: list[LicenseOptionPublic]
    acknowledgement_required: bool = Field(
        description='Whether generating needs "acknowledge_ownership": true (first use only)'
    )

    @classmethod
    def for_viewer(
        cls, found: tuple[rights.OwnershipNotice, bool] | None
    ) -> OwnershipNoticePublic | None:
        """Build the response from the rules' notice and whether the viewer acknowledged it."""
        if found is None:
            return None
        notice, acknowledged = found
        return cls(
            rule=notice.rule.value,
            owner_id=notice.owner_id,
            owner_username=notice.owner_username,
            statement=notice.statement,
            license_needed=notice.license_needed,
            text=notice.text,
            offers=[
                LicenseOptionPublic(
                    name=option.name,
                    purposes=sorted(purpose.value for purpose in option.purposes),
                    price_minor=option.price_minor,
                    currency=option.currency,
                    exclusive=option.exclusive,
                )
                for option in notice.offers
            ],
            acknowledgement_required=not acknowledged,
        )


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
    ownership_notice: OwnershipNoticePublic | None = Field(
        default=None, description="For anyone but the owner: whose the images made with it are"
    )

    @classmethod
    def from_model(
        cls, style: StyleModel, notice: OwnershipNoticePublic | None = None
    ) -> StylePublic:
        """Build the response from the ORM row, with the viewer's ownership notice if any."""
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
            ownership_notice=notice,
        )


class StylePage(BaseModel):
    """A page of styles."""

    items: list[StylePublic]
    total: int
    limit: int
    offset: int
