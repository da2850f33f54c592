"""Use cases of jobs: submit, watch, cancel, and recover work whose worker died."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hallmark.accounts.models import User
from hallmark.db import after_transaction, utcnow, write_transaction
from hallmark.engines import training_defaults
from hallmark.errors import Conflict, NotFound
from hallmark.generations.service import check_may_generate
from hallmark.instance import Instance
from hallmark.jobs.models import Job, JobKind, JobState
from hallmark.jobs.queue import JobQueues
from hallmark.jobs.repository import JobRepository
from hallmark.styles.service import get_visible_style, owned_style

Enqueue = Callable[[JobKind, uuid.UUID], None]


def _submit(session: Session, queues: JobQueues, job: Job) -> Job:
    """Store the job; put it on its queue only once the row is committed, never before."""
    JobRepository(session).add(job)
    kind, job_id = JobKind(job.kind), job.id
    after_transaction(session, committed=lambda: queues.enqueue(kind, job_id))
    return job


def submit_training(
    session: Session,
    instance: Instance,
    queues: JobQueues,
    owner: User,
    style_id: uuid.UUID,
    settings: dict[str, Any],
) -> Job:
    """Queue the training of the owner's style, within the per-user limit of concurrent runs."""
    style = owned_style(session, owner, style_id)
    limit = instance.settings.max_trainings_per_user
    if JobRepository(session).active_trainings_of(owner.id) >= limit:
        raise Conflict(
            f"You already have {limit} trainings queued or running; wait for one to finish."
        )
    return _submit(
        session,
        queues,
        Job(
            kind=JobKind.TRAIN_STYLE.value,
            requester_id=owner.id,
            style_id=style.id,
            payload=dict(settings),
            total=int(settings.get("steps") or training_defaults(style.engine).get("steps", 0)),
        ),
    )


def submit_generation(
    session: Session,
    queues: JobQueues,
    maker: User,
    style_id: uuid.UUID,
    request: dict[str, Any],
) -> Job:
    """Queue a generation with a style the maker may use (R5); the answer comes back at once."""
    style = get_visible_style(session, maker, style_id)
    check_may_generate(maker, style)
    return _submit(
        session,
        queues,
        Job(
            kind=JobKind.GENERATE_IMAGES.value,
            requester_id=maker.id,
            style_id=style.id,
            payload=dict(request),
            total=int(request.get("count", 1)),
        ),
    )


def get_job(session: Session, user: User, job_id: uuid.UUID) -> Job:
    """A job for the person who asked for it; to anyone else it does not exist."""
    job = JobRepository(session).get(job_id)
    if job is None or job.requester_id != user.id:
        raise NotFound("No such job.")
    return job


def cancel_job(session: Session, user: User, job_id: uuid.UUID) -> Job:
    """Cancel a job: a queued one at once, a running one within one training step."""
    job = get_job(session, user, job_id)
    if JobState(job.state).finished:
        raise Conflict(f"This job has already {job.state}.")
    if job.state == JobState.QUEUED.value:
        job.state = JobState.CANCELLED.value
        job.finished_at = utcnow()
        job.message = "cancelled before it started"
    job.cancel_requested = True
    session.flush()
    return job


def read_job_briefly(factory: sessionmaker[Session], user_id: uuid.UUID, job_id: uuid.UUID) -> Job:
    """The job as it stands, read in a transaction of its own that ends before this returns.

    Long-polls call it between waits, so a waiting client holds no database connection.
    """
    with factory() as session:
        job = JobRepository(session).get(job_id)
        if job is None or job.requester_id != user_id:
            raise NotFound("No such job.")
        session.expunge(job)
    return job


def recover_jobs(
    factory: sessionmaker[Session], queues: JobQueues, *, stale_seconds: float, max_attempts: int
) -> list[uuid.UUID]:
    """Re-queue jobs whose worker went silent (or fail them after max_attempts), and put every
    queued job back on its queue, in case a crash came between the commit and the enqueue.

    Claiming is atomic, so a job queued twice still runs once. Returns the re-queued ids.
    """
    now = utcnow()
    requeued: list[uuid.UUID] = []
    with write_transaction(factory) as session:
        repository = JobRepository(session)
        for job in repository.stale_running(now - timedelta(seconds=stale_seconds)):
            if job.attempts >= max_attempts:
                job.state = JobState.FAILED.value
                job.finished_at = now
                job.error = (
                    f"Its worker stopped responding {job.attempts} times; not retried again."
                )
            else:
                job.state = JobState.QUEUED.value
                job.worker_id = None
                job.message = f"re-queued after its worker stopped (attempt {job.attempts})"
                requeued.append(job.id)
        session.flush()
        waiting = [(JobKind(job.kind), job.id) for job in repository.queued()]
    for kind, job_id in waiting:
        queues.enqueue(kind, job_id)
    return requeued
