"""All SQL of the artworks slice."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from hallmark.artworks.models import Artwork
from hallmark.repository import Repository


class ArtworkRepository(Repository[Artwork]):
    """Reads and writes artworks."""

    model = Artwork
    not_found = "No such artwork."

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
        query = (
            select(Artwork)
            .where(Artwork.owner_id == owner_id)
            .order_by(Artwork.created_at.desc(), Artwork.id)
        )
        return self._paginate(query, limit=limit, offset=offset)

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
        return self._count(Artwork.owner_id == owner_id)

    def count_with_sha256(self, sha256: str) -> int:
        """How many artworks still reference these bytes."""
        return self._count(Artwork.sha256 == sha256)

    def delete(self, artwork: Artwork) -> None:
        """Remove an artwork row."""
        self.session.delete(artwork)
        self.session.flush()
