"""LocalBlobStore's own ways: read-only files fanned out by key, written atomically, no temp
files left behind (what every store does is in test_contract.py)."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hallmark.config import Settings
from hallmark.storage import (
    BlobNotFound,
    BlobStore,
    InvalidBlobKey,
    LocalBlobStore,
    StoredBlob,
    make_blob_store,
)
from tests.storage.support import put_concurrently

CONTENT = b"a small artwork, as far as storage is concerned"
CONTENT_SHA256 = hashlib.sha256(CONTENT).hexdigest()


def stored_files(root: Path) -> list[Path]:
    """Every file under the store's root, temp files included."""
    return sorted(path for path in root.rglob("*") if path.is_file())


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    """The local store alone: these tests look at its files."""
    return LocalBlobStore(tmp_path / "blobs")


def test_blob_is_fanned_out_by_its_first_two_byte_pairs_and_read_only(
    store: LocalBlobStore,
) -> None:
    store.put(CONTENT)

    expected = store.root / CONTENT_SHA256[:2] / CONTENT_SHA256[2:4] / CONTENT_SHA256
    assert store.path_for(CONTENT_SHA256) == expected
    assert stored_files(store.root) == [expected]
    assert stat.S_IMODE(expected.stat().st_mode) == 0o444


def test_root_is_created_on_first_put_not_before(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "not" / "yet")

    assert not store.exists(CONTENT_SHA256)
    assert not (tmp_path / "not").exists()
    store.put(CONTENT)
    assert store.exists(CONTENT_SHA256)


def test_same_content_twice_is_stored_once_and_not_rewritten(store: LocalBlobStore) -> None:
    first = store.put(CONTENT)
    path = store.path_for(CONTENT_SHA256)
    before = path.stat()

    second = store.put(CONTENT)

    after = path.stat()
    assert first.created is True
    assert second == StoredBlob(sha256=CONTENT_SHA256, size=len(CONTENT), created=False)
    # The same file, not a new one linked in its place; only its time is refreshed (for the
    # sweep of unused blobs).
    assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size)
    assert after.st_mtime_ns >= before.st_mtime_ns
    assert stored_files(store.root) == [path]


def test_concurrent_puts_leave_one_file_and_no_temp_files(store: LocalBlobStore) -> None:
    data = os.urandom(2 * 1024 * 1024)

    results = put_concurrently(store, data, writers=8)

    sha256 = hashlib.sha256(data).hexdigest()
    assert sum(blob.created for blob in results) == 1
    assert stored_files(store.root) == [store.path_for(sha256)]


def test_path_for_names_only_stored_blobs_under_valid_keys(store: LocalBlobStore) -> None:
    with pytest.raises(BlobNotFound):
        store.path_for(CONTENT_SHA256)
    with pytest.raises(InvalidBlobKey):
        store.path_for("../" + "a" * 61)


def test_failure_while_linking_leaves_no_temp_file_and_no_blob(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_link(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", failing_link)

    with pytest.raises(OSError, match="No space left"):
        store.put(CONTENT)

    assert stored_files(store.root) == []
    assert not store.exists(CONTENT_SHA256)


def test_failure_while_writing_leaves_no_temp_file_and_no_blob(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)

    with pytest.raises(OSError, match="Input/output error"):
        store.put(CONTENT)

    assert stored_files(store.root) == []
    assert not store.exists(CONTENT_SHA256)


def test_make_blob_store_uses_the_blob_dir_of_the_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)

    store: BlobStore = make_blob_store(settings)
    blob = store.put(CONTENT)

    assert isinstance(store, LocalBlobStore)
    assert store.root == settings.blob_dir
    assert (settings.blob_dir / blob.sha256[:2] / blob.sha256[2:4] / blob.sha256).read_bytes() == (
        CONTENT
    )


def _age(path: Path, seconds: float) -> None:
    """Make a file look last written `seconds` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_iter_blobs_lists_every_blob_with_its_time_and_nothing_else(
    store: LocalBlobStore,
) -> None:
    assert list(store.iter_blobs()) == []  # no root yet
    first, second = store.put(CONTENT), store.put(b"another")
    _age(store.path_for(first.sha256), 7200)
    # A put that died half-way, and a file that is not a blob, are not listed.
    leaf = store.path_for(first.sha256).parent
    (leaf / ".tmp-abc.part").write_bytes(b"half")
    (leaf / "notes.txt").write_text("x")
    now = datetime.now(UTC)

    found = dict(store.iter_blobs())

    assert set(found) == {first.sha256, second.sha256}
    assert timedelta(seconds=7190) < now - found[first.sha256] < timedelta(seconds=7210)
    assert now - found[second.sha256] < timedelta(seconds=60)
    assert all(moment.tzinfo is UTC for moment in found.values())


def test_sweep_partial_writes_removes_old_temp_files_only(store: LocalBlobStore) -> None:
    blob = store.put(CONTENT)
    _age(store.path_for(blob.sha256), 7200)
    leaf = store.path_for(blob.sha256).parent
    old, young = leaf / ".tmp-old.part", leaf / ".tmp-young.part"
    old.write_bytes(b"a put whose process was killed")
    young.write_bytes(b"a put in flight")
    _age(old, 7200)

    assert store.sweep_partial_writes(datetime.now(UTC) - timedelta(hours=1)) == 1

    assert not old.exists() and young.exists() and store.exists(blob.sha256)
