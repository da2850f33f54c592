"""`hallmark serve` runs its jobs in a `hallmark worker` child: reported in /api/health,
restarted when it dies, stopped with the server, and never left behind when the server is killed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.server.harness import HOST, Launch, Server


def worker_children(server: Server) -> list[int]:
    """The pids of the server's `hallmark worker` children."""
    assert server.process is not None
    listed = subprocess.run(
        ["pgrep", "-P", str(server.process.pid), "-f", "hallmark worker"],
        capture_output=True,
        text=True,
    )
    return [int(pid) for pid in listed.stdout.split()]


def alive(pid: int) -> bool:
    """Whether a process of that pid still runs (and is not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` every 0.1 s until it holds; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout:.0f} s"
        time.sleep(0.1)


def test_the_servers_jobs_run_in_a_worker_process_reported_in_health(launch: Launch) -> None:
    server = launch("sqlite")
    [child] = worker_children(server)
    ana = server.sign_up("ana")
    style_id = server.create_style(ana, "Washes", server.upload_works(ana, 4))

    job = server.wait_for_job(ana, server.train(ana, style_id, steps=2)["id"], timeout=120)
    with server.client() as api:
        report = api.get("/api/health").json()

    assert job["state"] == "succeeded", job
    stored = server.job_row(job["id"])
    assert server.process is not None and child != server.process.pid
    assert f":{child}:" in (stored["worker_id"] or ""), stored
    assert report["status"] == "ok", report
    assert report["queue"]["worker_process"] == "ok"
    assert report["queue"]["workers"]["train_style"]["alive"] == 1


def test_a_killed_job_worker_is_restarted_and_goes_when_its_server_is_killed(
    launch: Launch,
) -> None:
    server = launch("sqlite")
    [first] = worker_children(server)

    os.kill(first, signal.SIGKILL)
    wait_until(lambda: not alive(first), 10, "the worker's death")
    with server.client() as api:
        degraded = api.get("/api/health")
    wait_until(lambda: len(worker_children(server)) == 1, 30, "a new worker")
    [second] = worker_children(server)
    with server.client() as api:
        wait_until(lambda: api.get("/api/health").status_code == 200, 60, "a healthy report")
    assert server.process is not None
    server.process.kill()
    server.process.wait(10)

    assert degraded.status_code == 503, degraded.text
    assert "not answering" in degraded.json()["queue"]["worker_process"]
    assert second != first
    wait_until(lambda: not alive(second), 15, "the orphaned worker's exit")


def test_a_job_worker_that_cannot_start_stops_the_server_with_one_clear_line(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = Server(
            tmp_path,
            f"sqlite:///{tmp_path / 'data' / 'hallmark.db'}",
            "sqlite",
            {"HALLMARK_WORKER_HEALTH_PORT": str(port)},
        )
        with pytest.raises(RuntimeError, match="exited with 1") as refused:
            server.start(timeout=60)

    said = str(refused.value)
    assert "the worker cannot answer health probes" in said and "in use" in said, said
    assert "error: the job worker exited with 1 while starting" in said
    assert "Traceback" not in said
