"""Blob storage: content-addressed bytes behind one protocol, on local disk or (later) S3."""

from __future__ import annotations

from hallmark.config import Settings
from hallmark.storage.base import (
    BlobNotFound,
    BlobStore,
    InvalidBlobKey,
    StoredBlob,
    check_blob_key,
)
from hallmark.storage.local import LocalBlobStore

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "InvalidBlobKey",
    "LocalBlobStore",
    "StoredBlob",
    "check_blob_key",
    "make_blob_store",
]


def make_blob_store(settings: Settings) -> BlobStore:
    """The blob store the settings describe; the local directory under the data dir for now."""
    return LocalBlobStore(settings.blob_dir)
