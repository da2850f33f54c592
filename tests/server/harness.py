"""A real `hallmark serve` in a subprocess, and the small HTTP tools the server tests share.

Kept free of pytest so that `bench/api_load.py` starts its servers the same way. Every request
goes to 127.0.0.1 only, every loop is bounded in count and time.
"""

from __future__ import annotations

import io
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from select import select as wait_for_sockets
from typing import Any

import httpx2 as httpx
from PIL import Image
from sqlalchemy import Engine, func, select, text, update

from hallmark.db import make_engine
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from tests.helpers import PASSWORD

# The `src` directory beside `tests/`: the child runs this checkout's code, whatever is installed.
SRC_DIR = Path(__file__).resolve().parents[2] / "src"
POSTGRES_URL = os.environ.get(
    "HALLMARK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
HOST = "127.0.0.1"
FINISHED = {"succeeded", "failed", "cancelled"}
ACCESS_LINE = re.compile(r'^INFO: +127\.0\.0\.1:\d+ - "')


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL test server could not be reached."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the test server, as a database URL whose connections work inside it."""
    schema = f"hallmark_served_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:
        raise PostgresUnavailable(
            f"PostgreSQL is not reachable at {POSTGRES_URL}: {error}"
        ) from error
    finally:
        admin.dispose()
    try:
        # The application name lets the clean-up end this schema's sessions, should a killed
        # server have left any behind.
        yield f"{POSTGRES_URL}?application_name={schema}&options=-csearch_path%3D{schema}"
    finally:
        admin = make_engine(POSTGRES_URL)
        try:
            with admin.begin() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": schema},
                )
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            admin.dispose()


def noisy_jpeg(side: int, seed: int = 0, quality: int = 92) -> bytes:
    """A large JPEG of random noise: costly to decode, hash and search, as a real photo is."""
    rng = random.Random(seed)
    small = Image.frombytes("RGB", (side // 8, side // 8), rng.randbytes(3 * (side // 8) ** 2))
    image = small.resize((side, side), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@dataclass
class Server:
    """`hallmark serve` on a free port of 127.0.0.1 with its own data directory and database."""

    directory: Path
    database_url: str
    backend: str
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    _engine: Engine | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def tmp_dir(self) -> Path:
        """The server's TMPDIR: where it would spool request bodies to disk."""
        return self.directory / "tmp"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    def environment(self) -> dict[str, str]:
        """The child's environment: none of the caller's HALLMARK_* settings, this checkout."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("HALLMARK_")}
        return inherited | {
            "PYTHONPATH": str(SRC_DIR),
            "PYTHONUNBUFFERED": "1",
            "TMPDIR": str(self.tmp_dir),
            "HALLMARK_DATA_DIR": str(self.data_dir),
            "HALLMARK_DATABASE_URL": self.database_url,
            "HALLMARK_HOST": HOST,
            **self.extra_env,
        }

    def start(self, timeout: float = 90.0) -> Server:
        """Start the process and wait until /api/health answers (any status: degraded is up)."""
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hallmark",
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                ],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"hallmark serve exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                httpx.get(f"{self.url}/api/health", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"hallmark serve did not answer in {timeout:.0f} s:\n{self.log_tail()}")

    def terminate(self, grace: float = 30.0) -> int | None:
        """SIGTERM, then wait up to `grace` seconds; None if it is still running."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(grace)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, and SIGKILL if it has not gone after `grace` seconds."""
        if self.process is not None and self.process.poll() is None:
            if self.terminate(grace) is None:
                self.process.kill()
                self.process.wait(10)
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def log_tail(self, lines: int = 60) -> str:
        """The last lines the server printed, without its access log (one line per request)."""
        try:
            printed = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no output)"
        kept = [line for line in printed.splitlines() if not ACCESS_LINE.match(line)]
        return "\n".join(kept[-lines:])

    def database(self) -> Engine:
        """An engine on the server's database, to look at what it stored."""
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return self._engine

    # ------------------------------------------------------------------------- the API

    def client(self, timeout: float = 60.0, **kwargs: Any) -> httpx.Client:
        """A fresh HTTP client (its own connections) for this server."""
        return httpx.Client(base_url=self.url, timeout=timeout, **kwargs)

    def sign_up(self, username: str) -> dict[str, str]:
        """Register a user and return the Authorization header of a fresh token."""
        with self.client() as api:
            created = api.post("/api/users", json={"username": username, "password": PASSWORD})
            assert created.status_code == 201, created.text
        return self.new_token(username)

    def new_token(self, username: str) -> dict[str, str]:
        """A further token of an existing user, never used yet."""
        with self.client() as api:
            issued = api.post("/api/tokens", json={"username": username, "password": PASSWORD})
            assert issued.status_code == 201, issued.text
        return {"Authorization": f"Bearer {issued.json()['token']}"}

    def upload_works(
        self, headers: dict[str, str], count: int = 4, *, artist: str = "ana", size: int = 128
    ) -> list[str]:
        """Upload a sample artist's works in one batch; their artwork ids."""
        works = sample_works(SAMPLE_ARTISTS[artist], count=count, size=size)
        with self.client() as api:
            answer = api.post(
                "/api/artworks/batch",
                headers=headers,
                data={"attest_rights": "true"},
                files=[("files", (work.filename, work.png, "image/png")) for work in works],
            )
        assert answer.status_code == 200, answer.text
        ids = [item["artwork"]["id"] for item in answer.json()]
        assert len(ids) == count and all(ids), answer.text
        return ids

    def create_style(self, headers: dict[str, str], name: str, artwork_ids: list[str]) -> str:
        """Define a studio-engine style on the works; its id."""
        with self.client() as api:
            made = api.post(
                "/api/styles", headers=headers, json={"name": name, "artwork_ids": artwork_ids}
            )
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def train(self, headers: dict[str, str], style_id: str, **settings: Any) -> dict[str, Any]:
        """Queue a training of the style; the job as the API returned it."""
        with self.client() as api:
            queued = api.post(f"/api/styles/{style_id}/train", headers=headers, json=settings)
        assert queued.status_code == 202, queued.text
        job: dict[str, Any] = queued.json()
        return job

    def job(self, headers: dict[str, str], job_id: str) -> dict[str, Any]:
        """A job as its requester sees it now."""
        with self.client() as api:
            answer = api.get(f"/api/jobs/{job_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        return job

    def wait_for_job(
        self,
        headers: dict[str, str],
        job_id: str,
        until: Callable[[dict[str, Any]], bool] = lambda job: job["state"] in FINISHED,
        timeout: float = 180.0,
    ) -> dict[str, Any]:
        """Poll the job (GET, every 0.2 s) until `until` holds; fail after `timeout` seconds.

        An answer other than 200 on the way (a busy server) is not the end: polling goes on.
        """
        deadline = time.monotonic() + timeout
        last: Any = None
        with self.client(timeout=timeout) as api:
            while time.monotonic() < deadline:
                try:
                    answer = api.get(f"/api/jobs/{job_id}", headers=headers)
                except httpx.TransportError as error:
                    last = error
                else:
                    last = answer.json() if answer.status_code == 200 else answer.text
                    if answer.status_code == 200 and until(last):
                        return dict(last)
                time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not get there in {timeout:.0f} s: {last}")

    def job_row(self, job_id: str) -> dict[str, Any]:
        """The job's row as stored (state, attempts, step, result), read past the API."""
        from hallmark.jobs.models import Job

        with self.database().connect() as connection:
            row = connection.execute(
                select(Job.state, Job.attempts, Job.step, Job.worker_id, Job.result).where(
                    Job.id == uuid.UUID(job_id)
                )
            ).one()
        return dict(row._mapping)

    def wait_for_row(
        self,
        job_id: str,
        until: Callable[[dict[str, Any]], bool] = lambda row: row["state"] in FINISHED,
        timeout: float = 180.0,
    ) -> dict[str, Any]:
        """Watch the job's row (not the API, which a busy server may not answer) until `until`."""
        deadline = time.monotonic() + timeout
        row = self.job_row(job_id)
        while not until(row):
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} did not get there in {timeout:.0f} s: {row}")
            time.sleep(0.2)
            row = self.job_row(job_id)
        return row

    def jobs_of_style(self, style_id: str) -> int:
        """How many jobs the database holds for a style."""
        from hallmark.jobs.models import Job

        with self.database().connect() as connection:
            count = connection.execute(
                select(func.count()).select_from(Job).where(Job.style_id == uuid.UUID(style_id))
            ).scalar_one()
        return int(count)

    def age_token(self, headers: dict[str, str], minutes: float = 2.0) -> None:
        """Make a token's last use `minutes` old, so that its next use is recorded again."""
        from hallmark.accounts.models import ApiToken
        from hallmark.db import utcnow

        token = headers["Authorization"].removeprefix("Bearer ")
        with self.database().begin() as connection:
            changed = connection.execute(
                update(ApiToken)
                .where(ApiToken.prefix == token[:10])
                .values(last_used_at=utcnow() - timedelta(minutes=minutes))
            ).rowcount
        assert changed == 1, "no such token"

    def trained_style(
        self, headers: dict[str, str], *, steps: int = 2, publish: bool = False
    ) -> str:
        """A READY studio style of the user's own sample works, trained for a few steps."""
        style_id = self.create_style(headers, "Washes", self.upload_works(headers, 4))
        job = self.train(headers, style_id, steps=steps)
        done = self.wait_for_job(headers, job["id"])
        assert done["state"] == "succeeded", done
        if publish:
            with self.client() as api:
                published = api.post(
                    f"/api/styles/{style_id}/publish",
                    headers=headers,
                    json={"accept_platform_license": True},
                )
            assert published.status_code == 200, published.text
        return style_id


# ---------------------------------------------------------------------- what fixtures give


Launch = Callable[..., Server]


@dataclass
class Studio:
    """A server with an artist, ana, whose style is trained and public, and a buyer, ben."""

    server: Server
    ana: dict[str, str]
    ben: dict[str, str]
    style_id: str

    def new_generation(self) -> str:
        """A fresh image ben made with ana's style (so ana's)."""
        with self.server.client() as api:
            queued = api.post(
                f"/api/styles/{self.style_id}/generate",
                headers=self.ben,
                json={
                    "prompt": "a red sun over a blue sea",
                    "steps": 4,
                    "acknowledge_ownership": True,  # ana's model: the images are hers (R4)
                },
            )
        assert queued.status_code == 202, queued.text
        done = self.server.wait_for_job(self.ben, queued.json()["id"])
        assert done["state"] == "succeeded", done
        return str(done["result"]["generation_ids"][0])


@dataclass
class Training:
    """A server whose artist, ana, has a long training running."""

    server: Server
    ana: dict[str, str]
    job_id: str


def is_training(job: dict[str, Any]) -> bool:
    """Whether a training job is running and past its first step."""
    return bool(job["state"] == "running" and job["step"] >= 1)


@dataclass
class RedisServer:
    """A redis-server of the test's own on a free port, with nothing kept on disk."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


# ----------------------------------------------------------------------------- measuring


@dataclass
class Outcome:
    """One request's answer (or the transport error instead) and how long it took."""

    status: int | None
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    error: str | None = None
    path: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        if self.error is not None:
            return f"{self.error} after {self.seconds:.2f} s"
        return f"{self.status} after {self.seconds:.2f} s: {str(self.body)[:200]}"


def timed(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Outcome:
    """Send one request and record its answer; a timeout or reset is an outcome, not a raise."""
    started = time.perf_counter()
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        took = time.perf_counter() - started
        return Outcome(None, took, error=f"{type(error).__name__}", path=path)
    seconds = time.perf_counter() - started
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    return Outcome(response.status_code, seconds, dict(response.headers), body, path=path)


def latencies(outcomes: Sequence[Outcome]) -> list[float]:
    return sorted(outcome.seconds for outcome in outcomes)


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` of the sorted values lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(share * len(ordered))) - 1))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def server_errors(outcomes: Sequence[Outcome]) -> list[str]:
    """Every answer that breaks the overload contract: a 5xx other than 503 + Retry-After, a 503
    without the "overloaded" error or without Retry-After, or no answer at all."""
    problems = []
    for outcome in outcomes:
        if outcome.status is None:
            problems.append(outcome.describe())
        elif outcome.status == 503:
            code = _error_code(outcome.body)
            if "retry-after" not in outcome.headers or code not in {"overloaded", None}:
                problems.append(f"503 without Retry-After or with code {code!r}")
        elif outcome.status >= 500:
            problems.append(outcome.describe())
    return problems


def _error_code(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        return str(code) if code is not None else None
    return None


def summary(outcomes: Sequence[Outcome]) -> str:
    """Status counts and latencies, for assertion messages."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        key = str(outcome.status) if outcome.status is not None else (outcome.error or "error")
        counts[key] = counts.get(key, 0) + 1
    values = latencies(outcomes)
    return (
        f"{len(outcomes)} requests {counts}; p50 {median(values) * 1000:.0f} ms, "
        f"p99 {percentile(values, 0.99) * 1000:.0f} ms, max {max(values, default=0) * 1000:.0f} ms"
    )


def sample(client: httpx.Client, path: str, count: int, **kwargs: Any) -> list[Outcome]:
    """`count` sequential GETs of one path."""
    return [timed(client, "GET", path, **kwargs) for _ in range(count)]


def in_parallel(
    count: int, work: Callable[[int], list[Outcome]], *, timeout: float = 120.0
) -> list[Outcome]:
    """Run `work(i)` for i in range(count) on `count` threads at once; all their outcomes."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(work, number) for number in range(count)]
        results: list[Outcome] = []
        for future in futures:
            results.extend(future.result(timeout=timeout))
    return results


class Poller:
    """A thread that GETs one path again and again until stopped: latency seen by a bystander.

    A request still unanswered when the poller stops (one second after it is asked to) counts
    as an outcome without a status, with the time it had waited so far.
    """

    def __init__(
        self,
        server: Server,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        pause: float = 0.05,
        timeout: float = 60.0,
    ) -> None:
        self.server, self.path, self.headers, self.pause = server, path, headers or {}, pause
        self.timeout = timeout
        self.outcomes: list[Outcome] = []
        self._in_flight_since: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"poll {path}")

    def _run(self) -> None:
        with self.server.client(timeout=self.timeout) as api:
            for _ in range(100_000):
                if self._stop.is_set():
                    return
                with self._lock:
                    self._in_flight_since = time.perf_counter()
                outcome = timed(api, "GET", self.path, headers=self.headers)
                with self._lock:
                    if self._in_flight_since is None:
                        return  # given up on by __exit__, which recorded it
                    self._in_flight_since = None
                    self.outcomes.append(outcome)
                self._stop.wait(self.pause)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(1.0)
        with self._lock:
            if self._in_flight_since is not None:
                waited = time.perf_counter() - self._in_flight_since
                self.outcomes.append(Outcome(None, waited, error="still unanswered"))
                self._in_flight_since = None


# ------------------------------------------------------------------------- raw requests


@dataclass
class RawAnswer:
    """What came back to a request sent byte by byte: when, and how much had been sent by then."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    seconds: float  # from the last header byte sent to the whole answer received
    body_bytes_sent: int
    body_finished: bool  # whether the whole body had been sent before the answer came


def send_streaming(
    port: int,
    head: bytes,
    chunks: Iterator[bytes],
    *,
    deadline: float,
    before_close: Callable[[], None] | None = None,
) -> RawAnswer:
    """Send `head`, then the body chunks while watching for an early answer; read the answer.

    A server that refuses a body early answers (and may close) before the body is all sent; the
    answer is read as soon as it is readable, so a reset after it loses nothing. Gives up
    `deadline` seconds after the head was sent; `before_close` runs while the connection is open.
    """
    connection = socket.create_connection((HOST, port), timeout=deadline)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sent, finished, sending, received, pending = 0, False, True, b"", b""
    try:
        connection.sendall(head)
        started = time.perf_counter()
        connection.setblocking(False)
        while time.perf_counter() - started < deadline:
            readable, writable, _ = wait_for_sockets(
                [connection], [connection] if sending else [], [], 0.01
            )
            if readable:
                try:
                    data = connection.recv(65536)
                except ConnectionError:
                    data = b""
                if not data:
                    break  # closed by the server: what it said, if anything, is in `received`
                received += data
                if _answer_complete(received):
                    break
                continue
            if not writable:
                continue
            if not pending:
                pending = next(chunks, b"")
                if not pending:
                    sending, finished = False, True
                    continue
            try:
                count = connection.send(pending)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionError:
                sending = False  # the server stopped listening to the body; read its answer
                continue
            pending, sent = pending[count:], sent + count
        seconds = time.perf_counter() - started
        if before_close is not None:
            before_close()
    finally:
        connection.close()
    status, headers, body = _parse_answer(received)
    return RawAnswer(status, headers, body, seconds, sent, finished)


def _answer_complete(data: bytes) -> bool:
    if b"\r\n\r\n" not in data:
        return False
    head, body = data.split(b"\r\n\r\n", 1)
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def _parse_answer(data: bytes) -> tuple[int | None, dict[str, str], bytes]:
    if b"\r\n\r\n" not in data:
        return None, {}, data
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def open_files_under(pid: int, directory: Path) -> list[str]:
    """The files a process holds open inside `directory` (deleted temp files included)."""
    found = []
    prefix = str(directory)
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith(prefix):
            found.append(target)
    return found
