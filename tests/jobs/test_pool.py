"""The worker pool of a process: what it reports about itself, and what it tidies at start."""

from __future__ import annotations

import os
import time

from hallmark.jobs.runner import WorkerPool
from hallmark.storage import LocalBlobStore
from tests.jobs.broker import wait_until
from tests.jobs.studio import Studio


def test_a_worker_pool_reports_its_threads(sqlite_studio: Studio) -> None:
    pool = WorkerPool(sqlite_studio.instance, sqlite_studio.factory)
    pool.start()
    try:
        health = pool.health()
    finally:
        pool.stop()
    assert health["queue"] == "ok" and health["error"] is None
    assert {
        kind: (w["threads"], w["alive"], w["broker"]) for kind, w in health["workers"].items()
    } == {
        "train_style": (1, 1, "ok"),
        "generate_images": (1, 1, "ok"),
    }


def test_a_worker_pool_sweeps_unused_blobs_when_it_starts(sqlite_studio: Studio) -> None:
    blobs = sqlite_studio.instance.blobs
    orphan = blobs.put(b"left by an upload killed before its commit").sha256
    in_flight = blobs.put(b"an upload still in flight").sha256
    assert isinstance(blobs, LocalBlobStore)
    path = blobs.path_for(orphan)
    then = time.time() - 2 * sqlite_studio.settings.blob_grace_seconds
    os.utime(path, (then, then))
    pool = WorkerPool(sqlite_studio.instance, sqlite_studio.factory)
    pool.start()
    try:
        wait_until(lambda: not blobs.exists(orphan))
    finally:
        pool.stop()
    assert blobs.exists(in_flight)
