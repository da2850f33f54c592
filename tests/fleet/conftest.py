"""The fleet tests carry the `fleet` marker: `pytest -m fleet` runs them alone."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.fleet)


from tests.server.conftest import own_redis  # noqa: E402,F401  (a private redis-server per test)
