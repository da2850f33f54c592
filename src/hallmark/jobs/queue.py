"""The Huey queues: SQLite in the data directory by default, Redis to share work between hosts.

Training and generation have separate queues, and so separate workers: a long training never
holds up a generation. The task only carries a job id; everything else is in the jobs table.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey

from hallmark.config import Settings
from hallmark.errors import InvalidInput
from hallmark.jobs.models import JobKind

logger = logging.getLogger(__name__)
QUEUE_NAMES = {
    JobKind.TRAIN_STYLE: "hallmark-training",
    JobKind.GENERATE_IMAGES: "hallmark-generation",
}
JobRunner = Callable[[uuid.UUID], None]


def make_huey(settings: Settings, kind: JobKind) -> Huey:
    """The Huey instance for one kind of job, as the settings choose."""
    name = QUEUE_NAMES[kind]
    if settings.queue == "sqlite":
        settings.ensure_data_dir()
        return SqliteHuey(name, filename=str(settings.data_dir / "queue.db"), results=False)
    if settings.queue.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=settings.queue, results=False)
    raise InvalidInput(
        f"HALLMARK_QUEUE must be 'sqlite' or a redis:// URL, not '{settings.queue}'."
    )


@dataclass
class JobQueues:
    """The two queues and the one task each runs: `run_job(job_id)`."""

    settings: Settings
    runner: JobRunner | None = None
    hueys: dict[JobKind, Huey] = field(default_factory=dict)
    tasks: dict[JobKind, Any] = field(default_factory=dict)
    # Set on every enqueue, so workers in this process start at once instead of at their next poll.
    wakeup: dict[JobKind, threading.Event] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind in JobKind:
            huey = make_huey(self.settings, kind)
            self.tasks[kind] = huey.task(name="run_job")(self._run)
            self.hueys[kind] = huey
            self.wakeup[kind] = threading.Event()

    def _run(self, job_id: str) -> None:
        if self.runner is None:
            raise RuntimeError("this process has no job runner; start it with `hallmark worker`")
        self.runner(uuid.UUID(job_id))

    def enqueue(self, kind: JobKind, job_id: uuid.UUID) -> None:
        """Put a job on its kind's queue."""
        self.tasks[kind](str(job_id))
        self.wakeup[kind].set()

    def pending(self, kind: JobKind) -> int:
        """Messages waiting on a queue."""
        return int(self.hueys[kind].pending_count())


class InProcessWorkers:
    """Threads that take tasks off the queues inside this process (for `hallmark serve`)."""

    # An idle worker polls the queue (another process may have filled it), backing off from
    # 10 ms to half a second; a job queued by this process wakes it at once.
    FIRST_WAIT, LONGEST_WAIT = 0.01, 0.5

    def __init__(self, queues: JobQueues, counts: dict[JobKind, int]):
        self.queues = queues
        self.counts = counts
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the worker threads."""
        for kind, count in self.counts.items():
            for number in range(count):
                thread = threading.Thread(
                    target=self._loop,
                    args=(kind,),
                    name=f"{QUEUE_NAMES[kind]}-{number}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)

    def _loop(self, kind: JobKind) -> None:
        huey, wakeup = self.queues.hueys[kind], self.queues.wakeup[kind]
        wait = self.FIRST_WAIT
        while not self._stop.is_set():
            task = huey.dequeue()
            if task is None:
                if wakeup.wait(wait):
                    wakeup.clear()
                    wait = self.FIRST_WAIT
                else:
                    wait = min(wait * 1.5, self.LONGEST_WAIT)
                continue
            wait = self.FIRST_WAIT
            try:
                huey.execute(task)
            except Exception:  # a task's own failure is recorded on its job; keep serving
                logger.exception("job task failed")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking tasks and wait for running ones to finish."""
        self._stop.set()
        for event in self.queues.wakeup.values():
            event.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
