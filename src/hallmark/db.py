"""Database plumbing: the declarative Base, engines with SQLite pragmas, sessions, migrations."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    SessionTransaction,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC, for every timestamp the product stores."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC timestamp that always comes back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use hallmark.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base of every table; constraint names are stable across databases."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class IdMixin:
    """A random UUID primary key: ids in URLs reveal nothing about how many rows exist."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class CreatedAtMixin:
    """When the row was created."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL journal, and real BEGINs so that savepoints and DDL roll back."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # BEGIN IMMEDIATE (see write_transaction) takes the write lock at once, waiting for it
        # under busy_timeout, instead of failing when a read snapshot is upgraded too late.
        connection.exec_driver_sql(connection.get_execution_options().get("sqlite_begin", "BEGIN"))


POOL_TIMEOUT_SECONDS = 10.0


def make_engine(url: str, *, pool_size: int | None = None, **kwargs: Any) -> Engine:
    """An engine for the URL; SQLite gets its pragmas, PostgreSQL uses psycopg 3.

    `pool_size` sizes the connection pool to the threads that use it at once (a server passes
    its request threads plus its workers); a thread that still finds it empty waits
    POOL_TIMEOUT_SECONDS and then fails with a pool timeout, which the API answers with 503.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if pool_size is not None:
        kwargs.update(pool_size=pool_size, max_overflow=0, pool_timeout=POOL_TIMEOUT_SECONDS)
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        elif pool_size is not None:
            raise ValueError("an in-memory SQLite database has no connection pool to size")
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    _configure_postgresql(engine)
    return engine


LOCK_TIMEOUT_MILLISECONDS = 5000


def _configure_postgresql(engine: Engine) -> None:
    """A statement that waits longer than LOCK_TIMEOUT_MILLISECONDS for a row lock gives up
    (the API answers 503 with Retry-After), as SQLite's busy timeout does, so that requests
    queued on one row cannot hold every thread while the lock's holder waits for one."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MILLISECONDS}")
        cursor.close()
        dbapi_connection.commit()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


class ReadOnlyViolation(RuntimeError):
    """Code running for a read (a GET) tried to write: a bug, never a user's mistake."""


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyViolation("a read-only transaction tried to write")


_IMMEDIATE_KEY = "hallmark.immediate_engine"


def _immediate(engine: Engine) -> Engine:
    """The same engine (same pool and events) whose transactions begin IMMEDIATE on SQLite."""
    immediate: Engine | None = engine.__dict__.get(_IMMEDIATE_KEY)
    if immediate is None:
        immediate = engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        engine.__dict__[_IMMEDIATE_KEY] = immediate
    return immediate


def open_session(
    factory: sessionmaker[Session], *, immediate: bool = False, read_only: bool = False
) -> Session:
    """A session whose transaction begins at its first statement; opening it does no I/O.

    `immediate` is for writes beside other writers (requests that write, job heartbeats,
    progress): on SQLite the write lock is taken when the transaction begins, instead of a
    deferred transaction that read first failing to upgrade to a write. `read_only` is for
    reads: any attempt to write fails loudly.
    """
    bind = factory.kw.get("bind")
    session = factory(bind=_immediate(bind)) if immediate and bind is not None else factory()
    if read_only:
        session.info["read_only"] = True
        event.listen(session, "before_flush", _refuse_flush)
    return session


def end_session(session: Session, *, succeeded: bool) -> None:
    """Commit (or, for a read, just check) if the work succeeded, else roll back; then close."""
    try:
        if not succeeded:
            session.rollback()
        elif session.info.get("read_only"):
            _refuse_flush(session, None, None)  # closing ends it; loaded rows stay readable
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def transaction(
    factory: sessionmaker[Session], *, immediate: bool = False, read_only: bool = False
) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back if it raises (see
    `open_session` for `immediate` and `read_only`)."""
    session = open_session(factory, immediate=immediate, read_only=read_only)
    try:
        yield session
    except BaseException:
        end_session(session, succeeded=False)
        raise
    end_session(session, succeeded=True)


def write_transaction(factory: sessionmaker[Session]) -> AbstractContextManager[Session]:
    """A transaction that takes SQLite's write lock when it begins (see `transaction`)."""
    return transaction(factory, immediate=True)


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """Alembic's config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(files("hallmark") / "migrations"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; run at every start)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "head")


def is_lock_timeout(error: OperationalError) -> bool:
    """Whether a database error means a lock could not be had in time (worth a retry)."""
    message = str(error.orig).lower()
    return "database is locked" in message or "lock timeout" in message or "deadlock" in message


_PENDING_KEY = "hallmark.after_transaction.pending"
_COMMITTED_KEY = "hallmark.after_transaction.committed"


def after_transaction(
    session: Session,
    *,
    committed: Callable[[], None] | None = None,
    rolled_back: Callable[[], None] | None = None,
) -> None:
    """Run a side effect outside the database (a file write or delete) once the transaction ends.

    Only the outermost transaction counts: savepoints come and go inside it without deciding
    anything, since their work can still be undone by the transaction around them.
    """
    pending = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        if not event.contains(session, "after_transaction_end", _run_pending):
            event.listen(session, "after_commit", _note_commit)
            event.listen(session, "after_transaction_end", _run_pending)
    pending.append((committed, rolled_back))


def _note_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info[_COMMITTED_KEY] = True


def _run_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    pending = session.info.pop(_PENDING_KEY, [])
    committed = session.info.pop(_COMMITTED_KEY, False)
    for on_commit, on_rollback in pending:
        action = on_commit if committed else on_rollback
        if action is not None:
            action()
