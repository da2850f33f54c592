"""Tables of the styles slice: style models and the works each was trained on."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hallmark.db import Base, CreatedAtMixin, IdMixin
from hallmark.rights import Visibility


class StyleStatus(StrEnum):
    """Where a style model is in its life: defined, training, usable, or failed."""

    DRAFT = "draft"
    TRAINING = "training"
    READY = "ready"
    FAILED = "failed"


class StyleProvenance(StrEnum):
    """How a style's model came to be: trained here on the owner's works, or imported under the
    owner's attestation that it was trained on works they hold the rights to (R2)."""

    TRAINED = "trained"
    IMPORTED = "imported"


class StyleModel(IdMixin, CreatedAtMixin, Base):
    """A style model: owned by its trainer (R2), private until published (R5)."""

    __tablename__ = "style_models"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_style_models_owner_name"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(String(50))
    base_model: Mapped[str] = mapped_column(String(255), default="")
    # The trained model as one blob (a tar of its folder); None until trained.
    artifact_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=StyleStatus.DRAFT.value)
    visibility: Mapped[str] = mapped_column(
        String(16), default=Visibility.PRIVATE.value, index=True
    )
    published_at: Mapped[datetime | None]
    unpublished_at: Mapped[datetime | None]
    # The owner's choices that every image's content credentials carry (R9).
    hide_prompts: Mapped[bool] = mapped_column(default=False, server_default=false())
    allow_ai_training: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Trained here, or imported: then when its owner attested its training works' rights (R2)
    # and the SHA-256 of the file they uploaded.
    provenance: Mapped[str] = mapped_column(
        String(16), default=StyleProvenance.TRAINED.value, server_default="trained"
    )
    attested_at: Mapped[datetime | None]
    source_sha256: Mapped[str | None] = mapped_column(String(64))

    training_works: Mapped[list[StyleTrainingWork]] = relationship(
        back_populates="style", cascade="all, delete-orphan", lazy="selectin"
    )


class StyleTrainingWork(Base):
    """One work in a style's training set, with the hash it had when chosen."""

    __tablename__ = "style_training_works"

    style_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("style_models.id", ondelete="CASCADE"), primary_key=True
    )
    artwork_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("artworks.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    artwork_sha256: Mapped[str] = mapped_column(String(64))

    style: Mapped[StyleModel] = relationship(back_populates="training_works")


class OwnershipAcknowledgement(CreatedAtMixin, Base):
    """A user's acknowledgement, given once per model, that the images they make with someone
    else's model belong to its owner (R4); asked by the create page, the API and the CLI alike."""

    __tablename__ = "ownership_acknowledgements"

    style_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("style_models.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
