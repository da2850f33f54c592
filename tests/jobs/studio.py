"""A committed studio for job tests: settings, a migrated SQLite database, an artist's style."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.artworks.service import upload_artwork
from hallmark.config import Settings
from hallmark.db import make_session_factory, transaction, write_transaction
from hallmark.instance import Instance
from hallmark.jobs import service
from hallmark.jobs.models import Job, JobKind
from hallmark.jobs.repository import JobRepository
from hallmark.jobs.runner import JobRunner
from hallmark.samples import SAMPLE_ARTISTS, sample_works
from hallmark.styles.models import StyleStatus
from hallmark.styles.service import create_style, set_style_status
from tests.conftest import IN_CI, migrated_engine
from tests.helpers import png_bytes

REDIS_URL = os.environ.get("HALLMARK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TRAINING = {
    "steps": 4,
    "resolution": 64,
    "rank": 4,
    "alpha": 4,
    "min_side": 32,
    "checkpoint_every": 2,
    "learning_rate": 1e-3,
}


def redis_queue(url: str = REDIS_URL) -> str:
    """The URL of an emptied Redis database, or a skip (a failure in CI) if none is running."""
    try:
        redis.Redis.from_url(url).flushdb()
    except redis.ConnectionError as error:
        if IN_CI:
            pytest.fail(f"Redis is not reachable at {url}: {error} (CI=true: must run)")
        pytest.skip(f"Redis is not reachable at {url}: {error}")
    return url


QUEUES = ["sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@dataclass
class Studio:
    """A committed instance: its settings, database, and an artist with a style on a tiny base."""

    settings: Settings
    instance: Instance
    factory: sessionmaker[Session]
    owner_id: uuid.UUID
    other_id: uuid.UUID
    style_id: uuid.UUID

    def user(self, session: Session, user_id: uuid.UUID) -> User:
        found = session.get(User, user_id)
        assert found is not None
        return found

    def job(self, job_id: uuid.UUID) -> Job:
        with self.factory() as session:
            found = JobRepository(session).get(job_id)
            assert found is not None
            session.expunge(found)
            return found

    def submit_training(self, **changes: object) -> uuid.UUID:
        with transaction(self.factory) as session:
            owner = self.user(session, self.owner_id)
            job = service.submit_training(
                session,
                self.instance,
                self.instance.queues,
                owner,
                self.style_id,
                {**TRAINING, **changes},
            )
            return job.id

    def wait(self, job_id: uuid.UUID, until: Callable[[Job], bool], timeout: float = 60) -> Job:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if until(job):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} never got there: {self.job(job_id).__dict__}")


@contextmanager
def open_studio(tmp_path: Path, tiny_sd: Path, queue: str, **settings: Any) -> Iterator[Studio]:
    """A studio in tmp_path whose jobs go to `queue` ("sqlite" or a Redis URL)."""
    base = Settings(
        data_dir=tmp_path / "data",
        queue=queue,
        heartbeat_seconds=0.3,
        job_stale_seconds=5.0,
        **settings,
    )
    with contextmanager(migrated_engine)("sqlite", tmp_path) as engine:
        base = base.model_copy(update={"database_url": str(engine.url)})
        factory = make_session_factory(engine)
        instance = Instance.from_settings(base)
        with transaction(factory) as session:
            owner = UserRepository(session).add(
                User(username="ana", display_name="Ana", password_hash="x")
            )
            other = UserRepository(session).add(
                User(username="ben", display_name="Ben", password_hash="x")
            )
            ids = []
            for work in sample_works(SAMPLE_ARTISTS["ana"], count=3, size=96):
                result = upload_artwork(session, instance, owner, work.png, rights_attested=True)
                assert result.artwork is not None
                ids.append(result.artwork.id)
            style = create_style(
                session, owner, "Washes", ids, engine="diffusers-lora", base_model=str(tiny_sd)
            )
            studio = Studio(base, instance, factory, owner.id, other.id, style.id)
        yield studio
        instance.close()


def run_queued(studio: Studio, kind: JobKind) -> None:
    """Take one task off a queue and run it here, as a worker thread would."""
    studio.instance.queues.runner = JobRunner(studio.instance, studio.factory)
    huey = studio.instance.queues.hueys[kind]
    task = huey.dequeue()
    assert task is not None, "nothing was queued"
    huey.execute(task)


QUICK_TRAINING = {"steps": 3, "resolution": 64}


@dataclass
class Committed:
    """A database of either backend whose transactions commit, with an artist and her style.

    Nothing here runs an engine: the style is marked trained, for tests of submission alone.
    """

    factory: sessionmaker[Session]
    instance: Instance
    ana_id: uuid.UUID
    style_id: uuid.UUID

    def train(self, key: str | None, settings: dict[str, Any] | None = None) -> uuid.UUID:
        with write_transaction(self.factory) as session:
            return self.train_in(session, key, settings).id

    def train_in(
        self, session: Session, key: str | None, settings: dict[str, Any] | None = None
    ) -> Job:
        ana = session.get(User, self.ana_id)
        assert ana is not None
        return service.submit_training(
            session,
            self.instance,
            self.instance.queues,
            ana,
            self.style_id,
            settings or QUICK_TRAINING,
            idempotency_key=key,
        )

    def job(self, job_id: uuid.UUID) -> Job:
        with self.factory() as session:
            found = JobRepository(session).get(job_id)
            assert found is not None
            session.expunge(found)
            return found

    def jobs(self) -> int:
        with self.factory() as session:
            return int(session.scalar(select(func.count()).select_from(Job)) or 0)


@contextmanager
def open_committed(backend: str, tmp_path: Path, **settings: Any) -> Iterator[Committed]:
    """A committed database of the backend ("sqlite" or "postgresql") in tmp_path; `settings`
    add to the instance's (its blob storage, say)."""
    with contextmanager(migrated_engine)(backend, tmp_path) as engine:
        factory = make_session_factory(engine)
        base = Settings(data_dir=tmp_path / "data", max_trainings_per_user=3, **settings)
        instance = Instance.from_settings(base)
        with transaction(factory) as session:
            ana = UserRepository(session).add(
                User(username="ana", display_name="Ana", password_hash="x")
            )
            upload = upload_artwork(session, instance, ana, png_bytes(7), rights_attested=True)
            assert upload.artwork is not None
            style = create_style(session, ana, "Washes", [upload.artwork.id])
            set_style_status(session, style, StyleStatus.READY)
        yield Committed(factory, instance, ana.id, style.id)
        instance.close()
