"""Tables of the generations slice: every image made with a style model."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hallmark.db import Base, CreatedAtMixin, IdMixin


class Generation(IdMixin, CreatedAtMixin, Base):
    """A generated image: who made it, which model, and who owns it as the rules decided."""

    __tablename__ = "generations"

    style_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("style_models.id"), index=True)
    maker_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    ownership_rule: Mapped[str] = mapped_column(String(4))
    prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    near_copy: Mapped[bool] = mapped_column(default=False)
    near_copy_artwork_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("artworks.id", ondelete="SET NULL")
    )
    near_copy_method: Mapped[str | None] = mapped_column(String(16))
    near_copy_distance: Mapped[int | None]
    near_copy_cleared_at: Mapped[datetime | None]
    near_copy_cleared_reason: Mapped[str | None] = mapped_column(Text)
