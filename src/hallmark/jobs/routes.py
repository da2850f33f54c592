"""HTTP routes of jobs: start training or generation, watch, wait, cancel."""

from __future__ import annotations

import uuid
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from hallmark.deps import (
    BlobStoreDep,
    CurrentUser,
    InstanceDep,
    SessionDep,
    UserWithoutSession,
    blob_response,
)
from hallmark.errors import NotFound, Overloaded, TooManyRequests
from hallmark.jobs import service
from hallmark.jobs.models import JobState
from hallmark.jobs.schemas import GenerationAsk, GenerationQueued, JobPublic, TrainingRequest
from hallmark.rate_limits import RateLimiter
from hallmark.schemas import ErrorResponse
from hallmark.serving import LongPollSlots
from hallmark.styles import service as styles
from hallmark.styles.schemas import OwnershipNoticePublic

router = APIRouter(tags=["jobs"])
LONG_POLL_INTERVAL_SECONDS = 0.5
# Sent again with a retried request, it returns the job the first one queued (202, same id).
IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=128)]


@router.post(
    "/api/styles/{style_id}/train", response_model=JobPublic, status_code=status.HTTP_202_ACCEPTED
)
def train_style(
    style_id: uuid.UUID,
    body: TrainingRequest,
    user: CurrentUser,
    session: SessionDep,
    instance: InstanceDep,
    idempotency_key: IdempotencyKey = None,
) -> JobPublic:
    """Queue the training of your style; follow it at /api/jobs/{id}.

    Send an Idempotency-Key header and a retry of the request returns the same job.
    """
    job = service.submit_training(
        session,
        instance,
        instance.queues,
        user,
        style_id,
        body.model_dump(exclude_none=True),
        idempotency_key=idempotency_key,
    )
    return JobPublic.model_validate(job)


@router.post(
    "/api/styles/{style_id}/generate",
    response_model=GenerationQueued,
    status_code=status.HTTP_202_ACCEPTED,
    responses={428: {"model": ErrorResponse, "description": "First use of someone else's model"}},
)
def generate(
    request: Request,
    style_id: uuid.UUID,
    body: GenerationAsk,
    user: CurrentUser,
    session: SessionDep,
    instance: InstanceDep,
    idempotency_key: IdempotencyKey = None,
) -> GenerationQueued:
    """Queue a generation; it returns at once with a job to wait on (rate-limited per user).

    With someone else's model the images are its owner's (R4): the answer says so, and your
    first use of that model needs "acknowledge_ownership": true (428 without it). Send an
    Idempotency-Key header and a retry of the request returns the same job.
    """
    limiter: RateLimiter = request.app.state.generation_limiter
    wait = limiter.check(str(user.id))
    if wait:
        raise TooManyRequests(
            f"Too many generation requests; try again in {int(wait) + 1} s.", retry_after=wait
        )
    job = service.submit_generation(
        session,
        instance.queues,
        user,
        style_id,
        body.engine_request(),
        idempotency_key=idempotency_key,
        acknowledge_ownership=body.acknowledge_ownership,
    )
    style = styles.get_visible_style(session, user, job.style_id)
    notice = OwnershipNoticePublic.for_viewer(styles.notice_for_viewer(session, user, style))
    return GenerationQueued.model_validate(job).model_copy(update={"ownership_notice": notice})


@router.get("/api/jobs/{job_id}", response_model=JobPublic)
def read_job(job_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> JobPublic:
    """A job you started: state, progress, loss, ETA, outcome."""
    return JobPublic.model_validate(service.get_job(session, user, job_id))


@router.get(
    "/api/jobs/{job_id}/wait",
    response_model=JobPublic,
    responses={503: {"model": ErrorResponse, "description": "Every long-poll slot is taken"}},
)
async def wait_for_job(
    job_id: uuid.UUID,
    request: Request,
    user: UserWithoutSession,
    timeout: Annotated[float, Query(ge=0, le=60)] = 30,
) -> JobPublic:
    """Long-poll: answers when the job finishes, or with its progress when the timeout runs out.

    It waits on the event loop, holding neither a thread nor a database connection between
    its short reads of the job.
    """
    slots: LongPollSlots = request.app.state.long_polls
    if not slots.try_enter():
        raise Overloaded("Too many clients are waiting on jobs; poll again in a second.")
    try:
        factory = request.app.state.session_factory
        deadline = anyio.current_time() + timeout
        while True:
            job = await run_in_threadpool(service.read_job_briefly, factory, user, job_id)
            remaining = deadline - anyio.current_time()
            if JobState(job.state).finished or remaining <= 0:
                return JobPublic.model_validate(job)
            await anyio.sleep(min(LONG_POLL_INTERVAL_SECONDS, remaining))
    finally:
        slots.leave()


@router.get("/api/jobs/{job_id}/samples/{number}", response_class=FileResponse)
def read_sample(
    job_id: uuid.UUID, number: int, user: CurrentUser, session: SessionDep, blobs: BlobStoreDep
) -> Response:
    """One of the sample images a training has made so far (numbered from 0)."""
    samples = service.get_job(session, user, job_id).result.get("samples", [])
    if not 0 <= number < len(samples):
        raise NotFound("No such sample image.")
    return blob_response(blobs, samples[number], "image/png")


@router.post("/api/jobs/{job_id}/cancel", response_model=JobPublic)
def cancel_job(job_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> JobPublic:
    """Cancel: a queued job at once, a running training within one step (its checkpoint kept)."""
    return JobPublic.model_validate(service.cancel_job(session, user, job_id))
