"""All SQL of the jobs slice; claiming a job is one conditional UPDATE, so only one worker wins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update

from hallmark.jobs.models import Job, JobKind, JobState
from hallmark.repository import Repository


class JobRepository(Repository[Job]):
    """Jobs and their state changes."""

    model = Job
    not_found = "No such job."

    def find_by_idempotency_key(self, requester_id: uuid.UUID, key: str) -> Job | None:
        """The job a requester already submitted under this idempotency key, if any."""
        query = select(Job).where(Job.requester_id == requester_id, Job.idempotency_key == key)
        return self.session.scalars(query).one_or_none()

    def get_or_none(self, row_id: uuid.UUID | int, *, for_update: bool = False) -> Job | None:
        """A job by id, fresh from the database: its worker changes it in other transactions."""
        return self.session.get(
            Job,
            row_id,
            populate_existing=True,
            with_for_update=True if for_update else None,
        )

    def claim(
        self, job_id: uuid.UUID, worker_id: str, now: datetime, stale_before: datetime
    ) -> bool:
        """Take a queued job (or one whose worker went silent) for this worker; True if it won."""
        result = self.session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.cancel_requested.is_(False),
                or_(
                    Job.state == JobState.QUEUED.value,
                    (Job.state == JobState.RUNNING.value) & (Job.heartbeat_at < stale_before),
                ),
            )
            .values(
                state=JobState.RUNNING.value,
                worker_id=worker_id,
                heartbeat_at=now,
                started_at=now,
                attempts=Job.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def update_running(self, job_id: uuid.UUID, worker_id: str, **values: Any) -> bool:
        """Change a running job, only while this worker still holds it; False if it lost it."""
        result = self.session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.worker_id == worker_id,
                Job.state == JobState.RUNNING.value,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def hand_back(self, job_id: uuid.UUID, worker_id: str, message: str) -> bool:
        """Re-queue a job this worker holds without counting the attempt; False if it lost it."""
        result = self.session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.worker_id == worker_id,
                Job.state == JobState.RUNNING.value,
            )
            .values(
                state=JobState.QUEUED.value,
                worker_id=None,
                attempts=Job.attempts - 1,
                message=message,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def held_by_process(self, worker_prefix: str) -> list[Job]:
        """Running jobs whose worker id starts with the prefix (host:pid: of one process)."""
        query = select(Job).where(
            Job.state == JobState.RUNNING.value,
            Job.worker_id.startswith(worker_prefix, autoescape=True),
        )
        return list(self.session.scalars(query))

    def request_cancel(self, job_id: uuid.UUID) -> None:
        """Ask a running job's worker to stop at its next step."""
        self.session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(cancel_requested=True)
            .execution_options(synchronize_session=False)
        )

    def stale_running(self, stale_before: datetime) -> list[Job]:
        """Running jobs whose worker has not been heard from since `stale_before`."""
        query = select(Job).where(
            Job.state == JobState.RUNNING.value, Job.heartbeat_at < stale_before
        )
        return list(self.session.scalars(query))

    def queued(self) -> list[Job]:
        """Jobs waiting for a worker, oldest first."""
        query = select(Job).where(Job.state == JobState.QUEUED.value).order_by(Job.created_at)
        return list(self.session.scalars(query))

    def active_trainings_of(self, user_id: uuid.UUID) -> int:
        """How many of the user's trainings are queued or running."""
        return self._count(
            Job.requester_id == user_id,
            Job.kind == JobKind.TRAIN_STYLE.value,
            Job.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]),
        )

    def of_requester(self, user_id: uuid.UUID, limit: int = 50) -> list[Job]:
        """The user's jobs, newest first."""
        query = select(Job).where(Job.requester_id == user_id).order_by(Job.created_at.desc())
        return list(self.session.scalars(query.limit(limit)))
