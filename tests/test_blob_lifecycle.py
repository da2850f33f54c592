"""The sweep of unused blobs: what a crash left behind goes, whatever a row names stays."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

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
from tests.conftest import BACKENDS
from tests.helpers import png_bytes
from tests.jobs.studio import Committed, open_committed

HOUR = 3600


@pytest.fixture(params=BACKENDS)
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Committed]:
    with open_committed(request.param, tmp_path) as opened:
        yield opened


def _aged(blobs: LocalBlobStore, data: bytes, seconds: float = 2 * HOUR) -> str:
    """Store bytes as if they had been written `seconds` ago; their key."""
    sha256 = blobs.put(data).sha256
    then = time.time() - seconds
    os.utime(blobs.path_for(sha256), (then, then))
    return sha256


def test_only_old_blobs_no_row_names_are_swept(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    blobs = committed.instance.blobs
    assert isinstance(blobs, LocalBlobStore)
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
    for key in keys.values():
        then = time.time() - 2 * HOUR
        os.utime(blobs.path_for(key), (then, then))
    orphans = [_aged(blobs, f"orphan {n}".encode()) for n in range(3)]
    young = _aged(blobs, b"an upload still in flight", seconds=HOUR / 2)
    half_written = blobs.path_for(keys["artwork"]).parent / ".tmp-killed.part"
    half_written.write_bytes(b"half")
    then = time.time() - 2 * HOUR
    os.utime(half_written, (then, then))
    monkeypatch.setattr(blob_lifecycle, "SWEEP_BATCH", 2)  # several batches

    assert sweep_orphan_blobs(committed.factory, blobs, grace_seconds=HOUR) == 3

    assert [key for key in orphans if blobs.exists(key)] == []
    assert blobs.exists(young) and not half_written.exists()
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
