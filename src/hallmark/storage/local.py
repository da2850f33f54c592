"""Blobs as read-only files in a local directory, fanned out as root/ab/cd/<sha256>."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from hallmark.storage.base import BlobNotFound, StoredBlob, check_blob_key

_READ_ONLY = 0o444
_CHUNK_BYTES = 1024 * 1024
_TEMP_PREFIX, _TEMP_SUFFIX = ".tmp-", ".part"
_FAN_OUT = re.compile(r"[0-9a-f]{2}")
_KEY = re.compile(r"[0-9a-f]{64}")


class LocalBlobStore:
    """A BlobStore in a local directory; safe with several threads and processes writing at once."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> StoredBlob:
        """Store the bytes atomically under their SHA-256; an existing blob is never rewritten."""
        sha256 = hashlib.sha256(data).hexdigest()
        path = self._path(sha256)
        try:
            os.utime(path)  # already stored: only its age starts again (see iter_blobs)
            return StoredBlob(sha256=sha256, size=len(data), created=False)
        except FileNotFoundError:
            pass
        except PermissionError:  # stored by another user of a shared directory
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

    def size(self, sha256: str) -> int:
        """The length of the blob's file; BlobNotFound if none."""
        try:
            return self._path(sha256).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {sha256}") from None

    def path_for(self, sha256: str) -> Path:
        """The file holding the blob (local stores only, not the protocol); BlobNotFound if none."""
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

    def iter_blobs(self) -> Iterator[tuple[str, datetime]]:
        """Every blob's key and the time its file was last written or put again (UTC)."""
        for leaf in self._leaf_directories():
            with os.scandir(leaf) as entries:
                for entry in entries:
                    if _KEY.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                        try:
                            modified = entry.stat(follow_symlinks=False).st_mtime
                        except FileNotFoundError:  # deleted while we looked
                            continue
                        yield entry.name, datetime.fromtimestamp(modified, UTC)

    def delete_if_older(self, sha256: str, before: datetime) -> bool:
        """Delete the blob if its file was last written or put before `before`; True if deleted."""
        path = self._path(sha256)
        try:
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) >= before:
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def sweep_partial_writes(self, before: datetime) -> int:
        """Remove temp files of puts whose process died, last written before `before`."""
        removed = 0
        for leaf in self._leaf_directories():
            for path in leaf.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}"):
                try:
                    if datetime.fromtimestamp(path.stat().st_mtime, UTC) < before:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def _leaf_directories(self) -> Iterator[Path]:
        """The root/ab/cd directories that hold blobs."""
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if _FAN_OUT.fullmatch(first.name) and first.is_dir():
                for second in sorted(first.iterdir()):
                    if _FAN_OUT.fullmatch(second.name) and second.is_dir():
                        yield second

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
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX)
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
