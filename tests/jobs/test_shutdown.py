"""Stopping a worker (SIGTERM) gives its jobs back to the queue without spending an attempt."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hallmark.db import transaction, utcnow, write_transaction
from hallmark.instance import Instance
from hallmark.jobs import service
from hallmark.jobs.models import JobKind, JobState
from hallmark.jobs.repository import JobRepository
from hallmark.jobs.runner import SHUTDOWN_MESSAGE, JobRunner, WorkerPool, worker_process
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.service import set_style_status
from tests.jobs.studio import Committed, Studio, open_studio


def _style_status(studio: Studio | Committed) -> str:
    with studio.factory() as session:
        style = session.get(StyleModel, studio.style_id)
        assert style is not None
        return style.status


def test_a_training_stopped_by_shutdown_is_requeued_and_resumes_from_its_checkpoint(
    tmp_path: Path, tiny_sd: Path
) -> None:
    with open_studio(tmp_path, tiny_sd, "sqlite", job_max_attempts=2) as studio:
        job_id = studio.submit_training(steps=40, checkpoint_every=1)
        # A worker killed with -9 had it: the watchdog re-queues it, one attempt spent.
        with transaction(studio.factory) as session:
            job = JobRepository(session).get(job_id)
            assert job is not None
            job.state, job.attempts, job.worker_id = "running", 1, "elsewhere:1:1"
            job.heartbeat_at = utcnow() - timedelta(hours=1)

        pool = WorkerPool(studio.instance, studio.factory)
        pool.start()
        studio.wait(job_id, lambda job: job.attempts == 2 and job.step >= 3)
        released = pool.stop()  # what SIGTERM does

        stopped = studio.job(job_id)
        assert released == [job_id]
        assert (stopped.state, stopped.attempts, stopped.message) == (
            "queued",
            1,
            SHUTDOWN_MESSAGE,
        )
        assert stopped.worker_id is None and stopped.finished_at is None
        assert not stopped.cancel_requested and stopped.error is None
        assert _style_status(studio) == StyleStatus.TRAINING.value
        assert studio.instance.queues.pending_job_ids(JobKind.TRAIN_STYLE) == {job_id}

        # The next start runs it to the end on its last attempt, from the checkpoint.
        restarted = WorkerPool(Instance.from_settings(studio.settings), studio.factory)
        restarted.start()
        try:
            done = studio.wait(job_id, lambda job: JobState(job.state).finished)
        finally:
            restarted.stop()
        assert (done.state, done.attempts, done.step) == ("succeeded", 2, 40), done.error
        assert done.result["resumed_from_step"] >= stopped.step - 1
        assert _style_status(studio) == StyleStatus.READY.value


def test_a_generation_still_running_at_the_deadline_is_requeued_and_its_late_writes_refused(
    tmp_path: Path, tiny_sd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release, started = threading.Event(), threading.Event()

    def engine_that_takes_its_time(runner: JobRunner, job_id: uuid.UUID, worker: str, *_: Any):
        started.set()
        release.wait(10)
        runner._finish(job_id, worker, JobState.SUCCEEDED, progress=1.0)

    monkeypatch.setattr(JobRunner, "_generate", engine_that_takes_its_time)
    with open_studio(tmp_path, tiny_sd, "sqlite", job_shutdown_seconds=0.3) as studio:
        with transaction(studio.factory) as session:
            style = session.get(StyleModel, studio.style_id)
            assert style is not None
            set_style_status(session, style, StyleStatus.READY)
            owner = studio.user(session, studio.owner_id)
            job = service.submit_generation(
                session, studio.instance.queues, owner, studio.style_id, {"prompt": "a boat"}
            )
        pool = WorkerPool(studio.instance, studio.factory)
        pool.start()
        assert started.wait(10)
        assert pool.stop() == [job.id]

        requeued = studio.job(job.id)
        assert (requeued.state, requeued.attempts) == ("queued", 0)
        assert requeued.message == SHUTDOWN_MESSAGE
        assert studio.instance.queues.pending_job_ids(JobKind.GENERATE_IMAGES) == {job.id}
        release.set()  # the old worker finishes after all: its write no longer counts
        pool.workers.stop(5)
        assert studio.job(job.id).state == "queued"


def test_a_job_taken_off_the_queue_as_the_worker_stops_goes_back_on_it(
    sqlite_studio: Studio,
) -> None:
    studio = sqlite_studio
    job_id = studio.submit_training()
    runner = JobRunner(studio.instance, studio.factory)
    studio.instance.queues.hueys[JobKind.TRAIN_STYLE].dequeue()
    runner.shut_down()

    runner(job_id)

    job = studio.job(job_id)
    assert (job.state, job.attempts) == ("queued", 0)
    assert studio.instance.queues.pending_job_ids(JobKind.TRAIN_STYLE) == {job_id}


def test_releasing_a_process_touches_only_its_own_jobs_and_cancels_those_asked_to(
    committed: Committed,
) -> None:
    mine, cancelled, theirs = (committed.train(None) for _ in range(3))
    with write_transaction(committed.factory) as session:
        repository = JobRepository(session)
        for job_id, worker in (
            (mine, f"{worker_process()}1"),
            (cancelled, f"{worker_process()}2"),
            # Another process on this host, whose pid starts with ours.
            (theirs, f"{worker_process()[:-1]}9:1"),
        ):
            job = repository.get(job_id)
            assert job is not None
            job.state, job.attempts, job.worker_id = "running", 2, worker
            job.heartbeat_at = utcnow()
        repository.request_cancel(cancelled)
        style = session.get(StyleModel, committed.style_id)
        assert style is not None
        set_style_status(session, style, StyleStatus.TRAINING)

    released = service.release_jobs_of_process(
        committed.factory, committed.instance.queues, worker_process(), SHUTDOWN_MESSAGE
    )

    assert released == [mine]
    assert (committed.job(mine).state, committed.job(mine).attempts) == ("queued", 1)
    assert committed.job(cancelled).state == "cancelled"
    assert (committed.job(theirs).state, committed.job(theirs).attempts) == ("running", 2)
    assert _style_status(committed) == StyleStatus.DRAFT.value
    assert committed.instance.queues.pending_job_ids(JobKind.TRAIN_STYLE) >= {mine}
