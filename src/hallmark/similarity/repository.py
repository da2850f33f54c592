"""All SQL of the similarity slice."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from sqlalchemy import select

from hallmark.repository import Repository
from hallmark.similarity.models import CopyClaim, ImageFingerprint


class FingerprintRow(NamedTuple):
    """The columns of a fingerprint that the indexes are built from."""

    id: int
    artwork_id: uuid.UUID | None
    sha256: str
    pdq: bytes
    pdq_quality: int
    phash: bytes


class FingerprintRepository(Repository[ImageFingerprint]):
    """Reads and writes image fingerprints (integer ids, in index order) and copy claims."""

    model = ImageFingerprint
    not_found = "No such fingerprint."

    def for_artworks(self, artwork_ids: Collection[uuid.UUID]) -> list[ImageFingerprint]:
        """The fingerprints of the given artworks (a style's training set)."""
        if not artwork_ids:
            return []
        return list(
            self.session.scalars(
                select(ImageFingerprint).where(ImageFingerprint.artwork_id.in_(artwork_ids))
            )
        )

    def ids_for_artwork(self, artwork_id: uuid.UUID) -> list[int]:
        """The fingerprint ids of one artwork (to take out of the index when it is deleted)."""
        return list(
            self.session.scalars(
                select(ImageFingerprint.id).where(ImageFingerprint.artwork_id == artwork_id)
            )
        )

    def rows_after(
        self, last_id: int, *, skip: AbstractSet[int] = frozenset(), batch: int = 10_000
    ) -> Iterator[list[FingerprintRow]]:
        """The hashes of every fingerprint with a larger id, bar those in `skip`, in batches,
        oldest first (the ids are read first, so skipped rows cost no more than their id)."""
        while True:
            ids = self.session.scalars(
                select(ImageFingerprint.id)
                .where(ImageFingerprint.id > last_id)
                .order_by(ImageFingerprint.id)
                .limit(batch)
            ).all()
            if not ids:
                return
            wanted = [i for i in ids if i not in skip]
            if wanted:
                rows = self.session.execute(
                    select(
                        ImageFingerprint.id,
                        ImageFingerprint.artwork_id,
                        ImageFingerprint.sha256,
                        ImageFingerprint.pdq,
                        ImageFingerprint.pdq_quality,
                        ImageFingerprint.phash,
                    )
                    .where(ImageFingerprint.id.in_(wanted))
                    .order_by(ImageFingerprint.id)
                ).all()
                yield [FingerprintRow(*row) for row in rows]
            last_id = ids[-1]

    def count(self) -> int:
        """How many fingerprints exist."""
        return self._count()

    def count_artworks(self) -> int:
        """How many fingerprints are of artworks (the ones whose local features are indexed)."""
        return self._count(ImageFingerprint.artwork_id.is_not(None))

    def list_claims(self, status: str | None, *, limit: int, offset: int) -> list[CopyClaim]:
        """Copy claims, newest first, optionally of one status."""
        query = select(CopyClaim).order_by(CopyClaim.created_at.desc(), CopyClaim.id)
        if status is not None:
            query = query.where(CopyClaim.status == status)
        return self._paginate(query, limit=limit, offset=offset)
