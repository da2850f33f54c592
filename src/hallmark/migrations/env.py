"""Alembic environment: migrates the connection or URL that hallmark.db.migrate passes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from hallmark.db import make_engine
from hallmark.models import metadata

config = context.config


def run_on(connection: Connection) -> None:
    """Run the migrations on one connection; SQLite needs batch mode to alter tables."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    """Use the caller's connection if it gave one, else connect to the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a connection or set sqlalchemy.url")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; run them online")
run_migrations()
