"""All SQL of the artworks slice."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hallmark.artworks.models import Artwork


class ArtworkRepository:
    """Reads and writes artworks."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, artwork: Artwork) -> Artwork:
        """Stage a new artwork and flush so constraints are checked now."""
        self.session.add(artwork)
        self.session.flush()
        return artwork

    def get(self, artwork_id: uuid.UUID) -> Artwork | None:
        """The artwork with this id, if any."""
        return self.session.get(Artwork, artwork_id)

    def get_many(self, artwork_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Artwork]:
        """Artworks by id; missing ids are simply absent."""
        if not artwork_ids:
            return {}
        rows = self.session.scalars(select(Artwork).where(Artwork.id.in_(artwork_ids)))
        return {artwork.id: artwork for artwork in rows}

    def find_by_owner_and_sha256(self, owner_id: uuid.UUID, sha256: str) -> Artwork | None:
        """The owner's artwork with these exact bytes, if they uploaded it before."""
        return self.session.scalar(
            select(Artwork).where(Artwork.owner_id == owner_id, Artwork.sha256 == sha256)
        )

    def list_with_sha256(self, sha256: str) -> list[Artwork]:
        """Every registered artwork with these exact bytes, whoever owns it."""
        return list(
            self.session.scalars(
                select(Artwork).where(Artwork.sha256 == sha256).order_by(Artwork.created_at)
            )
        )

    def list_for_owner(self, owner_id: uuid.UUID, *, limit: int, offset: int) -> list[Artwork]:
        """An owner's artworks, newest first."""
        return list(
            self.session.scalars(
                select(Artwork)
                .where(Artwork.owner_id == owner_id)
                .order_by(Artwork.created_at.desc(), Artwork.id)
                .limit(limit)
                .offset(offset)
            )
        )

    def list_trainable_for_owner(self, owner_id: uuid.UUID, *, limit: int) -> list[Artwork]:
        """An owner's artworks that allow training, newest first."""
        return list(
            self.session.scalars(
                select(Artwork)
                .where(Artwork.owner_id == owner_id, Artwork.training_opt_out.is_(False))
                .order_by(Artwork.created_at.desc(), Artwork.id)
                .limit(limit)
            )
        )

    def count_for_owner(self, owner_id: uuid.UUID) -> int:
        """How many artworks an owner has."""
        return (
            self.session.scalar(
                select(func.count()).select_from(Artwork).where(Artwork.owner_id == owner_id)
            )
            or 0
        )

    def count_with_sha256(self, sha256: str) -> int:
        """How many artworks still reference these bytes."""
        return (
            self.session.scalar(
                select(func.count()).select_from(Artwork).where(Artwork.sha256 == sha256)
            )
            or 0
        )

    def delete(self, artwork: Artwork) -> None:
        """Remove an artwork row."""
        self.session.delete(artwork)
        self.session.flush()
