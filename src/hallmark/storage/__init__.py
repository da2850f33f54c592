"""Blob storage: content-addressed bytes behind one protocol, on local disk or in S3.

`make_blob_store` picks the store from `HALLMARK_STORAGE`: the blob directory in the data
directory by default, or an S3-compatible bucket (`s3://bucket/prefix`, see `storage.s3`).
"""

from __future__ import annotations

from hallmark.config import Settings
from hallmark.storage.base import (
    BlobNotFound,
    BlobStore,
    BlobStoreError,
    InvalidBlobKey,
    StoredBlob,
    check_blob_key,
)
from hallmark.storage.local import LocalBlobStore

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "BlobStoreError",
    "InvalidBlobKey",
    "LocalBlobStore",
    "StoredBlob",
    "check_blob_key",
    "make_blob_store",
]


def make_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings name: an S3 bucket for `s3://...`, else the blob directory."""
    if settings.s3_location is None:
        return LocalBlobStore(settings.blob_dir)
    # Imported here: boto3 takes half a second to load, and only S3 instances need it.
    from hallmark.storage.s3 import S3BlobStore

    return S3BlobStore.from_settings(settings)
