"""Tables of the artworks slice: the works artists upload and attest they hold the rights to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hallmark.db import Base, CreatedAtMixin, IdMixin


class Artwork(IdMixin, CreatedAtMixin, Base):
    """An uploaded work: its owner (R1), its bytes by hash, and the owner's choices about it."""

    __tablename__ = "artworks"
    __table_args__ = (UniqueConstraint("owner_id", "sha256", name="uq_artworks_owner_sha256"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int]
    mime: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    original_filename: Mapped[str] = mapped_column(String(255), default="")
    caption: Mapped[str | None] = mapped_column(Text)
    rights_attested_at: Mapped[datetime]
    training_opt_out: Mapped[bool] = mapped_column(default=False)
    variant_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("artworks.id", ondelete="SET NULL")
    )
