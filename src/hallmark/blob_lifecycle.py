"""Keep stored files and the rows that use them consistent across commits, rollbacks and crashes."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Text, cast, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from hallmark.artworks.models import Artwork
from hallmark.db import after_transaction, utcnow
from hallmark.generations.models import Generation
from hallmark.jobs.models import Job, JobKind
from hallmark.similarity.models import CopyClaim, ImageFingerprint
from hallmark.storage import BlobStore, StoredBlob
from hallmark.styles.models import StyleModel, StyleTrainingWork

logger = logging.getLogger(__name__)
# Blobs checked against the database at once by the sweep of unused blobs.
SWEEP_BATCH = 500


class BlobReferences:
    """Which blobs rows still use: the SQL of the blob lifecycle, which spans the slices.

    A row names a blob by its SHA-256 in artworks, generations, image fingerprints, training sets
    (the hash a work had when chosen), copy claims, trained styles (their packed model), and
    training jobs' sample images and newest checkpoint (jobs.result["samples"] and
    ["checkpoint"]["sha256"]). License certificates name their image's hash through its
    generation.
    """

    # Indexed, and where nearly every blob is used: asked first, about every key.
    INDEXED = (Artwork.sha256, Generation.sha256)
    # Asked only about the keys the indexed columns did not account for.
    OTHERS = (
        ImageFingerprint.sha256,
        StyleTrainingWork.artwork_sha256,
        CopyClaim.upload_sha256,
        StyleModel.artifact_sha256,
    )

    def __init__(self, session: Session) -> None:
        self.session = session

    def among(self, keys: Collection[str]) -> set[str]:
        """The keys that at least one row uses."""
        used: set[str] = set()
        for column in (*self.INDEXED, *self.OTHERS):
            rest = [key for key in keys if key not in used]
            if not rest:
                return used
            used |= self._found_in(column, rest)
        rest = [key for key in keys if key not in used]
        return used | self._training_files_among(rest) if rest else used

    def _found_in(self, column: InstrumentedAttribute[str | None], keys: list[str]) -> set[str]:
        found = self.session.scalars(select(column).where(column.in_(keys)).distinct())
        return {key for key in found if key is not None}

    def _training_files_among(self, keys: list[str]) -> set[str]:
        """The keys training jobs keep as samples or as their newest checkpoint (jobs.result)."""
        text = cast(Job.result, Text)
        query = select(Job.result).where(
            Job.kind == JobKind.TRAIN_STYLE.value, or_(*(text.contains(key) for key in keys))
        )
        wanted, found = set(keys), set()
        for result in self.session.scalars(query):
            found |= wanted.intersection(result.get("samples", []))
            checkpoint = result.get("checkpoint")
            if isinstance(checkpoint, dict) and checkpoint.get("sha256") in wanted:
                found.add(checkpoint["sha256"])
        return found


def is_blob_referenced(session: Session, sha256: str) -> bool:
    """Whether any row still uses these bytes."""
    return bool(BlobReferences(session).among([sha256]))


def _delete_if_unreferenced(bind: Engine | Connection, blobs: BlobStore, sha256: str) -> None:
    """Delete a blob after the transaction, checking afresh that no row took it up meanwhile."""
    with Session(bind=bind) as session:
        if not is_blob_referenced(session, sha256):
            blobs.delete(sha256)


def store_blob_for_row(session: Session, blobs: BlobStore, data: bytes) -> StoredBlob:
    """Store bytes a new row will use; if the transaction rolls back, a now-unused file goes too."""
    stored = blobs.put(data)
    if stored.created:
        bind = session.get_bind()
        after_transaction(
            session, rolled_back=lambda: _delete_if_unreferenced(bind, blobs, stored.sha256)
        )
    return stored


def delete_blob_when_unused(session: Session, blobs: BlobStore, sha256: str) -> None:
    """Once the deletion of a row commits, delete its file unless another row still uses it."""
    bind = session.get_bind()
    after_transaction(session, committed=lambda: _delete_if_unreferenced(bind, blobs, sha256))


def sweep_orphan_blobs(
    factory: sessionmaker[Session], blobs: BlobStore, grace_seconds: float
) -> int:
    """Delete blobs no row uses that are older than the grace period; returns how many.

    A process killed between writing a file and committing its row (a batch upload, a training
    keeping sample images) leaves such files. The grace period spares the files of work still
    in flight: a put refreshes a blob's time, and the time is checked again at deletion. Files
    of puts that died half-written go too.
    """
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    blobs.sweep_partial_writes(cutoff)
    deleted, batch = 0, []
    for sha256, written in blobs.iter_blobs():
        if written < cutoff:
            batch.append(sha256)
        if len(batch) >= SWEEP_BATCH:
            deleted += _delete_unused(factory, blobs, batch, cutoff)
            batch = []
    if batch:
        deleted += _delete_unused(factory, blobs, batch, cutoff)
    if deleted:
        logger.info("deleted %d blob files no row uses (older than %s)", deleted, cutoff)
    return deleted


def _delete_unused(
    factory: sessionmaker[Session], blobs: BlobStore, keys: list[str], cutoff: datetime
) -> int:
    with factory() as session:
        used = BlobReferences(session).among(keys)
    return sum(blobs.delete_if_older(key, cutoff) for key in keys if key not in used)
