"""Rate limits: one allowance per key, shared by every API process when Redis holds the counts."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from hallmark.config import Settings
from hallmark.rate_limits import (
    LocalRateLimiter,
    RedisRateLimiter,
    make_rate_limiter,
    rate_limit_store_url,
)
from tests.jobs.studio import REDIS_URL, redis_queue


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("queue", "store", "expected"),
    [
        ("sqlite", "", None),
        ("redis://q:6379/0", "", "redis://q:6379/0"),
        ("redis://q:6379/0", "memory", None),
        ("sqlite", "redis://limits:6379/2", "redis://limits:6379/2"),
    ],
)
def test_counts_live_in_the_queues_redis_unless_told_otherwise(
    queue: str, store: str, expected: str | None
) -> None:
    settings = Settings(queue=queue, rate_limit_store=store)
    assert rate_limit_store_url(settings) == expected
    limiter = make_rate_limiter(settings, "login", 3)
    assert isinstance(limiter, RedisRateLimiter if expected else LocalRateLimiter)


@pytest.mark.redis
def test_two_processes_share_one_allowance_through_redis() -> None:
    url = redis_queue(REDIS_URL)
    settings = Settings(rate_limit_store=url)
    first, second = (make_rate_limiter(settings, "login", 3) for _ in range(2))
    assert [first.check("ana"), second.check("ana"), first.check("ana")] == [0.0, 0.0, 0.0]
    waits = second.check("ana")
    assert 59.0 < waits <= 60.0  # the fourth attempt, on the other process, waits for the first
    assert first.check("ben") == 0.0  # another key has its own allowance
    assert make_rate_limiter(settings, "generation", 3).check("ana") == 0.0  # and another name


@pytest.mark.redis
def test_an_event_leaves_the_shared_window_once_it_is_older_than_the_window() -> None:
    client = redis.Redis.from_url(redis_queue(REDIS_URL))
    limiter = RedisRateLimiter(client, "verification", limit=1, window=0.5)
    assert limiter.check("ip") == 0.0
    assert limiter.check("ip") > 0.0
    time.sleep(0.6)
    assert limiter.check("ip") == 0.0


def test_without_redis_the_process_keeps_counting_on_its_own() -> None:
    client = redis.Redis.from_url(
        f"redis://127.0.0.1:{closed_port()}/0", socket_timeout=0.5, socket_connect_timeout=0.5
    )
    limiter = RedisRateLimiter(client, "login", limit=2)
    assert [limiter.check("ana"), limiter.check("ana")] == [0.0, 0.0]
    assert limiter.check("ana") > 0.0
