"""What the HTTP API serves under load, on each database, against its own /api/health baseline.

Run: PYTHONPATH=src:. .venv/bin/python bench/api_load.py [--databases sqlite,postgresql]
         [--connections 16,64,256] [--seconds 10] [--tool auto|wrk|python] [--processes N]
         [--json FILE]
Needs `wrk` (Debian: `apt-get install -y wrk`) for the load; without it (or with --tool python)
a Python asyncio client of the same shape is used, which itself takes CPU from the server.

For each database (SQLite in a temp data directory; PostgreSQL in a fresh schema of
$HALLMARK_TEST_POSTGRES_URL, when reachable) a real `hallmark serve` is started on a free port
of 127.0.0.1 and seeded: ana uploads 20 works and trains a public studio style (2 steps), ben
signs up. Then, at each number of connections, each for --seconds:
- GET /api/health (the baseline: no auth; concurrent probes share one database and queue check),
- GET /api/styles/public (an anonymous list),
- GET /api/artworks with ana's bearer token (an authenticated list),
printing requests/s, p50, p99, answered requests, non-2xx answers and socket errors, and the
ratios of each list to /api/health measured at the same connections in the same run. wrk does
not count a request still unanswered when the time is up: a rate near 0 with no errors means
the server stopped answering. First, on the freshly seeded server (a load can leave it unable
to answer), the generation mode: ben's authenticated read (GET /api/artworks, 4 connections)
is measured idle and then while a 16-image generation of ana's runs; the ratio of the two
p99s is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.server.harness import PostgresUnavailable, Server, percentile, postgres_schema

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout))
end
"""
READERS_DURING_GENERATION = 4
SETTLE_SECONDS = 60  # how long a server that fell behind may take to answer again


@dataclass
class Measurement:
    """One endpoint at one number of connections."""

    database: str
    endpoint: str
    connections: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    requests: int


def run_wrk(url: str, connections: int, seconds: float, headers: dict[str, str]) -> list[float]:
    """wrk's numbers: requests, seconds, p50 ms, p99 ms, non-2xx, socket errors.

    A request unanswered after half the measurement's length counts as an error (a timeout):
    wrk only notices a timeout while it is still running.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={max(1, round(seconds / 2))}s",
        "-s",
        script.name,
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    try:
        printed = subprocess.run(
            [*command, url], capture_output=True, text=True, timeout=seconds + 120, check=True
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in printed.splitlines() if line.startswith("RESULT "))
    requests, duration_us, p50_us, p99_us, status, *errors = (int(v) for v in line.split()[1:])
    if requests <= status or p99_us <= 0:  # nothing answered well: no latency to speak of
        p50_us = p99_us = -1
    return [
        requests,
        duration_us / 1e6,
        p50_us / 1000 if p50_us >= 0 else float("nan"),
        p99_us / 1000 if p99_us >= 0 else float("nan"),
        status,
        sum(errors),
    ]


async def _python_connection(
    host: str,
    port: int,
    request: bytes,
    until: float,
    patience: float,
    latencies: list[float],
    counts: list[int],
) -> None:
    """One keep-alive connection sending the request again and again until `until`."""
    reader = writer = None
    while time.monotonic() < until:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), patience)
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await asyncio.wait_for(reader.readexactly(length), patience)
            latencies.append((time.perf_counter() - started) * 1000)
            counts[0] += 1
            counts[1] += 0 if 200 <= status < 300 else 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            counts[2] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def run_python(url: str, connections: int, seconds: float, headers: dict[str, str]) -> list[float]:
    """The same numbers as run_wrk, from an asyncio client in this process."""
    rest = url.removeprefix("http://")
    address, _, path = rest.partition("/")
    host, _, port = address.partition(":")
    lines = [
        f"GET /{path} HTTP/1.1",
        f"Host: {address}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    counts = [0, 0, 0]  # answered, non-2xx, socket errors

    async def load() -> float:
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(
            *(
                _python_connection(host, int(port), request, until, seconds / 2, latencies, counts)
                for _ in range(connections)
            )
        )
        return time.monotonic() - started

    took = asyncio.run(load())
    return [
        counts[0],
        took,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        counts[1],
        counts[2],
    ]


def measure(
    tool: str,
    server: Server,
    database: str,
    endpoint: str,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> Measurement:
    """Load one endpoint for `seconds` with `connections` connections."""
    run = run_wrk if tool == "wrk" else run_python
    requests, took, p50, p99, non_2xx, errors = run(
        server.url + endpoint, connections, seconds, headers or {}
    )
    return Measurement(
        database,
        f"GET {endpoint}",
        connections,
        requests / took if took else 0.0,
        p50,
        p99,
        int(non_2xx),
        int(errors),
        int(requests),
    )


def settle(server: Server, endpoint: str, headers: dict[str, str] | None) -> bool:
    """Wait until the endpoint answers 2xx again (a server left behind by the last load)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    with server.client(timeout=SETTLE_SECONDS) as api:
        while time.monotonic() < deadline:
            try:
                if api.get(endpoint, headers=headers or {}).is_success:
                    return True
            except Exception:  # a timeout or a reset: not answering yet
                pass
            time.sleep(0.5)
    return False


@dataclass
class Seeded:
    ana: dict[str, str]
    ben: dict[str, str]
    style_id: str


def seed(server: Server) -> Seeded:
    """ana with 20 works and a public style; ben, who reads his own (empty) list."""
    ana, ben = server.sign_up("ana"), server.sign_up("ben")
    artworks = server.upload_works(ana, 20, artist="cleo")
    style_id = server.create_style(ana, "Washes", artworks[:4])
    job = server.train(ana, style_id, steps=2)
    assert server.wait_for_job(ana, job["id"])["state"] == "succeeded"
    with server.client() as api:
        published = api.post(
            f"/api/styles/{style_id}/publish", headers=ana, json={"accept_platform_license": True}
        )
        assert published.status_code == 200, published.text
        for headers in (ana, ben):  # first uses recorded before anything is measured
            assert api.get("/api/artworks", headers=headers).status_code == 200
    return Seeded(ana, ben, style_id)


def generation_mode(
    tool: str, server: Server, database: str, seeded: Seeded, seconds: float
) -> dict[str, Any]:
    """ben's authenticated read, idle and while ana's 16-image generation runs."""
    idle = measure(
        tool, server, database, "/api/artworks", READERS_DURING_GENERATION, seconds, seeded.ben
    )
    with server.client() as api:
        queued = api.post(
            f"/api/styles/{seeded.style_id}/generate",
            headers=seeded.ana,
            json={"prompt": "a red sun over a blue sea", "count": 16},
        )
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["id"]
    server.wait_for_row(job_id, until=lambda row: row["state"] != "queued", timeout=60)
    during = measure(
        tool, server, database, "/api/artworks", READERS_DURING_GENERATION, seconds, seeded.ben
    )
    still_running = server.job_row(job_id)["state"] == "running"
    server.wait_for_row(job_id, timeout=600)
    return {
        "database": database,
        "idle": asdict(idle),
        "during_generation": asdict(during),
        "generation_outlasted_the_window": still_running,
        "p99_ratio": during.p99_ms / idle.p99_ms,  # NaN when nothing was answered well
    }


def number(value: float, digits: int, width: int) -> str:
    """A right-aligned number, or '-' where there is none (nothing was answered)."""
    return f"{value:>{width}.{digits}f}" if math.isfinite(value) else f"{'-':>{width}}"


def print_table(rows: list[Measurement]) -> None:
    health = {(m.database, m.connections): m for m in rows if m.endpoint == "GET /api/health"}
    print(
        f"{'database':<11} {'endpoint':<24} {'conns':>5} {'req/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>9} {'answered':>9} {'non-2xx':>8} {'errors':>7} {'req/s÷health':>13} "
        f"{'p99÷health':>11}"
    )
    for m in rows:
        base = health.get((m.database, m.connections))
        rps_ratio = m.requests_per_second / base.requests_per_second if base else float("nan")
        p99_ratio = m.p99_ms / base.p99_ms if base and base.p99_ms else float("nan")
        print(
            f"{m.database:<11} {m.endpoint:<24} {m.connections:>5} {m.requests_per_second:>8.0f} "
            f"{number(m.p50_ms, 1, 8)} {number(m.p99_ms, 1, 9)} {m.requests:>9} {m.non_2xx:>8} "
            f"{m.socket_errors:>7} {number(rps_ratio, 2, 13)} {number(p99_ratio, 2, 11)}",
            flush=True,
        )


def main() -> None:
    """Start a server per database, load it, print the tables (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--connections", default="16,64,256")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--no-generation", action="store_true", help="skip the read-during-generation mode"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="API processes (hallmark serve --processes)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    elif tool == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install -y wrk)")
    levels = [int(value) for value in args.connections.split(",")]
    print(
        f"load from {tool}, {args.seconds:g} s per measurement, {args.processes} API process(es)",
        flush=True,
    )
    results: dict[str, Any] = {"tool": tool, "seconds": args.seconds, "load": [], "generation": []}
    rows: list[Measurement] = []
    for database in [name.strip() for name in args.databases.split(",") if name.strip()]:
        with ExitStack() as stack:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            if database == "sqlite":
                url = f"sqlite:///{directory / 'data' / 'hallmark.db'}"
            else:
                try:
                    url = stack.enter_context(postgres_schema())
                except PostgresUnavailable as error:
                    print(f"({database} skipped: {error})")
                    continue
            env = {"HALLMARK_API_PROCESSES": str(args.processes)}
            server = Server(directory, url, database, env).start()
            stack.callback(server.stop)
            seeded = seed(server)
            if not args.no_generation and not settle(server, "/api/artworks", seeded.ben):
                print(f"{database}: generation mode skipped, the server is not answering")
            elif not args.no_generation:
                found = generation_mode(tool, server, database, seeded, args.seconds)
                results["generation"].append(found)
                idle, during = found["idle"], found["during_generation"]
                print(
                    f"{database}: ben's GET /api/artworks ({READERS_DURING_GENERATION} conns) "
                    f"idle: {idle['requests']} answered, p99 {number(idle['p99_ms'], 1, 0)} ms; "
                    f"during a generation: {during['requests']} answered, p99 "
                    f"{number(during['p99_ms'], 1, 0)} ms, non-2xx {during['non_2xx']}, errors "
                    f"{during['socket_errors']}; p99 ratio {number(found['p99_ratio'], 1, 0)}"
                    + ("" if found["generation_outlasted_the_window"] else " (it ended early)"),
                    flush=True,
                )
            measured, stuck = [], []
            for connections in levels:
                for endpoint, headers in (
                    ("/api/health", None),
                    ("/api/styles/public", None),
                    ("/api/artworks", seeded.ana),
                ):
                    if not settle(server, endpoint, headers):
                        stuck.append(f"{endpoint} before {connections} connections")
                        continue
                    measured.append(
                        measure(
                            tool, server, database, endpoint, connections, args.seconds, headers
                        )
                    )
            print_table(measured)
            for what in stuck:
                print(f"{database}: not answering {SETTLE_SECONDS} s after the last load: {what}")
            results["unresponsive"] = results.get("unresponsive", []) + [
                f"{database}: {what}" for what in stuck
            ]
            rows += measured
            print(flush=True)
    results["load"] = [asdict(row) for row in rows]
    if args.json is not None:
        args.json.write_text(json.dumps(finite(results), indent=2) + "\n", encoding="utf-8")


def finite(value: Any) -> Any:
    """The results with NaN (nothing measured) as null, which JSON can say."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


if __name__ == "__main__":
    main()
