"""What `/api/health` reports: the process, its database, its job queue and its workers."""

from __future__ import annotations

import time
from typing import Any, Protocol

from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from hallmark import __version__
from hallmark.instance import Instance

# Under load the checks run at most once a second; every other caller reads the last report.
REPORT_TTL_SECONDS = 1.0


class ReportsHealth(Protocol):
    """Anything that can say how its queue and workers are doing."""

    def health(self) -> dict[str, Any]: ...


class HealthCheck:
    """Checks the database and the queue off the event loop, and keeps the answer a second."""

    def __init__(self, engine: Engine, instance: Instance) -> None:
        self.engine = engine
        self.instance = instance
        self._report: dict[str, Any] | None = None
        self._checked_at = 0.0

    async def report(self, workers: ReportsHealth | None) -> dict[str, Any]:
        """The current report, checked afresh when the last one is older than a second."""
        if self._report is None or time.monotonic() - self._checked_at > REPORT_TTL_SECONDS:
            self._report = await run_in_threadpool(self.check, workers)
            self._checked_at = time.monotonic()
        return self._report

    def check(self, workers: ReportsHealth | None) -> dict[str, Any]:
        """Ask the database and the queue now."""
        database = self._check_database()
        queue = workers.health() if workers is not None else self.instance.queues.health()
        healthy = database == "ok" and queue.get("queue") == "ok"
        return {
            "status": "ok" if healthy else "degraded",
            "version": __version__,
            "database": database,
            "queue": queue,
        }

    def _check_database(self) -> str:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            return f"unreachable: {type(error).__name__}"
        return "ok"
