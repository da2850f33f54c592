"""The Huey queues: SQLite in the data directory by default, Redis to share work between hosts.

Training and generation have separate queues, and so separate workers: a long training never
holds up a generation. The task only carries a job id; everything else is in the jobs table.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from huey import Huey, RedisHuey, SqliteHuey

from hallmark.config import Settings
from hallmark.db import utcnow
from hallmark.errors import InvalidInput
from hallmark.jobs.models import JobKind

logger = logging.getLogger(__name__)
QUEUE_NAMES = {
    JobKind.TRAIN_STYLE: "hallmark-training",
    JobKind.GENERATE_IMAGES: "hallmark-generation",
}
SQLITE_QUEUE_FILE = "queue.db"
# What a broker that went away raises: Redis's own errors, SQLite's, and the sockets' below them.
BROKER_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, sqlite3.Error, OSError)
JobRunner = Callable[[uuid.UUID], None]


def make_huey(settings: Settings, kind: JobKind) -> Huey:
    """The Huey instance for one kind of job, as the settings choose."""
    name = QUEUE_NAMES[kind]
    if settings.queue == "sqlite":
        settings.ensure_data_dir()
        filename = str(settings.data_dir / SQLITE_QUEUE_FILE)
        return SqliteHuey(name, filename=filename, results=False)
    if settings.queue.startswith(("redis://", "rediss://", "unix://")):
        # Without timeouts, a broker that stops answering (rather than refusing) would hang every
        # enqueue and dequeue; blocking dequeues wait 1 s, well within the timeout.
        timeout = settings.queue_timeout_seconds
        pool = redis.ConnectionPool.from_url(
            settings.queue, socket_connect_timeout=timeout, socket_timeout=timeout
        )
        return RedisHuey(name, connection_pool=pool, results=False)
    raise InvalidInput(
        f"HALLMARK_QUEUE must be 'sqlite' or a redis:// URL, not '{settings.queue}'."
    )


def describe_error(error: BaseException) -> str:
    """An exception in one line, for logs and the health report."""
    return f"{type(error).__name__}: {error}"


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

    @property
    def backend(self) -> str:
        """Where the messages are kept: "sqlite" or "redis"."""
        return "sqlite" if self.settings.queue == "sqlite" else "redis"

    def enqueue(self, kind: JobKind, job_id: uuid.UUID) -> None:
        """Put a job on its kind's queue; raises one of BROKER_ERRORS if the broker is away."""
        self.tasks[kind](str(job_id))
        self.wakeup[kind].set()

    def try_enqueue(self, kind: JobKind, job_id: uuid.UUID) -> bool:
        """Put a job on its queue, or log why not: its committed row stays queued, and the
        watchdog's sweep (`recover_jobs`) puts it on the queue once the broker is back."""
        try:
            self.enqueue(kind, job_id)
        except BROKER_ERRORS as error:
            logger.warning(
                "job %s stays queued in the database only, the broker is unreachable (%s); "
                "the watchdog will queue it again",
                job_id,
                describe_error(error),
            )
            return False
        return True

    def pending(self, kind: JobKind) -> int:
        """Messages waiting on a queue."""
        return int(self.hueys[kind].pending_count())

    def pending_job_ids(self, kind: JobKind) -> set[uuid.UUID]:
        """The jobs whose messages wait on a queue (each read and decoded: not for hot paths)."""
        found = set()
        for task in self.hueys[kind].pending():
            if task.args:
                found.add(uuid.UUID(str(task.args[0])))
        return found

    def ping(self, timeout: float = 1.0) -> str | None:
        """None if the broker answers within `timeout` seconds, else what went wrong."""
        try:
            if self.backend == "sqlite":
                path = (self.settings.data_dir / SQLITE_QUEUE_FILE).resolve()
                connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=timeout)
                try:
                    connection.execute("SELECT count(*) FROM task").fetchone()
                finally:
                    connection.close()
            else:
                client = redis.Redis.from_url(
                    self.settings.queue, socket_connect_timeout=timeout, socket_timeout=timeout
                )
                try:
                    client.ping()
                finally:
                    client.close()
        except Exception as error:  # whatever stops the ping is the answer
            return describe_error(error)
        return None

    def health(self, timeout: float = 1.0) -> dict[str, Any]:
        """Whether the broker answers, for /api/health (no worker threads in this view).

        `{"queue": "ok" | "unreachable", "backend": "sqlite" | "redis", "workers": {},
        "error": None | "ConnectionError: ..."}`; WorkerPool.health() fills in "workers".
        """
        error = self.ping(timeout)
        return {
            "queue": "ok" if error is None else "unreachable",
            "backend": self.backend,
            "workers": {},
            "error": error,
        }


@dataclass
class WorkerStatus:
    """How one kind's worker threads fare: whether their broker answers, and since when not."""

    threads: int
    broker_ok: bool = True
    last_error: str | None = None
    failing_since: datetime | None = None


class InProcessWorkers:
    """Threads that take tasks off the queues inside this process (for `hallmark serve`).

    A thread whose broker goes away waits (BACKOFF_FIRST seconds, doubling up to BACKOFF_LONGEST)
    and tries again, so the workers come back with the broker; each outage is logged once.
    """

    # An idle worker polls the queue (another process may have filled it), backing off from
    # 10 ms to half a second; a job queued by this process wakes it at once.
    FIRST_WAIT, LONGEST_WAIT = 0.01, 0.5
    BACKOFF_FIRST, BACKOFF_LONGEST = 0.5, 15.0

    def __init__(self, queues: JobQueues, counts: dict[JobKind, int]):
        self.queues = queues
        self.counts = counts
        self._stop = threading.Event()
        self._threads: dict[JobKind, list[threading.Thread]] = {kind: [] for kind in counts}
        self._status = {kind: WorkerStatus(threads=count) for kind, count in counts.items()}
        self._status_lock = threading.Lock()

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
                self._threads[kind].append(thread)

    def _loop(self, kind: JobKind) -> None:
        huey, wakeup = self.queues.hueys[kind], self.queues.wakeup[kind]
        wait, backoff = self.FIRST_WAIT, self.BACKOFF_FIRST
        while not self._stop.is_set():
            try:
                task = huey.dequeue()
            except Exception as error:  # the broker went away (or answered nonsense): wait
                self._broker_failed(kind, error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.BACKOFF_LONGEST)
                continue
            self._broker_answered(kind)
            backoff = self.BACKOFF_FIRST
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

    def _broker_failed(self, kind: JobKind, error: Exception) -> None:
        with self._status_lock:
            status = self._status[kind]
            status.last_error = describe_error(error)
            if not status.broker_ok:
                return
            status.broker_ok, status.failing_since = False, utcnow()
        logger.warning(
            "%s workers cannot reach the %s broker (%s); retrying, at most %s s apart",
            kind.value,
            self.queues.backend,
            describe_error(error),
            self.BACKOFF_LONGEST,
        )

    def _broker_answered(self, kind: JobKind) -> None:
        with self._status_lock:
            status = self._status[kind]
            if status.broker_ok:
                return
            since = status.failing_since
            status.broker_ok, status.failing_since = True, None
        logger.warning(
            "%s workers reached the broker again (unreachable since %s)", kind.value, since
        )

    def health(self) -> dict[str, dict[str, Any]]:
        """Per kind: threads started, threads alive, whether the broker answered their last try."""
        with self._status_lock:
            return {
                kind.value: {
                    "threads": status.threads,
                    "alive": sum(thread.is_alive() for thread in self._threads[kind]),
                    "broker": "ok" if status.broker_ok else "unreachable",
                    "last_error": status.last_error,
                    "failing_since": (
                        status.failing_since.isoformat() if status.failing_since else None
                    ),
                }
                for kind, status in self._status.items()
            }

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking tasks and wait up to `timeout` seconds for running ones to finish."""
        self._stop.set()
        for event in self.queues.wakeup.values():
            event.set()
        deadline = time.monotonic() + timeout
        for threads in self._threads.values():
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
