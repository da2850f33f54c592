"""Blobs as objects in an S3-compatible bucket, keyed as <prefix>/ab/cd/<sha256>.

Works with AWS S3 and with servers that speak its API (MinIO, Ceph, R2, moto) through
`HALLMARK_S3_ENDPOINT_URL`. A blob is one PutObject, which S3 makes visible whole or not at
all, with its SHA-256 sent along for the server to check. It is conditional (`If-None-Match:
*`), so of several processes putting the same bytes exactly one creates the object; a server
that answers such a put with 501 gets a plain put after the existence check instead.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, FlexibleChecksumError

from hallmark.config import Settings
from hallmark.storage.base import BlobNotFound, BlobStoreError, StoredBlob, check_blob_key

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_CHUNK_BYTES = 1024 * 1024
_CONTENT_TYPE = "application/octet-stream"
_CONNECT_TIMEOUT_SECONDS = 5.0
_READ_TIMEOUT_SECONDS = 60.0
# Attempts of one call, so a dropped connection or a 503 from the server is retried with backoff.
_MAX_ATTEMPTS = 3
# A conditional put S3 could not order against a concurrent write of the same key (409).
_CONFLICT_RETRIES = 3
_LAYOUT = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_ALREADY_STORED = frozenset({"412", "PreconditionFailed"})
_NOT_IMPLEMENTED = frozenset({"501", "NotImplemented"})
_CONFLICT = "ConditionalRequestConflict"

Failures = Callable[[str], AbstractContextManager[None]]


def s3_client(
    *,
    endpoint_url: str = "",
    region: str = "us-east-1",
    access_key_id: str = "",
    secret_access_key: str = "",
    addressing_style: str = "path",
    max_pool_connections: int = 10,
    max_attempts: int = _MAX_ATTEMPTS,
) -> Any:
    """A thread-safe S3 client with bounded timeouts and retries.

    Without keys, boto3 finds credentials itself (AWS_* variables, ~/.aws, an instance role).
    """
    config = Config(
        region_name=region,
        s3={"addressing_style": addressing_style},
        connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        read_timeout=_READ_TIMEOUT_SECONDS,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        max_pool_connections=max_pool_connections,
    )
    session = boto3.session.Session(
        aws_access_key_id=access_key_id or None,
        aws_secret_access_key=secret_access_key or None,
        region_name=region,
    )
    return session.client("s3", endpoint_url=endpoint_url or None, config=config)


class S3BlobStore:
    """A BlobStore in an S3 bucket, under an optional key prefix; safe to share between threads.

    An object is never rewritten: putting bytes already stored only copies the object onto
    itself, on the server, which restarts its LastModified (the blob's time in `iter_blobs`).
    """

    def __init__(
        self, client: Any, bucket: str, prefix: str = "", *, endpoint_url: str = ""
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self._conditional_puts = True

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        """The store `HALLMARK_STORAGE=s3://bucket/prefix` and the HALLMARK_S3_* settings name."""
        location = settings.s3_location
        if location is None:
            raise ValueError("HALLMARK_STORAGE does not name an S3 bucket (s3://bucket/prefix)")
        bucket, prefix = location
        secret = settings.s3_secret_access_key
        client = s3_client(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else "",
            addressing_style=settings.resolved_s3_addressing_style,
            # A connection for every thread that may use the store at once, as for the database.
            max_pool_connections=settings.resolved_database_pool_size,
        )
        return cls(client, bucket, prefix, endpoint_url=settings.s3_endpoint_url)

    @property
    def location(self) -> str:
        """The bucket and prefix as an s3:// address."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def __repr__(self) -> str:
        return f"S3BlobStore({self.location!r}, endpoint={self.endpoint_url or 'AWS'!r})"

    def put(self, data: bytes) -> StoredBlob:
        """Store the bytes under their SHA-256 unless already stored; never rewrite a blob."""
        digest = hashlib.sha256(data)
        sha256 = digest.hexdigest()
        key = self._key(sha256)
        with self._failures("put"):
            created = not self._restart_age(key) and self._put_new(key, data, digest.digest())
        return StoredBlob(sha256=sha256, size=len(data), created=created)

    def get(self, sha256: str) -> bytes:
        """The bytes stored under the key; BlobNotFound if none."""
        with self._reading(sha256) as body:
            data: bytes = body.read()
        return data

    def exists(self, sha256: str) -> bool:
        """Whether an object is stored under the key (asked with HEAD).

        A bucket that does not exist answers HEAD like a missing key, so this says False;
        every other operation names the missing bucket.
        """
        key = self._key(sha256)
        with self._failures("exists"):
            return self._head(key) is not None

    def delete(self, sha256: str) -> None:
        """Remove the blob if present; only to undo a put whose database record failed."""
        key = self._key(sha256)
        with self._failures("delete"):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def size(self, sha256: str) -> int:
        """The object's length; BlobNotFound if none."""
        key = self._key(sha256)
        with self._failures("size"):
            head = self._head(key)
        if head is None:
            raise BlobNotFound(f"no blob {sha256}")
        return int(head["ContentLength"])

    def open(self, sha256: str) -> BinaryIO:
        """A buffered reader streaming the object from the server; the caller closes it."""
        key = self._key(sha256)
        with self._failures("open"):
            body = self._body(key, sha256)
        return io.BufferedReader(_BodyReader(body, self._failures), _CHUNK_BYTES)

    def iter_blobs(self) -> Iterator[tuple[str, datetime]]:
        """Every blob under the prefix and its LastModified (UTC); other keys are not blobs."""
        start = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        with self._failures("list"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", []):
                    match = _LAYOUT.fullmatch(str(item["Key"])[len(start) :])
                    if match is None or match[3][:4] != match[1] + match[2]:
                        continue
                    modified: datetime = item["LastModified"]
                    yield match[3], modified.astimezone(UTC)

    def delete_if_older(self, sha256: str, before: datetime) -> bool:
        """Delete the blob if its LastModified is before `before`; True if deleted.

        The time is read again (HEAD) just before the delete, as the local store stats its file
        just before unlinking it.
        """
        key = self._key(sha256)
        with self._failures("delete"):
            head = self._head(key)
            if head is None or head["LastModified"] >= before:
                return False
            self.client.delete_object(Bucket=self.bucket, Key=key)
        return True

    def sweep_partial_writes(self, before: datetime) -> int:
        """Nothing to remove: a put is one PutObject, never multipart, so never half-written."""
        return 0

    def verify(self, sha256: str) -> bool:
        """Whether the object, read again from the server, still hashes to its key."""
        digest = hashlib.sha256()
        try:
            with self.open(sha256) as handle:
                while chunk := handle.read(_CHUNK_BYTES):
                    digest.update(chunk)
        except BlobStoreError as error:
            if isinstance(error.__context__, FlexibleChecksumError):
                return False  # the server's own checksum of the object no longer matches
            raise
        return digest.hexdigest() == sha256

    def _key(self, sha256: str) -> str:
        key = check_blob_key(sha256)
        name = f"{key[:2]}/{key[2:4]}/{key}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def _head(self, key: str) -> dict[str, Any] | None:
        """The object's metadata, or None if there is no such object."""
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise
        return head

    def _body(self, key: str, sha256: str) -> Any:
        """The streaming body of a GET of the object; BlobNotFound if none."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _code(error) in _MISSING:
                raise BlobNotFound(f"no blob {sha256}") from None
            raise
        return response["Body"]

    @contextlib.contextmanager
    def _reading(self, sha256: str) -> Iterator[Any]:
        """The object's streaming body, closed afterwards; failures as BlobStoreError."""
        key = self._key(sha256)
        with self._failures("get"):
            body = self._body(key, sha256)
            with contextlib.closing(body):
                yield body

    def _restart_age(self, key: str) -> bool:
        """Copy the object onto itself so its LastModified is now; False if there is none."""
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                # S3 copies an object onto itself only when something changes: its metadata
                # is replaced by the same metadata.
                MetadataDirective="REPLACE",
                ContentType=_CONTENT_TYPE,
                ChecksumAlgorithm="SHA256",
            )
        except ClientError as error:
            if _code(error) in _MISSING:
                return False
            raise
        return True

    def _put_new(self, key: str, data: bytes, digest: bytes) -> bool:
        """Create the object; False if another put created it first (it is as young as ours)."""
        for _ in range(_CONFLICT_RETRIES):
            arguments: dict[str, Any] = {
                "Bucket": self.bucket,
                "Key": key,
                "Body": data,
                "ContentType": _CONTENT_TYPE,
                "ChecksumSHA256": base64.b64encode(digest).decode("ascii"),
            }
            if self._conditional_puts:
                arguments["IfNoneMatch"] = "*"
            try:
                self.client.put_object(**arguments)
            except ClientError as error:
                code = _code(error)
                if code in _ALREADY_STORED:
                    return False
                if code in _NOT_IMPLEMENTED and self._conditional_puts:
                    # No conditional puts here: the existence check just made must do.
                    self._conditional_puts = False
                    continue
                if code == _CONFLICT:
                    continue
                raise
            return True
        raise BlobStoreError(f"{self._name()} kept refusing to store {key}: conflicting writes")

    @contextlib.contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        """Any failure of the S3 client as one BlobStoreError naming the bucket and endpoint."""
        try:
            yield
        except ClientError as error:
            reason = f"{_code(error)}: {error.response.get('Error', {}).get('Message', error)}"
            raise BlobStoreError(f"{self._name()} failed to {action}: {reason}") from None
        except BotoCoreError as error:
            raise BlobStoreError(f"{self._name()} failed to {action}: {error}") from None

    def _name(self) -> str:
        """How errors name this store: its bucket and prefix, and where the server is."""
        return f"The blob store {self.location} at {self.endpoint_url or 'AWS S3'}"


class _BodyReader(io.RawIOBase):
    """A raw reader over a GET's streaming body, with failures reported as BlobStoreError."""

    def __init__(self, body: Any, failures: Failures) -> None:
        super().__init__()
        self._body = body
        self._failures = failures

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        with self._failures("read"):
            data: bytes = self._body.read(len(target))
        target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _code(error: Any) -> str:
    """The error code of a ClientError: "NoSuchKey", "AccessDenied", or the HTTP status."""
    return str(error.response.get("Error", {}).get("Code", ""))
