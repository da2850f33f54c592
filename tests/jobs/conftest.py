"""Fixtures of the job tests: a committed studio on each kind of queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.jobs.studio import QUEUES, Committed, Studio, open_committed, open_studio, redis_queue


@pytest.fixture(params=QUEUES)
def studio(request: pytest.FixtureRequest, tmp_path: Path, tiny_sd: Path) -> Iterator[Studio]:
    """A studio whose jobs go to a SQLite queue, then to a Redis one."""
    queue = redis_queue() if request.param == "redis" else "sqlite"
    with open_studio(tmp_path, tiny_sd, queue) as opened:
        yield opened


@pytest.fixture
def sqlite_studio(tmp_path: Path, tiny_sd: Path) -> Iterator[Studio]:
    """A studio on the embedded SQLite queue only."""
    with open_studio(tmp_path, tiny_sd, "sqlite") as opened:
        yield opened


@pytest.fixture(params=BACKENDS)
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Committed]:
    """A committed SQLite, then PostgreSQL, database with an artist and her style."""
    with open_committed(request.param, tmp_path) as opened:
        yield opened
