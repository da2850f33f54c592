"""The database layer: SQLite pragmas, UTC timestamps, and migrations that match the models."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from hallmark.accounts.models import User
from hallmark.db import make_engine, migrate
from hallmark.models import metadata


def test_sqlite_has_foreign_keys_and_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()


def test_migrations_create_exactly_the_models(db_engine: Engine) -> None:
    """Autogenerate finds nothing to add to the migrated schema: models and migrations agree."""
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        tables = set(inspect(connection).get_table_names())
    assert {"users", "api_tokens", "artworks", "style_models", "generations"} <= tables


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'twice.db'}")
    migrate(engine)
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()


def test_timestamps_come_back_in_utc(session: Session) -> None:
    user = User(username="tz-check", display_name="Tz", password_hash="x")
    session.add(user)
    session.flush()
    session.expire_all()
    stored = session.get(User, user.id)
    assert stored is not None
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == UTC.utcoffset(None)


def test_naive_timestamps_are_refused(session: Session) -> None:
    session.add(
        User(
            username="naive",
            display_name="N",
            password_hash="x",
            created_at=datetime(2026, 1, 1),
        )
    )
    with pytest.raises(StatementError, match="naive datetimes"):
        session.flush()


def test_foreign_keys_are_enforced(session: Session) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(
                text(
                    "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at) "
                    "VALUES (:id, :user_id, 'x', 'h', 'p', :now)"
                ),
                {
                    "id": "00000000000000000000000000000001",
                    "user_id": "00000000000000000000000000000002",
                    "now": datetime.now(UTC),
                },
            )
