"""Fixtures shared by the suite: settings in a tmp dir, both databases, a blob store, users."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hallmark.accounts import passwords
from hallmark.accounts.models import User
from hallmark.accounts.repository import UserRepository
from hallmark.app import create_app
from hallmark.artworks.service import upload_artwork
from hallmark.config import Settings
from hallmark.db import make_engine, migrate
from hallmark.generations.models import Generation
from hallmark.generations.service import record_generation
from hallmark.instance import Instance
from hallmark.similarity.service import CopyGuard
from hallmark.storage import LocalBlobStore
from hallmark.styles.models import StyleModel, StyleStatus
from hallmark.styles.service import create_style, publish_style, set_style_status
from tests.helpers import png_bytes
from tests.s3 import S3Server, S3ServerUnavailable, running_s3_server

POSTGRES_URL = os.environ.get(
    "HALLMARK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
MakeStyle = Callable[..., StyleModel]
Generate = Callable[..., Generation]
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
# Where blobs live: the local directory, or a bucket on the S3 server the tests start.
STORAGES = ["local", pytest.param("s3", marks=pytest.mark.s3)]


@pytest.fixture(autouse=True, scope="session")
def _isolated_environment() -> Iterator[None]:
    """No HALLMARK_* variable of the developer's shell reaches the tests."""
    saved = {key: value for key, value in os.environ.items() if key.startswith("HALLMARK_")}
    for key in saved:
        if key != "HALLMARK_TEST_POSTGRES_URL":
            del os.environ[key]
    yield
    os.environ.update(saved)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Argon2 with test-sized parameters: the same algorithm, a fraction of the cost."""
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a fresh instance whose data directory is a tmp dir."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    """An empty local blob store."""
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def instance(settings: Settings, blobs: LocalBlobStore) -> Instance:
    """The instance the services act on: these settings, this blob store, an empty index."""
    return Instance(settings, blobs, CopyGuard(settings.data_dir / "similarity", blobs))


def _postgres_engine(schema: str) -> Engine:
    """An engine on the test server whose every connection works inside `schema`."""
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as error:
        admin.dispose()
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {error.orig}"
        if IN_CI:
            pytest.fail(message + " (CI=true: the PostgreSQL tests must run)")
        pytest.skip(message + " (set CI=true to make this a failure)")
    admin.dispose()
    return make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on a free port of 127.0.0.1 for the whole run, started on first use."""
    log = tmp_path_factory.mktemp("s3-server") / "moto.log"
    try:
        with running_s3_server(log) as server:
            yield server
    except S3ServerUnavailable as error:
        if IN_CI:
            pytest.fail(f"{error} (CI=true: the S3 tests must run)")
        pytest.skip(f"{error} (set CI=true to make this a failure)")


def _drop_postgres_schema(schema: str) -> None:
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def migrated_engine(backend: str, directory: Path) -> Iterator[Engine]:
    """A migrated, empty database of the backend, removed afterwards."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{directory / 'test.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    schema = f"hallmark_test_{uuid.uuid4().hex[:12]}"
    engine = _postgres_engine(schema)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        _drop_postgres_schema(schema)


@pytest.fixture(scope="session", params=BACKENDS)
def db_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One migrated database per backend for the whole run (tests roll back their changes)."""
    yield from migrated_engine(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; commits are savepoints."""
    with db_engine.connect() as connection:
        transaction = connection.begin()
        with Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as db_session:
            yield db_session
        transaction.rollback()


@pytest.fixture
def make_user(session: Session) -> Callable[..., User]:
    """Create a user quickly (the password is 'correct horse battery')."""
    password_hash = passwords.hash_password("correct horse battery")

    def _make(username: str | None = None) -> User:
        name = username or f"user-{uuid.uuid4().hex[:8]}"
        return UserRepository(session).add(
            User(username=name, display_name=name.capitalize(), password_hash=password_hash)
        )

    return _make


@pytest.fixture
def owner(make_user: Callable[..., User]) -> User:
    """An artist who owns the works and models of a test."""
    return make_user("owner")


@pytest.fixture
def maker(make_user: Callable[..., User]) -> User:
    """Someone who prompts another's model."""
    return make_user("maker")


@pytest.fixture
def stranger(make_user: Callable[..., User]) -> User:
    """Someone with no part in the test's works."""
    return make_user("stranger")


@pytest.fixture
def make_style(instance: Instance, session: Session) -> MakeStyle:
    """A style of `owner` trained on one upload, in the given status, optionally published."""
    seeds = iter(range(1, 200))

    def _make(
        owner: User, *, status: StyleStatus = StyleStatus.READY, public: bool = False
    ) -> StyleModel:
        seed = next(seeds)
        upload = upload_artwork(session, instance, owner, png_bytes(seed), rights_attested=True)
        assert upload.artwork is not None
        style = create_style(session, owner, f"style-{seed}", [upload.artwork.id])
        if public:
            set_style_status(session, style, StyleStatus.READY)
            publish_style(session, owner, style.id, accept_platform_license=True)
        return set_style_status(session, style, status)

    return _make


@pytest.fixture
def public_style(make_style: MakeStyle, owner: User) -> StyleModel:
    """The owner's trained, published style."""
    return make_style(owner, public=True)


@pytest.fixture
def generate(instance: Instance, session: Session) -> Generate:
    """Record an image the engine made for `user` with `style` (a fresh PNG each call)."""
    seeds = iter(range(1000, 2000))

    def _generate(user: User, style: StyleModel, *, prompt: str = "a heron at dusk") -> Generation:
        seed = next(seeds)
        return record_generation(
            session, instance, user, style, prompt=prompt, seed=seed, image=png_bytes(seed)
        )

    return _generate


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client of a fresh instance in a tmp data directory."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SD 1.x diffusers folder, built offline from configs."""
    from hallmark.engines.tiny import build_tiny_sd

    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="session")
def tiny_sdxl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny SDXL diffusers folder, built offline from configs."""
    from hallmark.engines.tiny import build_tiny_sdxl

    return build_tiny_sdxl(tmp_path_factory.mktemp("tiny-sdxl"))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the CLI at a fresh data directory (the settings are read once per process)."""
    from hallmark.config import get_settings

    directory = tmp_path / "data"
    monkeypatch.setenv("HALLMARK_DATA_DIR", str(directory))
    get_settings.cache_clear()
    yield directory
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def lora_folder(tiny_sd: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A diffusers-lora model trained two steps on the tiny SD pipeline (rank 4, alpha 8); the
    tests read it, none writes to it."""
    import io

    from PIL import Image

    from hallmark.engines import TrainingConfig, TrainingImage
    from hallmark.engines.diffusers_lora import DiffusersLoraEngine

    works = [
        TrainingImage(Image.open(io.BytesIO(png_bytes(seed))).convert("RGB"), f"work {seed}")
        for seed in range(3)
    ]
    config = TrainingConfig(
        base_model=str(tiny_sd),
        output_dir=tmp_path_factory.mktemp("trained"),
        resolution=64,
        rank=4,
        alpha=8,
        steps=2,
        checkpoint_every=0,
        min_side=32,
        lora_init="gaussian",
    )
    return DiffusersLoraEngine().train(works, config, lambda _: None, lambda: False).directory
