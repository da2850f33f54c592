"""Blobs as read-only files in a local directory, fanned out as root/ab/cd/<sha256>."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from hallmark.storage.base import BlobNotFound, StoredBlob, check_blob_key

_READ_ONLY = 0o444
_CHUNK_BYTES = 1024 * 1024


class LocalBlobStore:
    """A BlobStore in a local directory; safe with several threads and processes writing at once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> StoredBlob:
        """Store the bytes atomically under their SHA-256; an existing blob is never rewritten."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = self._path(sha256)
        if path.exists():
            return StoredBlob(sha256=sha256, size=len(data), created=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        created = self._write_once(path, data)
        return StoredBlob(sha256=sha256, size=len(data), created=created)

    def get(self, sha256: str) -> bytes:
        """The bytes stored under the key; BlobNotFound if none."""
        path = self._path(sha256)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {sha256}") from None

    def exists(self, sha256: str) -> bool:
        """Whether a blob is stored under the key."""
        return self._path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        """Remove the blob if present; only to undo a put whose database record failed."""
        self._path(sha256).unlink(missing_ok=True)

    def path_for(self, sha256: str) -> Path:
        """The file holding the blob, for streaming responses; BlobNotFound if none."""
        path = self._path(sha256)
        if not path.is_file():
            raise BlobNotFound(f"no blob {sha256}")
        return path

    def open(self, sha256: str) -> BinaryIO:
        """A binary reader of the blob; the caller closes it."""
        path = self._path(sha256)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {sha256}") from None

    def verify(self, sha256: str) -> bool:
        """Whether the file still hashes to its name, to detect corruption on disk."""
        digest = hashlib.sha256()
        with self.open(sha256) as handle:
            while chunk := handle.read(_CHUNK_BYTES):
                digest.update(chunk)
        return digest.hexdigest() == sha256

    def _path(self, sha256: str) -> Path:
        key = check_blob_key(sha256)
        return self.root / key[:2] / key[2:4] / key

    def _write_once(self, path: Path, data: bytes) -> bool:
        """Write a temp file beside the target and link it into place; False if already there."""
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                os.fchmod(handle.fileno(), _READ_ONLY)
            # Unlike a rename, a link fails rather than replace when another writer got there first.
            try:
                os.link(temp_name, path)
            except FileExistsError:
                return False
            _fsync_directory(path.parent)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)


def _fsync_directory(directory: Path) -> None:
    """Make a new directory entry durable, where the platform allows opening directories."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
