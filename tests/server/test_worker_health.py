"""`hallmark worker` answers health probes: its database, its queue and its worker threads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx

from tests.server.harness import HOST, SRC_DIR, free_port


@contextmanager
def worker(directory: Path, **settings: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A `hallmark worker` process with its health port; its base URL."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HALLMARK_")} | {
        "PYTHONPATH": str(SRC_DIR),
        "HALLMARK_DATA_DIR": str(directory),
        "HALLMARK_HOST": HOST,
        "HALLMARK_WORKER_HEALTH_PORT": str(port),
        **settings,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "hallmark", "worker"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://{HOST}:{port}", process
    finally:
        process.terminate()
        process.wait(30)


def probe(url: str, timeout: float = 60.0) -> tuple[int, dict[str, Any]]:
    """The first answer of /health, once the worker listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.get(f"{url}/health", timeout=10)
            return answer.status_code, answer.json()
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_healthy_worker_reports_its_threads_alive(tmp_path: Path) -> None:
    with worker(tmp_path) as (url, _process):
        status, report = probe(url)
    assert status == 200, report
    assert report["status"] == "ok" and report["database"] == "ok"
    assert report["queue"]["workers"]["train_style"]["alive"] == 1


def test_a_worker_whose_broker_is_gone_answers_503_and_says_why(tmp_path: Path) -> None:
    gone = f"redis://127.0.0.1:{free_port()}/0"
    with worker(tmp_path, HALLMARK_QUEUE=gone, HALLMARK_QUEUE_TIMEOUT_SECONDS="2") as (url, _p):
        status, report = probe(url)
    assert status == 503, report
    assert report["status"] == "degraded" and report["queue"]["queue"] == "unreachable"
