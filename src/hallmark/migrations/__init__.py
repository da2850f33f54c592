"""Alembic migrations, shipped inside the package so `hallmark init` works from any install."""
