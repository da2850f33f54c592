"""The BlobStore contract, held by every store: the local directory and an S3 bucket alike."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from hallmark.storage import BlobNotFound, BlobStore, InvalidBlobKey, LocalBlobStore, StoredBlob
from hallmark.storage.s3 import S3BlobStore
from tests.storage.support import moment_between_puts, put_concurrently

CONTENT = b"a small artwork, as far as storage is concerned"
CONTENT_SHA256 = hashlib.sha256(CONTENT).hexdigest()
MISSING = hashlib.sha256(b"never stored").hexdigest()


def corrupt(store: BlobStore, sha256: str, data: bytes) -> None:
    """Replace the stored bytes behind the store's back, as a failing disk or operator would."""
    if isinstance(store, LocalBlobStore):
        path = store.path_for(sha256)
        path.chmod(0o644)
        path.write_bytes(data)
    else:
        assert isinstance(store, S3BlobStore)
        store.client.put_object(Bucket=store.bucket, Key=store._key(sha256), Body=data)


def test_put_then_get_returns_the_same_bytes(store: BlobStore) -> None:
    blob = store.put(CONTENT)

    assert blob == StoredBlob(sha256=CONTENT_SHA256, size=len(CONTENT), created=True)
    assert store.get(CONTENT_SHA256) == CONTENT
    assert store.exists(CONTENT_SHA256)
    assert store.size(CONTENT_SHA256) == len(CONTENT)
    with store.open(CONTENT_SHA256) as handle:
        assert handle.read() == CONTENT
    assert store.verify(CONTENT_SHA256)


def test_same_content_twice_is_stored_once(store: BlobStore) -> None:
    first = store.put(CONTENT)
    second = store.put(CONTENT)

    assert first.created is True
    assert second == StoredBlob(sha256=CONTENT_SHA256, size=len(CONTENT), created=False)
    assert [key for key, _ in store.iter_blobs()] == [CONTENT_SHA256]
    assert store.get(CONTENT_SHA256) == CONTENT


def test_concurrent_puts_of_the_same_content_create_it_exactly_once(store: BlobStore) -> None:
    data = os.urandom(2 * 1024 * 1024)

    results = put_concurrently(store, data, writers=8)

    sha256 = hashlib.sha256(data).hexdigest()
    assert len(results) == 8
    assert sum(blob.created for blob in results) == 1
    assert {blob.sha256 for blob in results} == {sha256}
    assert [key for key, _ in store.iter_blobs()] == [sha256]
    assert store.get(sha256) == data
    assert store.verify(sha256)


def test_a_multi_megabyte_blob_is_streamed_not_read_whole(store: BlobStore) -> None:
    data = os.urandom(8 * 1024 * 1024)
    sha256 = store.put(data).sha256
    digest, chunks = hashlib.sha256(), 0

    tracemalloc.start()
    try:
        with store.open(sha256) as handle:
            while chunk := handle.read(64 * 1024):
                digest.update(chunk)
                chunks += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert digest.hexdigest() == sha256
    assert chunks == len(data) // (64 * 1024)
    assert peak < len(data) // 2, f"{peak} bytes held at once while reading {len(data)}"


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "../../" + "a" * 58,
        "/" + "a" * 63,
        "A" * 64,
        "a" * 63,
        "a" * 65,
        "g" * 64,
        "a" * 64 + "\n",
        "",
    ],
)
def test_keys_that_are_not_sha256_hex_are_refused(store: BlobStore, key: str) -> None:
    for operation in (store.get, store.exists, store.delete, store.size, store.open, store.verify):
        with pytest.raises(InvalidBlobKey):
            operation(key)
    with pytest.raises(InvalidBlobKey):
        store.delete_if_older(key, datetime.now(UTC))


def test_missing_blob_is_not_found(store: BlobStore) -> None:
    assert not store.exists(MISSING)
    for operation in (store.get, store.open, store.size, store.verify):
        with pytest.raises(BlobNotFound):
            operation(MISSING)
    assert store.delete_if_older(MISSING, datetime.now(UTC)) is False


def test_delete_removes_the_blob_and_tolerates_absence(store: BlobStore) -> None:
    store.put(CONTENT)

    store.delete(CONTENT_SHA256)
    store.delete(CONTENT_SHA256)

    assert not store.exists(CONTENT_SHA256)
    with pytest.raises(BlobNotFound):
        store.get(CONTENT_SHA256)
    assert store.put(CONTENT).created is True


def test_verify_detects_corrupted_bytes(store: BlobStore) -> None:
    store.put(CONTENT)
    assert store.verify(CONTENT_SHA256)

    corrupt(store, CONTENT_SHA256, CONTENT[:-1] + b"!")

    assert not store.verify(CONTENT_SHA256)


def test_iter_blobs_lists_every_blob_with_when_it_was_written(store: BlobStore) -> None:
    assert list(store.iter_blobs()) == []
    first = store.put(CONTENT).sha256
    between = moment_between_puts(store)
    second = store.put(b"another").sha256

    found = dict(store.iter_blobs())

    assert set(found) == {first, second}
    assert found[first] < between <= found[second]
    assert datetime.now(UTC) - found[first] < timedelta(seconds=60)
    assert all(moment.tzinfo is UTC for moment in found.values())


def test_putting_stored_bytes_again_makes_the_blob_young(store: BlobStore) -> None:
    store.put(CONTENT)
    between = moment_between_puts(store)

    assert store.put(CONTENT).created is False

    ((_, written),) = store.iter_blobs()
    assert written >= between
    assert store.get(CONTENT_SHA256) == CONTENT


def test_delete_if_older_deletes_only_a_blob_older_than_the_cutoff(store: BlobStore) -> None:
    old = store.put(CONTENT).sha256
    cutoff = moment_between_puts(store)
    young = store.put(b"young").sha256

    assert store.delete_if_older(old, cutoff) is True
    assert store.delete_if_older(young, cutoff) is False
    assert store.delete_if_older(old, cutoff) is False  # already gone
    assert not store.exists(old) and store.exists(young)


def test_sweep_partial_writes_leaves_complete_blobs(store: BlobStore) -> None:
    store.put(CONTENT)

    assert store.sweep_partial_writes(datetime.now(UTC) + timedelta(hours=1)) == 0

    assert store.get(CONTENT_SHA256) == CONTENT
