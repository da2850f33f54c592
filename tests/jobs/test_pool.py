"""The worker pool of a process: what it reports about itself."""

from __future__ import annotations

from hallmark.jobs.runner import WorkerPool
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
