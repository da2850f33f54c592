"""All SQL of the styles slice."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hallmark.rights import Visibility
from hallmark.styles.models import StyleModel


class StyleRepository:
    """Reads and writes style models and their training sets."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, style: StyleModel) -> StyleModel:
        """Stage a new style with its training set and flush."""
        self.session.add(style)
        self.session.flush()
        return style

    def get(self, style_id: uuid.UUID) -> StyleModel | None:
        """The style with this id, if any."""
        return self.session.get(StyleModel, style_id)

    def find_by_owner_and_name(self, owner_id: uuid.UUID, name: str) -> StyleModel | None:
        """The owner's style with this name, if any."""
        return self.session.scalar(
            select(StyleModel).where(StyleModel.owner_id == owner_id, StyleModel.name == name)
        )

    def list_for_owner(self, owner_id: uuid.UUID, *, limit: int, offset: int) -> list[StyleModel]:
        """An owner's styles, newest first."""
        return list(
            self.session.scalars(
                select(StyleModel)
                .where(StyleModel.owner_id == owner_id)
                .order_by(StyleModel.created_at.desc(), StyleModel.id)
                .limit(limit)
                .offset(offset)
            )
        )

    def list_public(self, *, limit: int, offset: int) -> list[StyleModel]:
        """Published styles, most recently published first."""
        return list(
            self.session.scalars(
                select(StyleModel)
                .where(StyleModel.visibility == Visibility.PUBLIC.value)
                .order_by(StyleModel.published_at.desc(), StyleModel.id)
                .limit(limit)
                .offset(offset)
            )
        )

    def count_public(self) -> int:
        """How many styles are published."""
        return (
            self.session.scalar(
                select(func.count())
                .select_from(StyleModel)
                .where(StyleModel.visibility == Visibility.PUBLIC.value)
            )
            or 0
        )

    def count_for_owner(self, owner_id: uuid.UUID) -> int:
        """How many styles an owner has."""
        return (
            self.session.scalar(
                select(func.count()).select_from(StyleModel).where(StyleModel.owner_id == owner_id)
            )
            or 0
        )
