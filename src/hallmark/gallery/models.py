"""Tables of the gallery slice: a model's chosen previews, and images listed for licensing."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from hallmark.db import Base, utcnow


class StylePreview(Base):
    """One image its owner shows on a model's card, at a position among the model's previews."""

    __tablename__ = "style_previews"

    style_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("style_models.id", ondelete="CASCADE"), primary_key=True
    )
    generation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("generations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int]


class GalleryListing(Base):
    """An image its owner lists for licensing: shown in the gallery, watermarked until licensed."""

    __tablename__ = "gallery_listings"

    generation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("generations.id", ondelete="CASCADE"), primary_key=True
    )
    # The image's model, kept beside it so that browsing by model needs no join to generations.
    style_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("style_models.id", ondelete="CASCADE"), index=True
    )
    listed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
