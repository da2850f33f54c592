"""All SQL of the generations slice."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from hallmark.generations.models import Generation


class GenerationRole(StrEnum):
    """Which of a user's generations to list: ones they made, ones they own, or both."""

    MADE = "made"
    OWNED = "owned"
    ALL = "all"


class GenerationRepository:
    """Reads and writes generated images' records."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, generation: Generation) -> Generation:
        """Stage a new generation and flush."""
        self.session.add(generation)
        self.session.flush()
        return generation

    def get(self, generation_id: uuid.UUID) -> Generation | None:
        """The generation with this id, if any."""
        return self.session.get(Generation, generation_id)

    def lock(self, generation_id: uuid.UUID) -> None:
        """Hold the image's row until the transaction ends, so changes to it queue up.

        PostgreSQL locks the row; SQLite has one writer at a time, so a no-op write takes it.
        """
        if self.session.get_bind().dialect.name == "sqlite":
            self.session.execute(
                update(Generation)
                .where(Generation.id == generation_id)
                .values(near_copy=Generation.near_copy)
            )
        else:
            self.session.execute(
                select(Generation.id).where(Generation.id == generation_id).with_for_update()
            )

    @staticmethod
    def _role_filter(user_id: uuid.UUID, role: GenerationRole) -> ColumnElement[bool]:
        if role is GenerationRole.MADE:
            return Generation.maker_id == user_id
        if role is GenerationRole.OWNED:
            return Generation.owner_id == user_id
        return or_(Generation.maker_id == user_id, Generation.owner_id == user_id)

    def list_for_user(
        self, user_id: uuid.UUID, role: GenerationRole, *, limit: int, offset: int
    ) -> list[Generation]:
        """A user's generations in the given role, newest first."""
        return list(
            self.session.scalars(
                select(Generation)
                .where(self._role_filter(user_id, role))
                .order_by(Generation.created_at.desc(), Generation.id)
                .limit(limit)
                .offset(offset)
            )
        )

    def count_for_user(self, user_id: uuid.UUID, role: GenerationRole) -> int:
        """How many generations a user has in the given role."""
        return (
            self.session.scalar(
                select(func.count()).select_from(Generation).where(self._role_filter(user_id, role))
            )
            or 0
        )

    def count_with_sha256(self, sha256: str) -> int:
        """How many generations reference these bytes."""
        return (
            self.session.scalar(
                select(func.count()).select_from(Generation).where(Generation.sha256 == sha256)
            )
            or 0
        )
