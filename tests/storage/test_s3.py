"""S3BlobStore's own ways, against the S3 server the tests start: its keys, its write-once puts,
prefixes sharing a bucket, and one clear error when the bucket or the server cannot be used."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from hallmark.app import create_app
from hallmark.config import Settings
from hallmark.storage import BlobStore, BlobStoreError, make_blob_store
from hallmark.storage.s3 import S3BlobStore, s3_client
from tests.helpers import png_bytes, sign_up, upload
from tests.s3 import ACCESS_KEY, SECRET_KEY, S3Server, free_port

pytestmark = pytest.mark.s3

CONTENT = b"a small artwork, as far as storage is concerned"
CONTENT_SHA256 = hashlib.sha256(CONTENT).hexdigest()


def keys_in(server: S3Server, bucket: str) -> list[str]:
    """Every key in the bucket, whichever store wrote it."""
    listed = server.client().list_objects_v2(Bucket=bucket)
    return sorted(str(item["Key"]) for item in listed.get("Contents", []))


@contextmanager
def counted_calls(store: S3BlobStore) -> Iterator[dict[str, int]]:
    """How many requests of each operation the store's client sends within the block."""
    calls: dict[str, int] = {}

    def note(event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        calls[operation] = calls.get(operation, 0) + 1

    store.client.meta.events.register("before-call.s3", note)
    try:
        yield calls
    finally:
        store.client.meta.events.unregister("before-call.s3", note)


def test_a_blob_is_one_object_keyed_by_prefix_and_fan_out(s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()
    fanned = f"{CONTENT_SHA256[:2]}/{CONTENT_SHA256[2:4]}/{CONTENT_SHA256}"

    s3_server.store(bucket, prefix="studio/blobs").put(CONTENT)
    s3_server.store(bucket).put(CONTENT)

    assert keys_in(s3_server, bucket) == sorted([fanned, f"studio/blobs/{fanned}"])
    head = s3_server.client().head_object(Bucket=bucket, Key=fanned)
    assert head["ContentLength"] == len(CONTENT)


def test_putting_stored_bytes_again_uploads_nothing(s3_server: S3Server) -> None:
    store = s3_server.store(s3_server.new_bucket())
    with counted_calls(store) as first_put:
        assert store.put(CONTENT).created is True
    with counted_calls(store) as second_put:
        assert store.put(CONTENT).created is False

    # The copy finds nothing to refresh, then one conditional put with the bytes' SHA-256.
    assert first_put == {"CopyObject": 1, "PutObject": 1}
    # Only a copy of the object onto itself, on the server, to restart its age.
    assert second_put == {"CopyObject": 1}


def test_a_prefix_keeps_two_stores_in_one_bucket_apart(s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()
    one, two = s3_server.store(bucket, "one"), s3_server.store(bucket, "two")
    root = s3_server.store(bucket)
    shared = one.put(CONTENT).sha256
    assert two.put(CONTENT).created is True  # the same bytes, stored again for the other store
    only_one, only_two = one.put(b"one's").sha256, two.put(b"two's").sha256

    assert {key for key, _ in one.iter_blobs()} == {shared, only_one}
    assert {key for key, _ in two.iter_blobs()} == {shared, only_two}
    assert list(root.iter_blobs()) == []
    assert not one.exists(only_two) and not two.exists(only_one)
    one.delete(shared)
    assert not one.exists(shared) and two.get(shared) == CONTENT


def test_keys_that_are_not_blobs_are_never_listed(s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()
    store = s3_server.store(bucket, "blobs")
    stored = store.put(CONTENT).sha256
    other = hashlib.sha256(b"other").hexdigest()
    client = s3_server.client()
    for foreign in (
        "blobs/notes.txt",
        f"blobs/{stored[:2]}/{stored[2:4]}/{stored}.part",
        f"blobs/00/00/{other}",  # fanned out under the wrong directories
        f"blobs/extra/{stored[:2]}/{stored[2:4]}/{stored}",
        f"{stored[:2]}/{stored[2:4]}/{stored}",  # outside the prefix
    ):
        client.put_object(Bucket=bucket, Key=foreign, Body=b"x")

    assert [key for key, _ in store.iter_blobs()] == [stored]


def test_make_blob_store_opens_the_bucket_the_settings_name(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket()
    settings = Settings(data_dir=tmp_path, **s3_server.settings(bucket, "studio/blobs"))

    store: BlobStore = make_blob_store(settings)
    blob = store.put(CONTENT)

    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix, store.endpoint_url) == (
        bucket,
        "studio/blobs",
        s3_server.endpoint_url,
    )
    assert f"studio/blobs/{blob.sha256[:2]}/{blob.sha256[2:4]}/{blob.sha256}" in keys_in(
        s3_server, bucket
    )
    assert not settings.blob_dir.exists()


def test_the_api_serves_files_from_the_bucket_and_503_without_it(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket()
    settings = Settings(data_dir=tmp_path / "data", **s3_server.settings(bucket))
    data = png_bytes(11)
    with TestClient(create_app(settings)) as client:
        ana = sign_up(client, "ana")
        artwork = upload(client, ana, data).json()["artwork"]

        served = client.get(f"/api/artworks/{artwork['id']}/file", headers=ana)
        stored = keys_in(s3_server, bucket)
        for key in stored:
            s3_server.client().delete_object(Bucket=bucket, Key=key)
        s3_server.client().delete_bucket(Bucket=bucket)
        bucket_gone = client.get(f"/api/artworks/{artwork['id']}/file", headers=ana)

    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-length"] == str(len(data))
    assert served.headers["etag"] == f'"{artwork["sha256"]}"'
    assert [key.rsplit("/", 1)[-1] for key in stored] == [artwork["sha256"]]
    # Not "no such file": the operator has a bucket to fix.
    assert bucket_gone.status_code == 503
    assert bucket_gone.json()["error"]["message"].startswith("The file store cannot be reached")


def _unreachable_store() -> S3BlobStore:
    """A store whose endpoint nothing listens on."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    client = s3_client(
        endpoint_url=endpoint,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        max_attempts=1,
    )
    return S3BlobStore(client, "hallmark-blobs", "studio", endpoint_url=endpoint)


OPERATIONS: dict[str, Callable[[S3BlobStore], object]] = {
    "put": lambda store: store.put(CONTENT),
    "get": lambda store: store.get(CONTENT_SHA256),
    "exists": lambda store: store.exists(CONTENT_SHA256),
    "size": lambda store: store.size(CONTENT_SHA256),
    "open": lambda store: store.open(CONTENT_SHA256),
    "delete": lambda store: store.delete(CONTENT_SHA256),
    "iter_blobs": lambda store: list(store.iter_blobs()),
    "delete_if_older": lambda store: store.delete_if_older(CONTENT_SHA256, datetime.now(UTC)),
    "verify": lambda store: store.verify(CONTENT_SHA256),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_server_that_is_down_is_one_clear_error(operation: str) -> None:
    store = _unreachable_store()

    with pytest.raises(BlobStoreError) as raised:
        OPERATIONS[operation](store)

    message = str(raised.value)
    assert message.startswith(f"The blob store s3://hallmark-blobs/studio at {store.endpoint_url}")
    assert "Could not connect" in message
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


# HEAD answers a missing bucket as it answers a missing key: exists, size and delete_if_older
# cannot tell them apart (and say False, BlobNotFound, False); serving a blob GETs it anyway.
@pytest.mark.parametrize(
    "operation", sorted(set(OPERATIONS) - {"exists", "size", "delete_if_older"})
)
def test_a_bucket_that_does_not_exist_is_named(s3_server: S3Server, operation: str) -> None:
    store = s3_server.store("hallmark-no-such-bucket")

    with pytest.raises(BlobStoreError, match="s3://hallmark-no-such-bucket .*NoSuchBucket"):
        OPERATIONS[operation](store)


def test_the_api_answers_503_when_the_store_is_down(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        storage="s3://hallmark-blobs",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SecretStr(SECRET_KEY),
    )
    with TestClient(create_app(settings)) as client:
        ana = sign_up(client, "ana")
        refused = upload(client, ana, png_bytes(12))

    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "overloaded"
    assert "file store" in refused.json()["error"]["message"]
    assert refused.headers["Retry-After"] == "1"
