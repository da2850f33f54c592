"""Tables of the jobs slice: one row per queued piece of long work."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hallmark.db import Base, CreatedAtMixin, IdMixin


class JobKind(StrEnum):
    """What a job does; each kind has its own queue, so generation never waits behind training."""

    TRAIN_STYLE = "train_style"
    GENERATE_IMAGES = "generate_images"


class JobState(StrEnum):
    """queued -> running -> succeeded | failed | cancelled (running -> queued after a crash)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Whether the job will not change again."""
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class Job(IdMixin, CreatedAtMixin, Base):
    """A queued piece of work, its progress, and its outcome."""

    __tablename__ = "jobs"
    __table_args__ = (
        # A retried submission finds the first job instead of queuing the work again.
        UniqueConstraint("requester_id", "idempotency_key", name="uq_jobs_idempotency"),
    )

    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED.value, index=True)
    requester_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    style_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("style_models.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[float] = mapped_column(default=0.0)
    step: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    eta_seconds: Mapped[float | None]
    loss: Mapped[float | None]
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    heartbeat_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The client's Idempotency-Key, if it sent one (keys without a value never clash).
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
