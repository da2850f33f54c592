"""Running one job in a worker: claim it, heartbeat while it runs, record how it ended."""

from __future__ import annotations

import io
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hallmark.accounts.repository import UserRepository
from hallmark.db import transaction, utcnow, write_transaction
from hallmark.engines import (
    EngineError,
    GenerationRequest,
    Progress,
    TrainingStopped,
    generation_defaults_for,
)
from hallmark.errors import AppError
from hallmark.generations.service import (
    GenerationPlan,
    SignedGeneration,
    make_images,
    plan_generation,
    sign_generations,
    store_generation,
)
from hallmark.instance import Instance
from hallmark.jobs.models import Job, JobKind, JobState
from hallmark.jobs.repository import JobRepository
from hallmark.styles.artifacts import (
    StoredCheckpoint,
    newest_training_checkpoint,
    restore_checkpoint,
    store_checkpoint,
    store_model,
)
from hallmark.styles.models import StyleStatus
from hallmark.styles.repository import StyleRepository
from hallmark.styles.training import (
    TrainingPlan,
    load_artifact,
    plan_training,
    record_training_outcome,
    run_training,
)

logger = logging.getLogger(__name__)
MAX_SAMPLES = 8
PLAN_ATTEMPTS = 3
SHUTDOWN_MESSAGE = "re-queued: its worker was shut down"
# Training knobs a job may set; anything else in its payload is ignored.
TRAINING_SETTINGS = {
    "steps",
    "resolution",
    "rank",
    "alpha",
    "learning_rate",
    "batch_size",
    "gradient_accumulation",
    "checkpoint_every",
    "device",
    "min_side",
    "trigger",
    "seed",
    "mixed_precision",
    "gradient_checkpointing",
    "caption_dropout",
    "validation_every",
}


def worker_process() -> str:
    """The start of every worker id of this process: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}:"


def worker_name() -> str:
    """This worker's id: host, process and thread."""
    return f"{worker_process()}{threading.get_ident()}"


class JobRunner:
    """Executes jobs for one instance; safe to call from several worker threads."""

    def __init__(self, instance: Instance, factory: sessionmaker[Session]) -> None:
        self.instance = instance
        self.factory = factory
        self.settings = instance.settings
        self._shutting_down = threading.Event()
        self._beats: dict[uuid.UUID, _Heartbeat] = {}
        self._beats_lock = threading.Lock()
        # Jobs this runner gave back to the queue because the process is shutting down.
        self.handed_back: list[uuid.UUID] = []

    def shut_down(self) -> None:
        """Take no new job, and ask running trainings to stop at their next step."""
        self._shutting_down.set()
        with self._beats_lock:
            for beat in self._beats.values():
                beat.shutdown.set()

    def __call__(self, job_id: uuid.UUID) -> None:
        """Run the job if this worker wins it; otherwise someone else has it, or it is over."""
        if self._shutting_down.is_set():
            self._put_back(job_id)
            return
        worker = worker_name()
        now = utcnow()
        with write_transaction(self.factory) as session:
            stale = now - timedelta(seconds=self.settings.job_stale_seconds)
            if not JobRepository(session).claim(job_id, worker, now, stale):
                return
        with self.factory() as session:
            job = JobRepository(session).get(job_id)
            kind, payload = JobKind(job.kind), dict(job.payload)
            requester_id, style_id = job.requester_id, job.style_id
        beat = _Heartbeat(self.factory, job_id, worker, self.settings.heartbeat_seconds)
        with self._beats_lock:
            self._beats[job_id] = beat
            if self._shutting_down.is_set():
                beat.shutdown.set()
        beat.start()
        try:
            if kind is JobKind.TRAIN_STYLE:
                self._train(job_id, worker, requester_id, style_id, payload, beat)
            else:
                self._generate(job_id, worker, requester_id, style_id, payload)
        except Exception as error:  # an unforeseen failure: retried, then failed with its error
            logger.exception("job %s failed", job_id)
            self._retry_or_fail(job_id, worker, kind, f"{type(error).__name__}: {error}")
        finally:
            beat.stop()
            with self._beats_lock:
                self._beats.pop(job_id, None)

    def _put_back(self, job_id: uuid.UUID) -> None:
        """Return a job taken off the queue as the process stops, for another worker to run."""
        with self.factory() as session:
            job = JobRepository(session).get_or_none(job_id)
            if job is None or job.state != JobState.QUEUED.value:
                return
            kind = JobKind(job.kind)
        self.instance.queues.try_enqueue(kind, job_id)

    def _hand_back(self, job_id: uuid.UUID, worker: str, kind: JobKind) -> None:
        """Re-queue a job stopped because its worker is shutting down; the attempt is not spent."""
        with write_transaction(self.factory) as session:
            if not JobRepository(session).hand_back(job_id, worker, SHUTDOWN_MESSAGE):
                return
        self.handed_back.append(job_id)
        self.instance.queues.try_enqueue(kind, job_id)

    def _retry_or_fail(self, job_id: uuid.UUID, worker: str, kind: JobKind, error: str) -> None:
        with write_transaction(self.factory) as session:
            job = JobRepository(session).get_or_none(job_id)
            if job is None or job.worker_id != worker or job.state != JobState.RUNNING.value:
                return
            job.error = error
            if job.attempts >= self.settings.job_max_attempts:
                job.state, job.finished_at = JobState.FAILED.value, utcnow()
                return
            job.state, job.worker_id = JobState.QUEUED.value, None
            job.message = f"retrying after attempt {job.attempts} failed"
        self.instance.queues.try_enqueue(kind, job_id)

    # ------------------------------------------------------------------------------ training

    def _train(
        self,
        job_id: uuid.UUID,
        worker: str,
        requester_id: uuid.UUID,
        style_id: uuid.UUID,
        payload: dict[str, Any],
        beat: _Heartbeat,
    ) -> None:
        knobs = {key: value for key, value in payload.items() if key in TRAINING_SETTINGS}
        try:
            plan = self._plan_training(requester_id, style_id, knobs)
        except (AppError, TypeError) as error:
            self._finish(job_id, worker, JobState.FAILED, error=str(error))
            return

        last_write = [0.0]
        with transaction(self.factory, read_only=True) as session:
            job = JobRepository(session).get_or_none(job_id)
            earlier: dict[str, Any] = dict(job.result) if job is not None else {}
        result: dict[str, Any] = {"samples": list(earlier.get("samples", []))}
        # A checkpoint an earlier attempt stored (perhaps on another host) is where this one
        # starts; each newer checkpoint is stored as soon as the engine has written it.
        stored = StoredCheckpoint.from_result(earlier.get("checkpoint"))
        if stored is not None:
            restore_checkpoint(self.instance, plan.config.output_dir, stored)
            result["checkpoint"] = stored.as_result()
        newest = [stored.step if stored else 0]

        def keep_checkpoint() -> bool:
            found = newest_training_checkpoint(plan.config.output_dir)
            if found is None or found[1] <= newest[0]:
                return False
            kept = store_checkpoint(self.instance, plan.config.output_dir, *found)
            result["checkpoint"], newest[0] = kept.as_result(), kept.step
            return True

        def report(progress: Progress) -> None:
            now = time.monotonic()
            resumed = progress.message.startswith("resumed")
            if resumed:
                result["resumed_from_step"] = progress.step
            for image in progress.images:  # sample images, kept for the job's page
                buffer = io.BytesIO()
                image.save(buffer, format="PNG")
                stored = self.instance.blobs.put(buffer.getvalue())
                result["samples"] = [*result["samples"], stored.sha256][-MAX_SAMPLES:]
            checkpointed = keep_checkpoint()
            urgent = (
                resumed or checkpointed or bool(progress.images) or progress.step >= progress.total
            )
            if now - last_write[0] < 0.5 and not urgent:
                return
            last_write[0] = now
            try:
                still_mine = self._record_progress(job_id, worker, progress, dict(result))
            except OperationalError:  # the next report will get through; training goes on
                return
            if not still_mine:
                beat.lost.set()

        try:
            run_training(plan, report, beat.should_stop)
        except TrainingStopped:
            if beat.cancelled.is_set():
                with write_transaction(self.factory) as session:
                    record_training_outcome(session, style_id, StyleStatus.DRAFT)
                self._finish(
                    job_id, worker, JobState.CANCELLED, message="cancelled; checkpoint kept"
                )
            elif beat.shutdown.is_set() and not beat.lost.is_set():
                # The style stays in training: the next worker resumes from the checkpoint.
                self._hand_back(job_id, worker, JobKind.TRAIN_STYLE)
            # Otherwise another worker took the job over and carries on from the checkpoint.
            return
        except EngineError as error:
            with write_transaction(self.factory) as session:
                record_training_outcome(session, style_id, StyleStatus.FAILED)
            self._finish(job_id, worker, JobState.FAILED, error=str(error))
            return
        artifact = store_model(self.instance, plan.config.output_dir)
        with write_transaction(self.factory) as session:
            record_training_outcome(session, style_id, StyleStatus.READY, artifact)
        self._finish(job_id, worker, JobState.SUCCEEDED, message="trained", progress=1.0)

    def _plan_training(
        self, requester_id: uuid.UUID, style_id: uuid.UUID, knobs: dict[str, Any]
    ) -> TrainingPlan:
        """Check and read what the training needs, holding no write lock while files are read.

        plan_training reads the works, decodes their files and loads the engine, and writes only
        the style's status, at its end: in a deferred transaction SQLite takes its write lock just
        for that moment. Should another writer commit in between, SQLite refuses the upgrade and
        the plan is read again; the last try takes the write lock from the start.
        """
        for attempt in range(PLAN_ATTEMPTS):
            try:
                with transaction(self.factory, immediate=attempt == PLAN_ATTEMPTS - 1) as session:
                    owner = UserRepository(session).get(requester_id)
                    return plan_training(session, self.instance, owner, style_id, knobs)
            except OperationalError:
                if attempt == PLAN_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _record_progress(
        self, job_id: uuid.UUID, worker: str, progress: Progress, result: dict[str, Any]
    ) -> bool:
        with write_transaction(self.factory) as session:
            return JobRepository(session).update_running(
                job_id,
                worker,
                step=progress.step,
                total=progress.total,
                progress=progress.step / max(progress.total, 1),
                loss=progress.loss,
                eta_seconds=progress.eta_seconds,
                message=progress.message,
                heartbeat_at=utcnow(),
                result=result,
            )

    # ---------------------------------------------------------------------------- generation

    def _generate(
        self,
        job_id: uuid.UUID,
        worker: str,
        requester_id: uuid.UUID,
        style_id: uuid.UUID,
        payload: dict[str, Any],
    ) -> None:
        try:
            # 1. A short read: may the maker use the style (R5), who owns the images, the model.
            with transaction(self.factory) as session:
                maker = UserRepository(session).get(requester_id)
                style = StyleRepository(session).get(style_id)
                # The engine's defaults, then its base's (few steps for a distilled one), then
                # what the request asked for.
                defaults = generation_defaults_for(style.engine, style.base_model)
                request = GenerationRequest(**{**defaults, **payload})
                plan = plan_generation(session, maker, style)
                artifact = load_artifact(self.instance, style)
                job = JobRepository(session).get_or_none(job_id)
                # Images an earlier attempt of this job already stored are not stored twice.
                ids: list[str] = list(job.result.get("generation_ids", [])) if job else []
            # 2. The engine, then signing and hashing, outside any transaction.
            images = make_images(artifact, plan.engine, request)
            for signed in sign_generations(self.instance, plan, request, images, len(ids)):
                # 3. Each image in its own short write transaction, with the job's progress.
                if not self._store_image(job_id, worker, plan, signed, ids, len(images)):
                    return  # the job was taken from this worker; its new worker carries on
        except (AppError, EngineError, TypeError) as error:  # EngineError: engine uninstalled
            self._finish(job_id, worker, JobState.FAILED, error=str(error))
            return
        self._finish(
            job_id, worker, JobState.SUCCEEDED, result={"generation_ids": ids}, progress=1.0
        )

    def _store_image(
        self,
        job_id: uuid.UUID,
        worker: str,
        plan: GenerationPlan,
        signed: SignedGeneration,
        ids: list[str],
        total: int,
    ) -> bool:
        """Store one image and note it on the job, only while this worker holds the job."""
        try:
            with write_transaction(self.factory) as session:
                generation = store_generation(session, self.instance, plan, signed)
                stored = [*ids, str(generation.id)]
                if not JobRepository(session).update_running(
                    job_id,
                    worker,
                    result={"generation_ids": stored},
                    step=len(stored),
                    progress=len(stored) / max(total, 1),
                    heartbeat_at=utcnow(),
                ):
                    raise _JobLost
        except _JobLost:
            return False
        ids.append(str(generation.id))
        return True

    def _finish(self, job_id: uuid.UUID, worker: str, state: JobState, **values: Any) -> None:
        with write_transaction(self.factory) as session:
            JobRepository(session).update_running(
                job_id, worker, state=state.value, finished_at=utcnow(), **values
            )


class _JobLost(Exception):
    """Raised inside a transaction to roll it back: the job is no longer this worker's."""


class _Heartbeat:
    """A thread that tells the database this worker is alive, and notices a cancel request."""

    def __init__(
        self, factory: sessionmaker[Session], job_id: uuid.UUID, worker: str, interval: float
    ) -> None:
        self.factory, self.job_id, self.worker, self.interval = factory, job_id, worker, interval
        self.cancelled = threading.Event()
        self.lost = threading.Event()
        self.shutdown = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"heartbeat-{job_id}")

    def should_stop(self) -> bool:
        """Whether training should stop at the next step: cancelled, taken over, or shut down."""
        return self.cancelled.is_set() or self.lost.is_set() or self.shutdown.is_set()

    def start(self) -> None:
        self._beat()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.interval + 1)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._beat()

    def _beat(self) -> None:
        try:
            with write_transaction(self.factory) as session:
                repository = JobRepository(session)
                if not repository.update_running(self.job_id, self.worker, heartbeat_at=utcnow()):
                    self.lost.set()  # re-queued after a silence, or finished elsewhere
                    return
                job = repository.get_or_none(self.job_id)
                if job is not None and job.cancel_requested:
                    self.cancelled.set()
        except Exception:  # a missed beat is retried at the next interval
            logger.exception("heartbeat failed")


class WorkerPool:
    """Worker threads for both queues and a watchdog that re-queues jobs of dead workers."""

    def __init__(self, instance: Instance, factory: sessionmaker[Session]) -> None:
        from hallmark.jobs.queue import InProcessWorkers

        self.instance, self.factory = instance, factory
        settings = instance.settings
        self.runner = JobRunner(instance, factory)
        instance.queues.runner = self.runner
        self.workers = InProcessWorkers(
            instance.queues,
            {
                JobKind.TRAIN_STYLE: settings.training_workers,
                JobKind.GENERATE_IMAGES: settings.generation_workers,
            },
        )
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, daemon=True, name="job-watchdog")

    def start(self) -> None:
        """Recover what an earlier process left, then start taking jobs.

        The watchdog thread first sweeps blob files no row uses (`sweep_orphan_blobs`), then
        re-queues the jobs of silent workers every job_stale_seconds / 3.
        """
        self.recover()
        self.workers.start()
        self._watchdog.start()

    def recover(self) -> list[uuid.UUID]:
        """Re-queue jobs whose worker went silent; fail those that used up their attempts."""
        from hallmark.jobs.service import recover_jobs

        settings = self.instance.settings
        return recover_jobs(
            self.factory,
            self.instance.queues,
            stale_seconds=settings.job_stale_seconds,
            max_attempts=settings.job_max_attempts,
        )

    def sweep_blobs(self) -> int:
        """Delete blob files that no row uses and that are older than blob_grace_seconds."""
        from hallmark.blob_lifecycle import sweep_orphan_blobs

        grace = self.instance.settings.blob_grace_seconds
        return sweep_orphan_blobs(self.factory, self.instance.blobs, grace)

    def _watch(self) -> None:
        try:
            self.sweep_blobs()
        except Exception:
            logger.exception("sweeping unused blob files failed")
        interval = max(1.0, self.instance.settings.job_stale_seconds / 3)
        while not self._stop.wait(interval):
            try:
                self.recover()
            except Exception:
                logger.exception("job recovery failed")

    def health(self) -> dict[str, Any]:
        """The queue's health with this process's workers, for /api/health.

        `{"queue": "ok" | "unreachable", "backend": "sqlite" | "redis", "error": str | None,
        "workers": {"train_style": {"threads": 1, "alive": 1, "broker": "ok" | "unreachable",
        "last_error": str | None, "failing_since": ISO 8601 str | None}, "generate_images": ...}}`
        ("queue" and "error" come from a ping with a 1 s timeout; "broker" from the threads' own
        last try at the queue).
        """
        report = self.instance.queues.health()
        report["workers"] = self.workers.health()
        return report

    def stop(self) -> list[uuid.UUID]:
        """Stop taking jobs and give back the ones running here, without spending an attempt.

        Trainings stop at their next step (their checkpoint kept, their style still training);
        whatever is still running after job_shutdown_seconds, a generation in its engine, is
        re-queued all the same, and its worker's later writes are refused. Returns the ids of
        the jobs re-queued.
        """
        from hallmark.jobs.service import release_jobs_of_process

        self._stop.set()
        self.runner.shut_down()
        self.workers.stop(self.instance.settings.job_shutdown_seconds)
        released = release_jobs_of_process(
            self.factory, self.instance.queues, worker_process(), SHUTDOWN_MESSAGE
        )
        if self._watchdog.is_alive():
            self._watchdog.join(1.0)
        return [*self.runner.handed_back, *released]


def run_here(
    instance: Instance,
    job_id: uuid.UUID,
    on_update: Callable[[Job], None] = lambda job: None,
    *,
    poll_seconds: float = 0.5,
) -> Job:
    """Run a queued job in this process (unless a worker already took it) and return it finished.

    The same runner a worker uses, so a command line or the demo takes exactly the path an API
    request does; `on_update` sees the job's row at each poll. Ctrl-C asks the job to stop at
    its next step (a training keeps its checkpoint) and waits for it.
    """
    runner = threading.Thread(
        target=JobRunner(instance, instance.sessions), args=(job_id,), daemon=True
    )
    runner.start()
    try:
        while True:
            with transaction(instance.sessions, read_only=True) as session:
                job = JobRepository(session).get(job_id)
            on_update(job)
            if JobState(job.state).finished:
                return job
            runner.join(poll_seconds)
    except KeyboardInterrupt:
        with write_transaction(instance.sessions) as session:
            JobRepository(session).request_cancel(job_id)
        runner.join()
        raise
