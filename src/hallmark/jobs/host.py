"""The job worker of a one-machine `hallmark serve`: `hallmark worker` as a child process.

Jobs run in a process of their own rather than as threads of an API process: a training holds
Python's interpreter lock for much of each step, and threads that share it with an event loop
slow each other many times over. The child gets the cores the API processes leave, is restarted
if it dies, hands its jobs back when the server stops, and stops by itself if the server is
killed outright. The API processes report its health in /api/health.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import httpx2 as httpx

from hallmark.compute import cores_given
from hallmark.config import Settings
from hallmark.jobs.queue import JobQueues

logger = logging.getLogger(__name__)
# Until the child answers its first health probe, `hallmark serve` waits this long.
START_SECONDS = 120.0
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
# A worker that ran this long before it died is restarted after the shortest delay again.
STEADY_SECONDS = 120.0


class JobWorkerError(RuntimeError):
    """The server's job worker could not be started."""


def health_url(settings: Settings) -> str:
    """Where the server's own worker answers health probes: its loopback health port."""
    return f"http://127.0.0.1:{settings.worker_health_port}/health"


def worker_threads(settings: Settings) -> int:
    """The compute threads of the child: the host's cores less one per API process."""
    if settings.compute_threads:
        return settings.compute_threads
    return max(1, cores_given() - settings.api_processes)


class JobWorkerProcess:
    """Starts `hallmark worker` beside the API, restarts it when it dies, stops it on shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._lock = threading.Lock()

    def environment(self) -> dict[str, str]:
        """The child's settings: this server's, with its health port and its share of cores."""
        return os.environ | {
            "HALLMARK_WORKER_HEALTH_PORT": str(self.settings.worker_health_port),
            "HALLMARK_COMPUTE_THREADS": str(worker_threads(self.settings)),
        }

    def start(self, wait_seconds: float = START_SECONDS) -> None:
        """Start the child and wait until it answers its health probe (or fail saying why)."""
        if not self.settings.worker_health_port:
            raise JobWorkerError("the host's job worker needs HALLMARK_WORKER_HEALTH_PORT")
        self._spawn()
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise JobWorkerError(
                    f"the job worker exited with {self.process.returncode} while starting "
                    f"(its own lines above say why; its health port is "
                    f"{self.settings.worker_health_port})"
                )
            if probe_worker(self.settings) is not None:
                break
            time.sleep(0.2)
        else:
            self.stop()
            raise JobWorkerError(
                f"the job worker did not answer at {health_url(self.settings)} "
                f"in {wait_seconds:.0f} s"
            )
        self._watcher = threading.Thread(target=self._watch, name="job-worker-watch", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        command = [sys.executable, "-m", "hallmark", "worker", "--parent-pid", str(os.getpid())]
        with self._lock:
            self.process = subprocess.Popen(
                command, env=self.environment(), stdin=subprocess.DEVNULL
            )
        logger.info("job worker started as process %d", self.process.pid)

    def _watch(self) -> None:
        """Restart the child whenever it exits while the server runs, waiting longer each time."""
        while not self._stopping.is_set():
            assert self.process is not None
            started = time.monotonic()
            code = self.process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > STEADY_SECONDS:
                self.restarts = 0
            delay = RESTART_DELAYS[min(self.restarts, len(RESTART_DELAYS) - 1)]
            logger.error("job worker exited with %s; restarting in %.0f s", code, delay)
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            self._spawn()

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM: the child re-queues its running jobs and exits; SIGKILL after `timeout`."""
        self._stopping.set()
        with self._lock:
            process = self.process
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        grace = timeout if timeout is not None else self.settings.job_shutdown_seconds + 10
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(grace)
        except subprocess.TimeoutExpired:
            logger.error("job worker still running after %.0f s; killing it", grace)
            process.kill()
            return process.wait(10)


def probe_worker(settings: Settings, timeout: float = 2.0) -> dict[str, Any] | None:
    """The worker's own health report, or None if it does not answer."""
    try:
        answer = httpx.get(health_url(settings), timeout=timeout)
        report: dict[str, Any] = answer.json()
    except (httpx.HTTPError, ValueError):
        return None
    return report


class HostWorkerHealth:
    """/api/health's view of the host's job worker process, asked over its health port."""

    def __init__(self, settings: Settings, queues: JobQueues) -> None:
        self.settings = settings
        self.queues = queues

    def health(self) -> dict[str, Any]:
        """The worker's queue report; a silent worker leaves the queue without workers."""
        report = probe_worker(self.settings)
        if report is not None and isinstance(report.get("queue"), dict):
            queue: dict[str, Any] = report["queue"]
            queue["worker_process"] = "ok"
            return queue
        queue = self.queues.health()
        queue["workers"] = {}
        queue["worker_process"] = f"not answering at {health_url(self.settings)}"
        return queue
