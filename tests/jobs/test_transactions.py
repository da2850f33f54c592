"""A job holds no write transaction while an engine works: the studio keeps answering meanwhile."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hallmark.db import transaction
from hallmark.engines import Engine, get_engine
from hallmark.generations import service as generations_service
from hallmark.generations.models import Generation
from hallmark.jobs import service
from hallmark.jobs.models import JobKind
from hallmark.provenance.service import sign_generated_image
from hallmark.styles import training
from hallmark.styles.service import publish_style
from tests.jobs.studio import Studio, run_queued

# What the SQLite probe finds at each moment: "free", or the error it met taking the lock.
Probes = list[tuple[str, str]]


def _probe_write_lock(database: Path, moment: str, probes: Probes) -> None:
    """Take SQLite's write lock from another connection, as an HTTP request would, and let go."""
    connection = sqlite3.connect(database, timeout=0.2, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        probes.append((moment, "free"))
    except sqlite3.OperationalError as error:
        probes.append((moment, str(error)))
    finally:
        connection.close()


class _ProbingEngine:
    """The real engine, probing the write lock whenever it is looked up and before it works."""

    def __init__(self, inner: Engine, probe: Any) -> None:
        self.inner, self.probe, self.name = inner, probe, inner.name

    def train(self, *args: Any) -> Any:
        self.probe("train")
        return self.inner.train(*args)

    def generate(self, *args: Any) -> Any:
        self.probe("generate")
        return self.inner.generate(*args)


def test_training_and_generation_leave_the_write_lock_free_while_engines_work(
    sqlite_studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    studio = sqlite_studio
    database = Path(studio.settings.resolved_database_url.split("///", 1)[1])
    probes: Probes = []

    def probe(moment: str) -> None:
        _probe_write_lock(database, moment, probes)

    def probing_engine(name: str) -> Any:  # stands in for get_engine
        probe("engine lookup")
        return _ProbingEngine(get_engine(name), probe)

    def probing_signer(*args: Any) -> bytes:
        probe("sign")
        return sign_generated_image(*args)

    monkeypatch.setattr(training, "get_engine", probing_engine)
    monkeypatch.setattr(generations_service, "get_engine", probing_engine)
    monkeypatch.setattr(generations_service, "sign_generated_image", probing_signer)

    trained = studio.submit_training()
    run_queued(studio, JobKind.TRAIN_STYLE)
    assert studio.job(trained).state == "succeeded", studio.job(trained).error
    with transaction(studio.factory) as session:
        owner = studio.user(session, studio.owner_id)
        publish_style(session, owner, studio.style_id, accept_platform_license=True)
        job = service.submit_generation(
            session,
            studio.instance.queues,
            studio.user(session, studio.other_id),
            studio.style_id,
            {"prompt": "a boat", "count": 2, "steps": 2, "width": 64, "height": 64},
            acknowledge_ownership=True,  # someone else's model (R4)
        )
    run_queued(studio, JobKind.GENERATE_IMAGES)

    done = studio.job(job.id)
    assert done.state == "succeeded", done.error
    moments = [moment for moment, _ in probes]
    assert probes == [(moment, "free") for moment in moments]
    # Planning looks the engine up, training looks it up again; then generation, two signatures.
    assert moments.count("train") == 1 and moments.count("generate") == 1
    assert moments.count("sign") == 2 and moments.count("engine lookup") >= 3
    # Each image was stored in its own transaction, with the job's progress.
    assert len(done.result["generation_ids"]) == 2 and done.step == 2


def test_a_generation_retried_after_a_failure_stores_each_image_once(
    sqlite_studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    studio = sqlite_studio
    trained = studio.submit_training()
    run_queued(studio, JobKind.TRAIN_STYLE)
    assert studio.job(trained).state == "succeeded"
    with transaction(studio.factory) as session:
        job = service.submit_generation(
            session,
            studio.instance.queues,
            studio.user(session, studio.owner_id),
            studio.style_id,
            {"prompt": "a boat", "count": 3, "steps": 2, "width": 64, "height": 64},
        )
    real_store, calls = generations_service.store_generation, [0]

    def store_failing_the_second(*args: Any) -> Generation:
        calls[0] += 1
        if calls[0] == 2:
            raise OSError("disk full")
        return real_store(*args)

    monkeypatch.setattr("hallmark.jobs.runner.store_generation", store_failing_the_second)
    run_queued(studio, JobKind.GENERATE_IMAGES)
    first = studio.job(job.id)
    assert (first.state, first.attempts, first.step) == ("queued", 1, 1)
    assert len(first.result["generation_ids"]) == 1

    run_queued(studio, JobKind.GENERATE_IMAGES)  # the retry put it back on the queue

    done = studio.job(job.id)
    assert (done.state, done.attempts) == ("succeeded", 2)
    ids = done.result["generation_ids"]
    assert len(ids) == 3 and ids[0] == first.result["generation_ids"][0]
    with studio.factory() as session:
        stored = session.scalars(select(Generation.id).where(Generation.style_id == job.style_id))
        assert sorted(str(found) for found in stored) == sorted(ids)
