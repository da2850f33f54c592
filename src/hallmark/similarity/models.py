"""Tables of the similarity slice: fingerprints of every image, and copy claims for review."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hallmark.db import Base, CreatedAtMixin, IdMixin


class ImageFingerprint(CreatedAtMixin, Base):
    """The perceptual hashes of one artwork or generation."""

    __tablename__ = "image_fingerprints"
    __table_args__ = (
        CheckConstraint("(artwork_id IS NULL) <> (generation_id IS NULL)", name="one_subject"),
    )

    # An integer key, because FAISS indexes vectors under 64-bit integer ids.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    artwork_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("artworks.id", ondelete="CASCADE"), unique=True
    )
    generation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("generations.id", ondelete="CASCADE"), unique=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    pdq: Mapped[bytes] = mapped_column(LargeBinary(32))
    pdq_quality: Mapped[int]
    phash: Mapped[bytes] = mapped_column(LargeBinary(8))


class CopyClaim(IdMixin, CreatedAtMixin, Base):
    """An upload refused under R1 because it matched another artist's work, kept for review."""

    __tablename__ = "copy_claims"

    claimant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    upload_sha256: Mapped[str] = mapped_column(String(64))
    upload_filename: Mapped[str] = mapped_column(String(255), default="")
    matched_artwork_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("artworks.id", ondelete="SET NULL")
    )
    matched_generation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("generations.id", ondelete="SET NULL")
    )
    matched_owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    method: Mapped[str] = mapped_column(String(16))
    distance: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
