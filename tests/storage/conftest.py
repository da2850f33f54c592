"""Both blob stores for the contract tests: a local directory, and a bucket on the S3 server."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallmark.storage import BlobStore, LocalBlobStore
from tests.conftest import STORAGES
from tests.s3 import S3Server


@pytest.fixture(params=STORAGES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """An empty store of each kind: the contract holds for every one of them."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    server: S3Server = request.getfixturevalue("s3_server")
    return server.store(server.new_bucket(), prefix="blobs")
