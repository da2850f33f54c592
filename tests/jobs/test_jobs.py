"""Jobs on a real queue (SQLite file, and Redis at 127.0.0.1:6379): states, cancel, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from datetime import timedelta

import pytest

from hallmark.db import transaction, utcnow, write_transaction
from hallmark.errors import Conflict
from hallmark.instance import Instance
from hallmark.jobs import service
from hallmark.jobs.models import JobKind, JobState
from hallmark.jobs.repository import JobRepository
from hallmark.jobs.runner import WorkerPool
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.service import publish_style
from tests.jobs.studio import Studio, run_queued


def test_a_training_job_goes_from_queued_to_succeeded_through_the_queue(studio: Studio) -> None:
    job_id = studio.submit_training()
    assert studio.job(job_id).state == JobState.QUEUED.value
    assert studio.instance.queues.pending(JobKind.TRAIN_STYLE) == 1

    run_queued(studio, JobKind.TRAIN_STYLE)

    job = studio.job(job_id)
    assert (job.state, job.step, job.total, job.attempts) == ("succeeded", 4, 4, 1)
    assert job.loss is not None and job.finished_at is not None
    with studio.factory() as session:
        style = session.get(StyleModel, studio.style_id)
        assert style is not None and style.status == StyleStatus.READY.value


def test_a_generation_job_returns_at_once_and_its_images_belong_to_the_owner(
    studio: Studio,
) -> None:
    run_after = studio.submit_training()
    run_queued(studio, JobKind.TRAIN_STYLE)
    assert studio.job(run_after).state == "succeeded"
    with transaction(studio.factory) as session:
        owner = studio.user(session, studio.owner_id)
        publish_style(session, owner, studio.style_id, accept_platform_license=True)
        maker = studio.user(session, studio.other_id)
        job = service.submit_generation(
            session,
            studio.instance.queues,
            maker,
            studio.style_id,
            {"prompt": "a boat", "count": 2, "steps": 2, "width": 64, "height": 64},
            acknowledge_ownership=True,  # someone else's model (R4)
        )
        job_id = job.id
    assert studio.instance.queues.pending(JobKind.GENERATE_IMAGES) == 1
    assert studio.instance.queues.pending(JobKind.TRAIN_STYLE) == 0

    run_queued(studio, JobKind.GENERATE_IMAGES)

    done = studio.job(job_id)
    assert done.state == "succeeded" and len(done.result["generation_ids"]) == 2
    from hallmark.generations.models import Generation

    with studio.factory() as session:
        for generation_id in done.result["generation_ids"]:
            generation = session.get(Generation, uuid.UUID(generation_id))
            assert generation is not None and generation.owner_id == studio.owner_id


def test_a_queued_job_cancelled_never_runs(studio: Studio) -> None:
    job_id = studio.submit_training()
    with transaction(studio.factory) as session:
        service.cancel_job(session, studio.user(session, studio.owner_id), job_id)

    run_queued(studio, JobKind.TRAIN_STYLE)

    job = studio.job(job_id)
    assert job.state == "cancelled" and job.attempts == 0


def test_cancelling_a_running_training_stops_it_and_keeps_its_checkpoint(studio: Studio) -> None:
    job_id = studio.submit_training(steps=400, checkpoint_every=1)
    pool = WorkerPool(studio.instance, studio.factory)
    pool.start()
    try:
        studio.wait(job_id, lambda job: job.step >= 3)
        with write_transaction(studio.factory) as session:
            service.cancel_job(session, studio.user(session, studio.owner_id), job_id)
        job = studio.wait(job_id, lambda job: JobState(job.state).finished, timeout=30)
    finally:
        pool.stop()

    assert job.state == "cancelled" and job.step < 400
    checkpoints = studio.settings.data_dir / "styles" / str(studio.style_id) / "checkpoints"
    assert any(checkpoints.iterdir())
    with studio.factory() as session:
        style = session.get(StyleModel, studio.style_id)
        assert style is not None and style.status == StyleStatus.DRAFT.value


def test_two_workers_never_claim_the_same_job(studio: Studio) -> None:
    job_id = studio.submit_training()
    barrier = threading.Barrier(8)
    wins: list[bool] = []

    def claim(number: int) -> None:
        barrier.wait()
        with transaction(studio.factory) as session:
            now = utcnow()
            wins.append(
                JobRepository(session).claim(job_id, f"w{number}", now, now - timedelta(seconds=60))
            )

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(wins) == [False] * 7 + [True]
    assert studio.job(job_id).attempts == 1


def test_a_worker_killed_mid_training_is_replaced_and_the_job_resumes(studio: Studio) -> None:
    job_id = studio.submit_training(steps=24, checkpoint_every=2)
    env = {
        **os.environ,
        "HALLMARK_DATA_DIR": str(studio.settings.data_dir),
        "HALLMARK_DATABASE_URL": studio.settings.resolved_database_url,
        "HALLMARK_QUEUE": studio.settings.queue,
        "HALLMARK_HEARTBEAT_SECONDS": "0.3",
        "HALLMARK_JOB_STALE_SECONDS": "2",
        "HALLMARK_GENERATION_WORKERS": "0",
    }

    def start_worker() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "hallmark", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    first = start_worker()
    try:
        studio.wait(job_id, lambda job: job.step >= 6, timeout=120)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed_at = studio.job(job_id).step

    second = start_worker()
    try:
        job = studio.wait(job_id, lambda job: JobState(job.state).finished, timeout=240)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)

    assert job.state == "succeeded", job.error
    assert job.attempts == 2
    # It went on from its last checkpoint (every 2 steps), not from scratch.
    resumed = job.result["resumed_from_step"]
    assert resumed % 2 == 0 and resumed >= max(2, killed_at - 2)


def test_a_job_whose_worker_keeps_dying_is_failed_after_the_third_attempt(studio: Studio) -> None:
    job_id = studio.submit_training()
    long_ago = utcnow() - timedelta(hours=1)
    with transaction(studio.factory) as session:
        job = JobRepository(session).get(job_id)
        assert job is not None
        job.state, job.attempts, job.heartbeat_at, job.worker_id = "running", 3, long_ago, "gone"

    requeued = service.recover_jobs(
        studio.factory, studio.instance.queues, stale_seconds=2, max_attempts=3
    )

    job = studio.job(job_id)
    assert requeued == [] and job.state == "failed"
    assert "stopped responding 3 times" in (job.error or "")


def test_a_restart_loses_no_queued_job(studio: Studio) -> None:
    job_id = studio.submit_training()
    studio.instance.close()
    restarted = Instance.from_settings(studio.settings)  # a new process: new queue handles

    assert restarted.queues.pending(JobKind.TRAIN_STYLE) >= 1
    pool = WorkerPool(restarted, studio.factory)
    pool.start()
    try:
        job = studio.wait(job_id, lambda job: JobState(job.state).finished, timeout=120)
    finally:
        pool.stop()
    assert job.state == "succeeded"


def test_at_most_k_trainings_per_user(studio: Studio) -> None:
    limit = studio.settings.max_trainings_per_user
    for _ in range(limit):
        studio.submit_training()

    with pytest.raises(Conflict, match=f"{limit} trainings queued or running"):
        studio.submit_training()
