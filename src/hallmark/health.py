"""What `/api/health` reports: the process, its database, its job queue and its workers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import anyio
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from hallmark import __version__
from hallmark.instance import Instance


class ReportsHealth(Protocol):
    """Anything that can say how its queue and workers are doing."""

    def health(self) -> dict[str, Any]: ...


class HealthCheck:
    """Checks the database and the queue off the event loop; callers who ask while a check is
    running share its answer, so a flood of health probes costs one check at a time."""

    def __init__(self, engine: Engine, instance: Instance) -> None:
        self.engine = engine
        self.instance = instance
        self._report: dict[str, Any] = {}
        self._running: anyio.Event | None = None

    async def report(self, workers: ReportsHealth | None) -> dict[str, Any]:
        """A report checked no earlier than this call."""
        if self._running is not None:
            await self._running.wait()
            return self._report
        self._running = anyio.Event()
        try:
            self._report = await run_in_threadpool(self.check, workers)
        finally:
            running, self._running = self._running, None
            running.set()
        return self._report

    def check(self, workers: ReportsHealth | None) -> dict[str, Any]:
        """Ask the database and the queue now."""
        database = self._check_database()
        try:
            queue = workers.health() if workers is not None else self.instance.queues.health()
        except Exception as error:  # a report must come back whatever fails
            queue = {"queue": "unreachable", "error": f"{type(error).__name__}: {error}"}
        healthy = (
            database == "ok"
            and queue.get("queue") == "ok"
            and queue.get("worker_process", "ok") == "ok"
        )
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


def serve_worker_health(
    check: HealthCheck, workers: ReportsHealth, host: str, port: int
) -> ThreadingHTTPServer:
    """Answer `GET /health` for a worker process (which serves no API) from a daemon thread:
    the same report as the API's /api/health, 200 when all is well, else 503."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            if self.path.split("?")[0] != "/health":
                self.send_error(404)
                return
            report = check.check(workers)
            body = json.dumps(report).encode()
            self.send_response(200 if report["status"] == "ok" else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Probes are frequent; they are not logged."""

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-health", daemon=True).start()
    return server
