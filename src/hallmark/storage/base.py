"""The blob store contract: write-once files named by the SHA-256 of their bytes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

from hallmark.errors import InvalidInput, NotFound

_BLOB_KEY = re.compile(r"[0-9a-f]{64}")


class BlobNotFound(NotFound):
    """No blob is stored under this key."""

    code = "blob_not_found"


class InvalidBlobKey(InvalidInput):
    """A key that is not a SHA-256 hex digest; refused so no key names a path outside the store."""

    code = "invalid_blob_key"


class BlobStoreError(RuntimeError):
    """The blob store cannot be used (unreachable, refusing us, misconfigured); the message names
    it. Like an unreachable database, not the user's doing: a job retries, a request gets 503."""


@dataclass(frozen=True)
class StoredBlob:
    """What a put stored: its key, its length, and whether this call wrote it or found it there."""

    sha256: str
    size: int
    created: bool


def check_blob_key(sha256: str) -> str:
    """The key itself if it is 64 lowercase hex characters, else InvalidBlobKey."""
    if not isinstance(sha256, str) or _BLOB_KEY.fullmatch(sha256) is None:
        raise InvalidBlobKey(f"not a blob key (64 lowercase hex characters): {sha256!r:.80}")
    return sha256


class BlobStore(Protocol):
    """Content-addressed, write-once storage of bytes, keyed by lowercase hex SHA-256.

    Every operation refuses a key that is not one (InvalidBlobKey), and raises BlobStoreError
    when the store itself cannot be used.
    """

    def put(self, data: bytes) -> StoredBlob:
        """Store the bytes under their SHA-256 unless already stored; never rewrite a blob.

        Putting bytes already stored refreshes their time in `iter_blobs`, so a blob a new row is
        about to use never looks old to the sweep of unused blobs.
        """
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes stored under the key; BlobNotFound if none."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether a blob is stored under the key."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the blob if present; only to undo a put whose database record failed."""
        ...

    def size(self, sha256: str) -> int:
        """The blob's length in bytes, announced before streaming it; BlobNotFound if none."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """A binary reader of the blob, for streaming it without holding it all in memory.

        BlobNotFound if none; the caller closes it.
        """
        ...

    def iter_blobs(self) -> Iterator[tuple[str, datetime]]:
        """Every stored blob's key and when it was last written or put again (UTC), any order."""
        ...

    def delete_if_older(self, sha256: str, before: datetime) -> bool:
        """Delete the blob only if it was last written or put before `before`; True if deleted.

        The time is checked at deletion, so a put racing with the sweep keeps its blob.
        """
        ...

    def sweep_partial_writes(self, before: datetime) -> int:
        """Remove what puts whose process died left half-written, if older than `before`."""
        ...

    def verify(self, sha256: str) -> bool:
        """Whether the stored bytes still hash to their key, to detect corruption at rest."""
        ...
