"""Use cases of jobs: submit, watch, cancel, and recover work whose worker died."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hallmark.accounts.models import User
from hallmark.artworks.service import list_trainable_artworks
from hallmark.db import after_transaction, transaction, utcnow, write_transaction
from hallmark.engines import EngineError, training_defaults
from hallmark.errors import Conflict, InvalidInput, NotFound
from hallmark.generations.service import check_may_generate
from hallmark.instance import Instance
from hallmark.jobs.models import Job, JobKind, JobState
from hallmark.jobs.queue import BROKER_ERRORS, JobQueues, describe_error
from hallmark.jobs.repository import JobRepository
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.repository import StyleRepository
from hallmark.styles.service import (
    DEFAULT_ENGINE,
    MAX_TRAINING_WORKS,
    check_ownership_acknowledged,
    create_style,
    get_visible_style,
    owned_style,
    set_style_status,
)

logger = logging.getLogger(__name__)
Enqueue = Callable[[JobKind, uuid.UUID], None]
MAX_IDEMPOTENCY_KEY = 128


def _check_idempotency_key(key: str | None) -> str | None:
    if key is not None and (not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable()):
        raise InvalidInput(
            f"An idempotency key is 1 to {MAX_IDEMPOTENCY_KEY} printable characters; send the "
            "same key when you retry a request."
        )
    return key


def _same_submission(
    existing: Job, kind: JobKind, style_id: uuid.UUID, payload: dict[str, Any]
) -> Job:
    """A retried submission gets the first job; the key reused for other work is refused."""
    if (existing.kind, existing.style_id, existing.payload) != (kind.value, style_id, payload):
        raise Conflict(
            "This idempotency key was already used for a different request; use a new key."
        )
    return existing


def _earlier_submission(
    session: Session,
    requester: User,
    key: str | None,
    kind: JobKind,
    style_id: uuid.UUID,
    payload: dict[str, Any],
) -> Job | None:
    """The job an earlier request with the same idempotency key submitted, if any."""
    if key is None:
        return None
    existing = JobRepository(session).find_by_idempotency_key(requester.id, key)
    return None if existing is None else _same_submission(existing, kind, style_id, payload)


def _submit(session: Session, queues: JobQueues, job: Job) -> Job:
    """Store the job, and put it on its queue once the row is committed, never before.

    The committed row is the record: if the broker is away the enqueue is only logged, and the
    watchdog's sweep (`recover_jobs`) queues the job later. Two requests racing with one
    idempotency key both get the job the first one stored.
    """
    repository = JobRepository(session)
    key = job.idempotency_key
    if key is None:
        repository.add(job)
    else:
        try:
            with session.begin_nested():
                repository.add(job)
        except IntegrityError:
            again = repository.find_by_idempotency_key(job.requester_id, key)
            if again is None:
                raise
            return _same_submission(again, JobKind(job.kind), job.style_id, job.payload)
    kind, job_id = JobKind(job.kind), job.id

    def enqueue() -> None:
        queues.try_enqueue(kind, job_id)

    after_transaction(session, committed=enqueue)
    return job


def submit_training(
    session: Session,
    instance: Instance,
    queues: JobQueues,
    owner: User,
    style_id: uuid.UUID,
    settings: dict[str, Any],
    *,
    idempotency_key: str | None = None,
) -> Job:
    """Queue the training of the owner's style, within the per-user limit of concurrent runs.

    A retry with the same idempotency key returns the first job and queues nothing more.
    """
    key = _check_idempotency_key(idempotency_key)
    payload = dict(settings)
    earlier = _earlier_submission(session, owner, key, JobKind.TRAIN_STYLE, style_id, payload)
    if earlier is not None:
        return earlier
    style = owned_style(session, owner, style_id)
    limit = instance.settings.max_trainings_per_user
    if JobRepository(session).active_trainings_of(owner.id) >= limit:
        raise Conflict(
            f"You already have {limit} trainings queued or running; wait for one to finish."
        )
    try:
        total = int(settings.get("steps") or training_defaults(style.engine).get("steps", 0))
    except EngineError as error:  # the style's engine is no longer installed
        raise InvalidInput(str(error)) from None
    return _submit(
        session,
        queues,
        Job(
            kind=JobKind.TRAIN_STYLE.value,
            requester_id=owner.id,
            style_id=style.id,
            payload=payload,
            total=total,
            idempotency_key=key,
        ),
    )


def train_new_style(
    session: Session,
    instance: Instance,
    owner: User,
    name: str,
    artwork_ids: Sequence[uuid.UUID] | None = None,
    *,
    engine: str = DEFAULT_ENGINE,
    base_model: str = "",
    knobs: dict[str, Any] | None = None,
) -> tuple[StyleModel, Job]:
    """Define a style on the owner's works (by default every one that allows training, R2) and
    queue its training: the one use case behind the page, the command line and the tour."""
    if artwork_ids is None:
        chosen = list_trainable_artworks(session, owner, limit=MAX_TRAINING_WORKS)
        artwork_ids = [artwork.id for artwork in chosen]
    style = create_style(session, owner, name, artwork_ids, engine=engine, base_model=base_model)
    job = submit_training(session, instance, instance.queues, owner, style.id, knobs or {})
    return style, job


def submit_generation(
    session: Session,
    queues: JobQueues,
    maker: User,
    style_id: uuid.UUID,
    request: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    acknowledge_ownership: bool = False,
) -> Job:
    """Queue a generation with a style the maker may use (R5); the answer comes back at once.

    With someone else's model the maker first acknowledges, once, that the images will be its
    owner's (R4). A retry with the same idempotency key returns the first job and queues nothing
    more.
    """
    key = _check_idempotency_key(idempotency_key)
    payload = dict(request)
    earlier = _earlier_submission(session, maker, key, JobKind.GENERATE_IMAGES, style_id, payload)
    if earlier is not None:
        return earlier
    style = get_visible_style(session, maker, style_id)
    check_may_generate(maker, style)
    check_ownership_acknowledged(session, maker, style, acknowledge=acknowledge_ownership)
    return _submit(
        session,
        queues,
        Job(
            kind=JobKind.GENERATE_IMAGES.value,
            requester_id=maker.id,
            style_id=style.id,
            payload=payload,
            total=int(request.get("count", 1)),
            idempotency_key=key,
        ),
    )


def get_job(session: Session, user: User, job_id: uuid.UUID) -> Job:
    """A job for the person who asked for it; to anyone else it does not exist."""
    job = JobRepository(session).get_or_none(job_id)
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


def read_job_briefly(factory: sessionmaker[Session], user: User, job_id: uuid.UUID) -> Job:
    """The job as it stands, read in a transaction of its own that ends before this returns.

    Long-polls call it between waits, so a waiting client holds no database connection.
    """
    with transaction(factory, read_only=True) as session:
        job = get_job(session, user, job_id)
        session.expunge(job)
    return job


def recover_jobs(
    factory: sessionmaker[Session], queues: JobQueues, *, stale_seconds: float, max_attempts: int
) -> list[uuid.UUID]:
    """Re-queue jobs whose worker went silent (or fail them after max_attempts), and put on the
    broker every queued job it lacks.

    The jobs table is the outbox and the broker only delivers: a crash, or a broker outage,
    between a job's commit and its enqueue loses nothing, and a broker that is away is logged
    and tried again at the next sweep. Claiming is atomic, so a job queued twice still runs
    once. Returns the ids re-queued after a silent worker.
    """
    now = utcnow()
    requeued: list[uuid.UUID] = []
    with write_transaction(factory) as session:
        repository = JobRepository(session)
        for job in repository.stale_running(now - timedelta(seconds=stale_seconds)):
            if job.cancel_requested:
                _cancel_abandoned(session, job)
            elif job.attempts >= max_attempts:
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
    for kind in JobKind:
        deliver_missing(queues, kind, [job_id for of, job_id in waiting if of is kind])
    return requeued


def deliver_missing(queues: JobQueues, kind: JobKind, queued: list[uuid.UUID]) -> int:
    """Put on a kind's queue those of its queued jobs the broker holds no message for.

    Counting the messages first spares reading them all when there are at least as many as
    queued jobs (the usual case). Returns how many were put on the queue; 0 if the broker is
    away (logged).
    """
    if not queued:
        return 0
    try:
        if queues.pending(kind) >= len(queued):
            return 0
        on_queue = queues.pending_job_ids(kind)
        missing = [job_id for job_id in queued if job_id not in on_queue]
        for job_id in missing:
            queues.enqueue(kind, job_id)
    except BROKER_ERRORS as error:
        logger.warning(
            "could not put queued %s jobs on the broker (%s); the next sweep tries again",
            kind.value,
            describe_error(error),
        )
        return 0
    return len(missing)


def release_jobs_of_process(
    factory: sessionmaker[Session], queues: JobQueues, worker_prefix: str, message: str
) -> list[uuid.UUID]:
    """Re-queue the jobs a stopping process's workers still hold, without spending an attempt.

    `worker_prefix` is the process's "host:pid:"; a job its requester asked to cancel is
    cancelled instead. Returns the ids re-queued.
    """
    released: list[tuple[JobKind, uuid.UUID]] = []
    with write_transaction(factory) as session:
        for job in JobRepository(session).held_by_process(worker_prefix):
            if job.cancel_requested:
                _cancel_abandoned(session, job)
                continue
            job.state, job.worker_id, job.message = JobState.QUEUED.value, None, message
            job.attempts = max(job.attempts - 1, 0)
            released.append((JobKind(job.kind), job.id))
    for kind, job_id in released:
        queues.try_enqueue(kind, job_id)
    return [job_id for _, job_id in released]


def _cancel_abandoned(session: Session, job: Job) -> None:
    """Cancel a job whose requester cancelled it and whose worker stopped before it noticed.

    Re-queued, it could never be claimed again (claims skip jobs asked to cancel).
    """
    job.state, job.finished_at = JobState.CANCELLED.value, utcnow()
    job.message = "cancelled; its worker stopped before it noticed"
    if job.kind == JobKind.TRAIN_STYLE.value:
        style = StyleRepository(session).get_or_none(job.style_id)
        if style is not None and style.status == StyleStatus.TRAINING.value:
            set_style_status(session, style, StyleStatus.DRAFT)
