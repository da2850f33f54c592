"""The sweep of unused blobs: what a crash left behind goes, whatever a row names stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from hallmark import blob_lifecycle
from hallmark.accounts.models import User
from hallmark.blob_lifecycle import is_blob_referenced, sweep_orphan_blobs
from hallmark.db import transaction
from hallmark.generations.service import record_generation
from hallmark.jobs.models import Job, JobKind
from hallmark.similarity.models import CopyClaim, ImageFingerprint
from hallmark.storage import LocalBlobStore
from hallmark.styles.models import StyleModel, StyleTrainingWork
from tests.conftest import BACKENDS, STORAGES
from tests.helpers import png_bytes
from tests.jobs.studio import Committed, open_committed
from tests.s3 import S3Server
from tests.storage.support import moment_between_puts

HOUR = 3600


@pytest.fixture(params=BACKENDS)
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Committed]:
    with open_committed(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture(params=STORAGES)
def storage(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings that keep the blobs in the data directory, or in a bucket of their own."""
    if request.param == "local":
        return {}
    server: S3Server = request.getfixturevalue("s3_server")
    return server.settings(server.new_bucket(), "blobs")


@pytest.fixture(params=BACKENDS)
def committed_anywhere(
    request: pytest.FixtureRequest, tmp_path: Path, storage: dict[str, Any]
) -> Iterator[Committed]:
    """A committed database of each backend, its blobs in each kind of store."""
    with open_committed(request.param, tmp_path, **storage) as opened:
        assert isinstance(opened.instance.blobs, LocalBlobStore) is not bool(storage)
        yield opened


def test_only_old_blobs_no_row_names_are_swept(
    committed_anywhere: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed = committed_anywhere
    blobs = committed.instance.blobs
    keys: dict[str, str] = {}
    with transaction(committed.factory) as session:
        ana = session.get(User, committed.ana_id)
        style = session.get(StyleModel, committed.style_id)
        assert ana is not None and style is not None
        generation = record_generation(
            session, committed.instance, ana, style, prompt="p", seed=1, image=png_bytes(40)
        )
        artwork_sha = style.training_works[0].artwork_sha256
        keys["artwork"] = artwork_sha
        keys["generation"] = generation.sha256
        # Each of these blobs is named by one table alone, so each table is shown to count.
        for name in ("fingerprint", "training_set", "copy_claim", "training_sample"):
            keys[name] = blobs.put(f"named by {name}".encode()).sha256
        session.execute(
            update(ImageFingerprint)
            .where(ImageFingerprint.sha256.in_([artwork_sha, generation.sha256]))
            .values(sha256=keys["fingerprint"])
        )
        session.execute(update(StyleTrainingWork).values(artwork_sha256=keys["training_set"]))
        session.add(
            CopyClaim(
                claimant_id=ana.id,
                upload_sha256=keys["copy_claim"],
                matched_owner_id=ana.id,
                method="pdq",
                distance=0,
            )
        )
        session.add(
            Job(
                kind=JobKind.TRAIN_STYLE.value,
                requester_id=ana.id,
                style_id=style.id,
                payload={},
                result={"samples": ["0" * 64, keys["training_sample"]]},
            )
        )
        # A generation's result names generations, not blobs: its ids are no blob keys.
        session.add(
            Job(
                kind=JobKind.GENERATE_IMAGES.value,
                requester_id=ana.id,
                style_id=style.id,
                payload={},
                result={"generation_ids": [str(generation.id)]},
            )
        )
    orphans = [blobs.put(f"orphan {n}".encode()).sha256 for n in range(3)]
    half_written = None
    if isinstance(blobs, LocalBlobStore):  # S3 puts are atomic: nothing is left half-written
        half_written = blobs.path_for(keys["artwork"]).parent / ".tmp-killed.part"
        half_written.write_bytes(b"half")
    moment = moment_between_puts(blobs)
    young = blobs.put(b"an upload still in flight").sha256
    # The sweep runs an hour after that moment with an hour's grace: what was put before is old.
    monkeypatch.setattr(blob_lifecycle, "utcnow", lambda: moment + timedelta(seconds=HOUR))
    monkeypatch.setattr(blob_lifecycle, "SWEEP_BATCH", 2)  # several batches

    assert sweep_orphan_blobs(committed.factory, blobs, grace_seconds=HOUR) == 3

    assert [key for key in orphans if blobs.exists(key)] == []
    assert blobs.exists(young)
    assert half_written is None or not half_written.exists()
    assert {name: blobs.exists(key) for name, key in keys.items()} == dict.fromkeys(keys, True)
    assert sweep_orphan_blobs(committed.factory, blobs, grace_seconds=HOUR) == 0


def test_a_file_a_training_keeps_as_a_sample_counts_as_used(committed: Committed) -> None:
    """So deleting an artwork with the same bytes leaves the file (delete_blob_when_unused)."""
    sample = "a" * 64
    with transaction(committed.factory) as session:
        assert not is_blob_referenced(session, sample)
        session.add(
            Job(
                kind=JobKind.TRAIN_STYLE.value,
                requester_id=committed.ana_id,
                style_id=committed.style_id,
                payload={},
                result={"samples": [sample]},
            )
        )
        session.flush()
        assert is_blob_referenced(session, sample)
        assert not is_blob_referenced(session, "b" * 64)
