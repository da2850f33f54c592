"""All SQL of the generations slice."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import ColumnElement, or_, select, update

from hallmark.generations.models import Generation
from hallmark.repository import Repository


class GenerationRole(StrEnum):
    """Which of a user's generations to list: ones they made, ones they own, or both."""

    MADE = "made"
    OWNED = "owned"
    ALL = "all"


class GenerationRepository(Repository[Generation]):
    """Reads and writes generated images' records."""

    model = Generation
    not_found = "No such image."

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
        query = (
            select(Generation)
            .where(self._role_filter(user_id, role))
            .order_by(Generation.created_at.desc(), Generation.id)
        )
        return self._paginate(query, limit=limit, offset=offset)

    def count_for_user(self, user_id: uuid.UUID, role: GenerationRole) -> int:
        """How many generations a user has in the given role."""
        return self._count(self._role_filter(user_id, role))

    def count_with_sha256(self, sha256: str) -> int:
        """How many generations reference these bytes."""
        return self._count(Generation.sha256 == sha256)
