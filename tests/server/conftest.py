"""Fixtures of the server tests: a real `hallmark serve` per test (or per module), on SQLite or
on a fresh PostgreSQL schema, stopped with SIGTERM (then killed) and its database dropped after.

Every test in this directory carries the `server` marker: `pytest -m server` runs them alone,
`pytest -m "not server"` leaves them out.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, IN_CI
from tests.server.harness import (
    FINISHED,
    Launch,
    PostgresUnavailable,
    RedisServer,
    Server,
    Studio,
    Training,
    is_training,
    postgres_schema,
)

HERE = Path(__file__).parent
LIVE: list[Server] = []  # servers running now; their output is shown when a test fails


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.server)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and HERE in item.path.parents:
        for server in LIVE:
            title = f"hallmark serve on port {server.port} ({server.backend}), last lines"
            report.sections.append((title, server.log_tail()))
    return report


@contextmanager
def served(directory: Path, backend: str, **env: str) -> Iterator[Server]:
    """A started server on the backend; stopped (SIGTERM, then SIGKILL) and its schema dropped."""
    with ExitStack() as stack:
        if backend == "sqlite":
            database_url = f"sqlite:///{directory / 'data' / 'hallmark.db'}"
        else:
            try:
                database_url = stack.enter_context(postgres_schema())
            except PostgresUnavailable as error:
                if IN_CI:
                    pytest.fail(f"{error} (CI=true: the PostgreSQL tests must run)")
                pytest.skip(f"{error} (set CI=true to make this a failure)")
        server = Server(directory, database_url, backend, extra_env=dict(env))
        LIVE.append(server)
        try:
            server.start()
            yield server
        finally:
            server.stop()
            LIVE.remove(server)


@contextmanager
def launcher(make_directory: Callable[[], Path]) -> Iterator[Launch]:
    """`launch(backend, **HALLMARK_env)` starts a server; all are stopped when the block ends."""
    with ExitStack() as stack:

        def launch(backend: str = "sqlite", **env: str) -> Server:
            return stack.enter_context(served(make_directory(), backend, **env))

        yield launch


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Launch]:
    """Start servers for this test: `launch("sqlite", HALLMARK_QUEUE=...)`."""
    count = iter(range(100))

    def directory() -> Path:
        made = tmp_path / f"server-{next(count)}"
        made.mkdir()
        return made

    with launcher(directory) as launch:
        yield launch


@pytest.fixture(scope="module")
def module_launch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launch]:
    """Start servers shared by the tests of one module."""
    with launcher(lambda: tmp_path_factory.mktemp("server")) as launch:
        yield launch


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: SQLite, and PostgreSQL (marked `postgres`)."""
    return str(request.param)


@pytest.fixture
def server(launch: Launch, backend: str) -> Server:
    """A fresh server of its own on each backend."""
    return launch(backend)


@pytest.fixture(scope="session", params=BACKENDS)
def studio(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Studio]:
    """One studio per backend for the whole run: ana's public style costs a short training."""
    with served(tmp_path_factory.mktemp(f"studio-{request.param}"), request.param) as server:
        ana, ben = server.sign_up("ana"), server.sign_up("ben")
        yield Studio(server, ana, ben, server.trained_style(ana, steps=2, publish=True))


LONG_TRAINING_STEPS = 5000  # far more than a module's tests last; the server is stopped first


@pytest.fixture(scope="module", params=BACKENDS)
def training(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Training]:
    """One server per backend and module, training from the module's start to its end."""
    with served(tmp_path_factory.mktemp(f"training-{request.param}"), request.param) as server:
        ana = server.sign_up("ana")
        style_id = server.create_style(ana, "Washes", server.upload_works(ana, 4))
        job = server.train(ana, style_id, steps=LONG_TRAINING_STEPS)
        running = server.wait_for_job(
            ana, job["id"], until=lambda job: is_training(job) or job["state"] in FINISHED
        )
        assert is_training(running), running
        yield Training(server, ana, str(job["id"]))


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server the test may stop and start again (never the shared one)."""
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if IN_CI:
            pytest.fail(message + " (CI=true: the Redis tests must run)")
        pytest.skip(message)
    instance = RedisServer(tmp_path)
    instance.start()
    yield instance
    instance.stop()
