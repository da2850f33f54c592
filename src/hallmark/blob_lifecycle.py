"""Keep stored files and the rows that use them consistent across commits and rollbacks."""

from __future__ import annotations

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from hallmark.artworks.repository import ArtworkRepository
from hallmark.db import after_transaction
from hallmark.generations.repository import GenerationRepository
from hallmark.storage import BlobStore, StoredBlob


def is_blob_referenced(session: Session, sha256: str) -> bool:
    """Whether any artwork or generation still uses these bytes."""
    return bool(
        ArtworkRepository(session).count_with_sha256(sha256)
        or GenerationRepository(session).count_with_sha256(sha256)
    )


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
