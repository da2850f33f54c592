"""How much slower a training runs while the API beside it is under load, than on a quiet host.

Run: PYTHONPATH=src:. .venv/bin/python bench/training_under_load.py [--steps 20]
         [--connections 64] [--setups unsized,serve,split] [--json FILE]
Needs `wrk` (Debian: `apt-get install -y wrk`) and `taskset` (util-linux) for the split setup.

Each setup is a real `hallmark serve` on SQLite in a temporary directory; ana uploads 8 works
and defines three studio styles on them. The first is trained for one step, untimed (the process
that trains imports torch and loads the base model); the second with nobody else using the
server (the baseline, measured in the same run); the third while wrk loads the API with ana's
authenticated `GET /api/artworks` on --connections connections for the whole training.
Printed: both times and their ratio.
- unsized: `hallmark serve` and its job worker process with threads as the libraries choose them
  by themselves, one per core of the host in every process, and OpenMP threads that spin while
  they wait (`OMP_WAIT_POLICY=ACTIVE`, `HALLMARK_COMPUTE_THREADS` = the host's cores).
- serve: the defaults: `hallmark serve` starts its job worker as a process of its own with the
  cores the API process leaves (hallmark.jobs.host), OpenMP threads that sleep while they wait.
- split: the API pinned to the first core without job workers, `hallmark worker` pinned to the
  others, each sizing its threads to the cores it is given.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.server.harness import Server

from hallmark.compute import cores_given

WORKS = 8


def start_load(server: Server, headers: dict[str, str], connections: int) -> subprocess.Popen[str]:
    """wrk on the API until stopped."""
    command = ["wrk", "-t2", f"-c{connections}", "-d3600s", "--timeout=10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return subprocess.Popen(
        [*command, f"{server.url}/api/artworks"], stdout=subprocess.PIPE, text=True
    )


def stop_load(load: subprocess.Popen[str]) -> str:
    """Stop wrk and return its requests/s line."""
    load.send_signal(signal.SIGINT)
    printed, _ = load.communicate(timeout=30)
    return next((line.strip() for line in printed.splitlines() if "Requests/sec" in line), "")


def timed_training(server: Server, headers: dict[str, str], style_id: str, steps: int) -> float:
    """Seconds from asking for the training to its end (it must succeed)."""
    started = time.perf_counter()
    job = server.train(headers, style_id, steps=steps, checkpoint_every=0)
    finished = server.wait_for_job(headers, job["id"], timeout=3600)
    assert finished["state"] == "succeeded", finished
    return time.perf_counter() - started


def start_worker(server: Server, cores: str) -> subprocess.Popen[bytes]:
    """`hallmark worker` on the given cores, with the server's settings."""
    return subprocess.Popen(
        ["taskset", "-c", cores, sys.executable, "-m", "hallmark", "worker"],
        env=server.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_setup(name: str, steps: int, connections: int) -> dict[str, Any]:
    """Quiet and loaded training times of one setup."""
    cores = cores_given()
    env: dict[str, str] = {}
    if name == "unsized":
        env = {"OMP_WAIT_POLICY": "ACTIVE", "HALLMARK_COMPUTE_THREADS": str(cores)}
    elif name == "split":
        env = {"HALLMARK_SERVE_JOB_WORKERS": "false"}
    with ExitStack() as stack:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = Server(directory, f"sqlite:///{directory / 'data' / 'hallmark.db'}", "sqlite", env)
        server.start()
        stack.callback(server.stop)
        if name == "split":
            assert server.process is not None
            subprocess.run(["taskset", "-a", "-p", "-c", "0", str(server.process.pid)], check=True)
            worker = start_worker(server, f"1-{cores - 1}")
            stack.callback(worker.wait, 30)
            stack.callback(worker.terminate)
        ana = server.sign_up("ana")
        works = server.upload_works(ana, WORKS, artist="ana", size=256)
        warm_up, quiet_style, loaded_style = (
            server.create_style(ana, name, works) for name in ("Warm-up", "Quiet", "Loaded")
        )
        timed_training(server, ana, warm_up, 1)  # torch and the base model loaded, not timed
        quiet = timed_training(server, ana, quiet_style, steps)
        load = start_load(server, ana, connections)
        try:
            loaded = timed_training(server, ana, loaded_style, steps)
        finally:
            served = stop_load(load)
    result = {"setup": name, "quiet_s": quiet, "loaded_s": loaded, "ratio": loaded / quiet}
    print(
        f"{name:<8} quiet {quiet:7.1f} s   under load {loaded:7.1f} s   ×{loaded / quiet:5.2f}"
        f"   (API under load: {served})",
        flush=True,
    )
    return result


def main() -> None:
    """Run the setups and print the table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--setups", default="unsized,serve,split")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk)")
    print(
        f"{cores_given()} cores; studio training of {args.steps} steps on {WORKS} works; "
        f"wrk with {args.connections} connections",
        flush=True,
    )
    results = [run_setup(name, args.steps, args.connections) for name in args.setups.split(",")]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
