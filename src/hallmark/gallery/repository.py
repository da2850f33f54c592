"""All SQL of the gallery slice: previews, listings, and browsing models and listed images."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, delete, exists, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from hallmark.accounts.models import User
from hallmark.gallery.models import GalleryListing, StylePreview
from hallmark.generations.models import Generation
from hallmark.repository import Repository
from hallmark.rights import Visibility
from hallmark.styles.models import StyleModel


class ListedImage(NamedTuple):
    """An image listed for licensing, with what the gallery says beside it."""

    generation_id: uuid.UUID
    style_id: uuid.UUID
    style_name: str
    owner_username: str
    width: int
    height: int
    listed_at: datetime


class PublicModel(NamedTuple):
    """A public model as the gallery shows it: its row and its owner's name."""

    style: StyleModel
    owner_username: str


class OwnImage(NamedTuple):
    """One of the owner's images of a model, and what the gallery shows of it."""

    generation: Generation
    preview: bool
    listed: bool


def _contains(
    column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None], text: str
) -> ColumnElement[bool]:
    """Case-insensitive "contains", with the text's own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def _matches_style(text: str | None) -> ColumnElement[bool]:
    """Styles whose name or description contains the text (every style when there is none)."""
    if not text:
        return true()
    return or_(_contains(StyleModel.name, text), _contains(StyleModel.description, text))


def _licensable() -> ColumnElement[bool]:
    """Images that are not a near-copy their owner has yet to clear (R11)."""
    return or_(Generation.near_copy.is_(False), Generation.near_copy_cleared_at.is_not(None))


class GalleryRepository(Repository[GalleryListing]):
    """Listings (the main table), previews, and the gallery's searches."""

    model = GalleryListing
    not_found = "No such listing."

    # -------------------------------------------------------------------------- choosing

    def is_listed(self, generation_id: uuid.UUID) -> bool:
        """Whether the image is listed for licensing."""
        return self.get_or_none(generation_id) is not None

    def is_preview(self, generation_id: uuid.UUID) -> bool:
        """Whether the image is one of its model's chosen previews."""
        query = select(exists().where(StylePreview.generation_id == generation_id))
        return bool(self.session.scalar(query))

    def unlist(self, generation_id: uuid.UUID) -> None:
        """Take the image out of the gallery's listings (nothing happens if it was not listed)."""
        self.session.execute(
            delete(GalleryListing).where(GalleryListing.generation_id == generation_id)
        )
        self.session.flush()

    def preview_ids_of(self, style_id: uuid.UUID) -> list[uuid.UUID]:
        """A model's previews in the order its owner chose."""
        query = (
            select(StylePreview.generation_id)
            .where(StylePreview.style_id == style_id)
            .order_by(StylePreview.position)
        )
        return list(self.session.scalars(query))

    def replace_previews(self, style_id: uuid.UUID, generation_ids: Sequence[uuid.UUID]) -> None:
        """Make these images, in this order, the model's previews."""
        self.session.execute(delete(StylePreview).where(StylePreview.style_id == style_id))
        self.add_all(
            [
                StylePreview(style_id=style_id, generation_id=generation_id, position=position)
                for position, generation_id in enumerate(generation_ids)
            ]
        )

    def own_images_of(
        self, style_id: uuid.UUID, owner_id: uuid.UUID, *, limit: int
    ) -> list[OwnImage]:
        """The owner's newest images of a model, each with whether it is a preview and listed."""
        is_preview = exists().where(
            StylePreview.style_id == style_id, StylePreview.generation_id == Generation.id
        )
        is_listed = exists().where(GalleryListing.generation_id == Generation.id)
        query = (
            select(Generation, is_preview, is_listed)
            .where(Generation.style_id == style_id, Generation.owner_id == owner_id)
            .order_by(Generation.created_at.desc(), Generation.id)
            .limit(limit)
        )
        return [
            OwnImage(generation, bool(preview), bool(listed))
            for generation, preview, listed in self.session.execute(query)
        ]

    # -------------------------------------------------------------------------- browsing

    def _listed(self, text: str | None, style_id: uuid.UUID | None) -> Select[int]:
        """Listed, licensable images of public models matching the search, as a base query."""
        query = (
            select(func.count())
            .select_from(GalleryListing)
            .join(Generation, Generation.id == GalleryListing.generation_id)
            .join(StyleModel, StyleModel.id == GalleryListing.style_id)
            .where(
                StyleModel.visibility == Visibility.PUBLIC.value,
                _licensable(),
                _matches_style(text),
            )
        )
        if style_id is not None:
            query = query.where(GalleryListing.style_id == style_id)
        return query

    def listed_images(
        self, text: str | None, style_id: uuid.UUID | None, *, limit: int, offset: int
    ) -> list[ListedImage]:
        """A page of listed images of public models whose style matches, newest listing first."""
        query = (
            self._listed(text, style_id)
            .with_only_columns(
                GalleryListing.generation_id,
                GalleryListing.style_id,
                StyleModel.name,
                User.username,
                Generation.width,
                Generation.height,
                GalleryListing.listed_at,
            )
            .join(User, User.id == Generation.owner_id)
            .order_by(GalleryListing.listed_at.desc(), GalleryListing.generation_id)
            .limit(limit)
            .offset(offset)
        )
        return [ListedImage(*row) for row in self.session.execute(query)]

    def count_listed_images(self, text: str | None, style_id: uuid.UUID | None) -> int:
        """How many listed images the search finds."""
        return int(self.session.scalar(self._listed(text, style_id)) or 0)

    def public_models(self, text: str | None, *, limit: int, offset: int) -> list[PublicModel]:
        """A page of public models matching the search, most recently published first."""
        query = (
            select(StyleModel, User.username)
            .join(User, User.id == StyleModel.owner_id)
            .where(StyleModel.visibility == Visibility.PUBLIC.value, _matches_style(text))
            .order_by(StyleModel.published_at.desc(), StyleModel.id)
            .limit(limit)
            .offset(offset)
        )
        return [PublicModel(style, username) for style, username in self.session.execute(query)]

    def count_public_models(self, text: str | None) -> int:
        """How many public models the search finds."""
        query = (
            select(func.count())
            .select_from(StyleModel)
            .where(StyleModel.visibility == Visibility.PUBLIC.value, _matches_style(text))
        )
        return int(self.session.scalar(query) or 0)

    def previews_of_models(
        self, style_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        """The chosen previews of several models in one query, each model's in its order."""
        found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        if not style_ids:
            return found
        query = (
            select(StylePreview.style_id, StylePreview.generation_id)
            .join(Generation, Generation.id == StylePreview.generation_id)
            .where(StylePreview.style_id.in_(style_ids), _licensable())
            .order_by(StylePreview.style_id, StylePreview.position)
        )
        for style_id, generation_id in self.session.execute(query):
            found[style_id].append(generation_id)
        return found
