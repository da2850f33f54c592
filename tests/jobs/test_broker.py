"""A broker that goes away: workers wait for it, submissions are kept, the sweeper delivers them."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hallmark.config import Settings
from hallmark.jobs import service
from hallmark.jobs.models import JobKind, JobState
from hallmark.jobs.queue import InProcessWorkers, JobQueues
from hallmark.jobs.runner import WorkerPool
from tests.jobs.broker import BrokerRelay, outage_redis, wait_until
from tests.jobs.studio import Studio, open_studio, run_queued

EVERY_KIND = {JobKind.TRAIN_STYLE: 1, JobKind.GENERATE_IMAGES: 1}


@pytest.fixture
def relay() -> Iterator[BrokerRelay]:
    """A relay to an emptied Redis database."""
    outage_redis()
    relay = BrokerRelay()
    yield relay
    relay.cut()


def _fast_backoff(workers: InProcessWorkers) -> InProcessWorkers:
    workers.BACKOFF_FIRST, workers.BACKOFF_LONGEST = 0.05, 0.2
    return workers


def _outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "cannot reach" in r.getMessage()]


@pytest.mark.redis
def test_workers_wait_out_a_redis_outage_and_take_jobs_again_when_it_is_back(
    relay: BrokerRelay, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queues = JobQueues(Settings(data_dir=tmp_path, queue=relay.url()))
    ran: list[uuid.UUID] = []
    queues.runner = ran.append
    workers = _fast_backoff(InProcessWorkers(queues, EVERY_KIND))
    workers.start()
    try:
        before = uuid.uuid4()
        queues.enqueue(JobKind.GENERATE_IMAGES, before)
        wait_until(lambda: ran == [before])

        relay.cut()
        wait_until(lambda: all(w["broker"] == "unreachable" for w in workers.health().values()))
        time.sleep(0.6)  # several failed tries, each backing off
        during = workers.health()
        assert {kind: (w["threads"], w["alive"]) for kind, w in during.items()} == {
            "train_style": (1, 1),
            "generate_images": (1, 1),
        }
        assert during["train_style"]["last_error"].startswith("ConnectionError")
        assert during["train_style"]["failing_since"] is not None
        assert queues.try_enqueue(JobKind.GENERATE_IMAGES, uuid.uuid4()) is False
        assert queues.health()["queue"] == "unreachable"

        relay.restore()
        wait_until(lambda: all(w["broker"] == "ok" for w in workers.health().values()))
        after = uuid.uuid4()
        assert queues.try_enqueue(JobKind.GENERATE_IMAGES, after) is True
        wait_until(lambda: ran == [before, after])
    finally:
        workers.stop()
    # One warning per kind for the whole outage, however many tries failed.
    assert len(_outage_warnings(caplog)) == 2
    assert workers.health()["train_style"] | {"alive": 0} == {
        "threads": 1,
        "alive": 0,
        "broker": "ok",
        "last_error": during["train_style"]["last_error"],
        "failing_since": None,
    }


def test_a_worker_thread_outlives_a_failing_sqlite_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    queues = JobQueues(Settings(data_dir=tmp_path))
    ran: list[uuid.UUID] = []
    queues.runner = ran.append
    huey = queues.hueys[JobKind.TRAIN_STYLE]
    real_dequeue, failures = huey.dequeue, [5]

    def dequeue_failing_five_times() -> object:
        if failures[0]:
            failures[0] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return real_dequeue()

    monkeypatch.setattr(huey, "dequeue", dequeue_failing_five_times)
    workers = _fast_backoff(InProcessWorkers(queues, {JobKind.TRAIN_STYLE: 1}))
    workers.start()
    try:
        job_id = uuid.uuid4()
        queues.enqueue(JobKind.TRAIN_STYLE, job_id)
        wait_until(lambda: ran == [job_id])
        assert failures == [0]
        assert workers.health()["train_style"]["alive"] == 1
        assert workers.health()["train_style"]["broker"] == "ok"
    finally:
        workers.stop()
    assert _outage_warnings(caplog) == [
        "train_style workers cannot reach the sqlite broker (OperationalError: disk I/O error); "
        "retrying, at most 0.2 s apart"
    ]


def test_the_health_of_a_sqlite_queue(tmp_path: Path) -> None:
    queues = JobQueues(Settings(data_dir=tmp_path))
    assert queues.health() == {"queue": "ok", "backend": "sqlite", "workers": {}, "error": None}
    (tmp_path / "queue.db").unlink()  # the queue file deleted under a running instance
    health = queues.health()
    assert health["queue"] == "unreachable" and "OperationalError" in health["error"]


@pytest.mark.redis
def test_the_health_of_a_redis_queue_answers_within_its_timeout(tmp_path: Path) -> None:
    assert JobQueues(Settings(data_dir=tmp_path, queue=outage_redis())).health()["queue"] == "ok"
    gone = JobQueues(Settings(data_dir=tmp_path, queue="redis://127.0.0.1:1/0"))
    started = time.monotonic()
    health = gone.health(timeout=0.5)
    assert time.monotonic() - started < 2
    assert health["queue"] == "unreachable" and health["backend"] == "redis"
    assert health["error"].startswith("ConnectionError")


# ----------------------------------------------------------------------- the table is the outbox


@pytest.mark.redis
def test_a_job_submitted_while_redis_is_down_is_kept_and_delivered_once_it_is_back(
    relay: BrokerRelay, tmp_path: Path, tiny_sd: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with open_studio(tmp_path, tiny_sd, relay.url()) as studio:
        queues = studio.instance.queues
        delivered = studio.submit_training()
        assert queues.pending(JobKind.TRAIN_STYLE) == 1

        relay.cut()
        kept = studio.submit_training()  # no error: the committed row is the record
        assert studio.job(kept).state == JobState.QUEUED.value
        assert service.recover_jobs(studio.factory, queues, stale_seconds=5, max_attempts=3) == []
        assert any("next sweep tries again" in r.getMessage() for r in caplog.records)

        relay.restore()
        service.recover_jobs(studio.factory, queues, stale_seconds=5, max_attempts=3)
        assert queues.pending_job_ids(JobKind.TRAIN_STYLE) == {delivered, kept}
        assert queues.pending(JobKind.TRAIN_STYLE) == 2  # the delivered one was not sent twice
        service.recover_jobs(studio.factory, queues, stale_seconds=5, max_attempts=3)
        assert queues.pending(JobKind.TRAIN_STYLE) == 2  # nor on the next sweep


def test_a_job_whose_enqueue_failed_is_delivered_by_the_watchdog_and_runs_once(
    sqlite_studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    studio, queues = sqlite_studio, sqlite_studio.instance.queues
    with monkeypatch.context() as patch:
        patch.setattr(queues, "enqueue", _broker_is_down)
        job_id = studio.submit_training()
    assert queues.pending(JobKind.TRAIN_STYLE) == 0 and studio.job(job_id).state == "queued"

    service.recover_jobs(studio.factory, queues, stale_seconds=5, max_attempts=3)
    assert queues.pending_job_ids(JobKind.TRAIN_STYLE) == {job_id}
    queues.enqueue(JobKind.TRAIN_STYLE, job_id)  # on the queue twice, as after a lost race
    run_queued(studio, JobKind.TRAIN_STYLE)
    run_queued(studio, JobKind.TRAIN_STYLE)

    job = studio.job(job_id)
    assert (job.state, job.attempts) == ("succeeded", 1)


def _broker_is_down(kind: JobKind, job_id: uuid.UUID) -> None:
    raise sqlite3.OperationalError("unable to open database file")


def test_the_watchdog_outlives_a_broker_that_is_down_and_delivers_once_it_is_back(
    sqlite_studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    studio, queues = sqlite_studio, sqlite_studio.instance.queues
    pool = WorkerPool(studio.instance, studio.factory)
    with monkeypatch.context() as patch:
        patch.setattr(queues, "enqueue", _broker_is_down)
        patch.setattr(queues, "pending", lambda kind: _broker_is_down(kind, uuid.uuid4()))
        job_id = studio.submit_training()
        pool.start()  # its first sweep meets the broker down, and says so
        assert queues.hueys[JobKind.TRAIN_STYLE].pending_count() == 0
    try:
        # The broker is back: the watchdog's next sweep (every 5 s / 3 here) delivers the job.
        job = studio.wait(job_id, lambda job: JobState(job.state).finished, timeout=30)
    finally:
        pool.stop()
    assert (job.state, job.attempts) == ("succeeded", 1)
