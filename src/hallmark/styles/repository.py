"""All SQL of the styles slice."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hallmark.repository import Repository
from hallmark.rights import Visibility
from hallmark.styles.models import OwnershipAcknowledgement, StyleModel


class StyleRepository(Repository[StyleModel]):
    """Reads and writes style models and their training sets (added with their style)."""

    model = StyleModel
    not_found = "No such style."

    def find_by_owner_and_name(self, owner_id: uuid.UUID, name: str) -> StyleModel | None:
        """The owner's style with this name, if any."""
        return self.session.scalar(
            select(StyleModel).where(StyleModel.owner_id == owner_id, StyleModel.name == name)
        )

    def list_for_owner(self, owner_id: uuid.UUID, *, limit: int, offset: int) -> list[StyleModel]:
        """An owner's styles, newest first."""
        query = (
            select(StyleModel)
            .where(StyleModel.owner_id == owner_id)
            .order_by(StyleModel.created_at.desc(), StyleModel.id)
        )
        return self._paginate(query, limit=limit, offset=offset)

    def list_public(self, *, limit: int, offset: int) -> list[StyleModel]:
        """Published styles, most recently published first."""
        query = (
            select(StyleModel)
            .where(StyleModel.visibility == Visibility.PUBLIC.value)
            .order_by(StyleModel.published_at.desc(), StyleModel.id)
        )
        return self._paginate(query, limit=limit, offset=offset)

    def count_public(self) -> int:
        """How many styles are published."""
        return self._count(StyleModel.visibility == Visibility.PUBLIC.value)

    def count_for_owner(self, owner_id: uuid.UUID) -> int:
        """How many styles an owner has."""
        return self._count(StyleModel.owner_id == owner_id)

    def has_acknowledged(self, user_id: uuid.UUID, style_id: uuid.UUID) -> bool:
        """Whether the user already acknowledged that the model's images are its owner's (R4)."""
        query = select(OwnershipAcknowledgement.user_id).where(
            OwnershipAcknowledgement.user_id == user_id,
            OwnershipAcknowledgement.style_id == style_id,
        )
        return self.session.scalar(query) is not None

    def acknowledged_among(
        self, user_id: uuid.UUID, style_ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of the models the user already acknowledged (R4), in one query."""
        if not style_ids:
            return set()
        query = select(OwnershipAcknowledgement.style_id).where(
            OwnershipAcknowledgement.user_id == user_id,
            OwnershipAcknowledgement.style_id.in_(style_ids),
        )
        return set(self.session.scalars(query))

    def record_acknowledgement(self, user_id: uuid.UUID, style_id: uuid.UUID) -> None:
        """Record the user's acknowledgement for the model; a second one changes nothing."""
        try:
            with self.session.begin_nested():
                self.add(OwnershipAcknowledgement(user_id=user_id, style_id=style_id))
        except IntegrityError:
            pass  # a concurrent request recorded it first
