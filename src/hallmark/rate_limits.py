"""Rate limits on what costs the studio or invites guessing: sign-ins, generations, checks.

With one API process the counts live in the process. With several behind a load balancer they
must be shared, or each process would grant the full allowance: when Redis is configured the
counts live there, in one sorted set per key, so every process sees every event.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Protocol

import redis

from hallmark.config import Settings

logger = logging.getLogger(__name__)

# Drop the events older than the window, then admit this one if fewer than the limit remain;
# answer the seconds until the oldest leaves the window when the limit is reached. Atomic, and
# on the server's clock, so processes on hosts whose clocks differ agree.
SLIDING_WINDOW = """
local now = redis.call('TIME')
local moment = tonumber(now[1]) + tonumber(now[2]) / 1000000
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', moment - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(math.max(0, tonumber(oldest[2]) + window - moment))
end
redis.call('ZADD', KEYS[1], moment, ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(window))
return '0'
"""


class RateLimiter(Protocol):
    """At most `limit` events per key in any `window` seconds."""

    limit: int
    window: float

    def check(self, key: str) -> float:
        """Record one event; 0.0 if allowed, else the seconds to wait before the next may pass."""
        ...


@dataclass
class LocalRateLimiter:
    """Sliding-window counts kept in this process (one API process)."""

    limit: int
    window: float = 60.0
    _events: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, key: str, now: float | None = None) -> float:
        """Record one event; 0.0 if allowed, else the seconds to wait before the next may pass."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            events = self._events[key]
            while events and events[0] <= moment - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return max(0.0, events[0] + self.window - moment)
            events.append(moment)
            return 0.0


@dataclass
class RedisRateLimiter:
    """Sliding-window counts kept in Redis, shared by every process that uses the same name.

    Should Redis be unreachable the counts fall back to this process's own, so an outage
    neither opens the limits entirely nor turns every request into an error.
    """

    client: redis.Redis
    name: str
    limit: int
    window: float = 60.0
    fallback: LocalRateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.fallback = LocalRateLimiter(self.limit, self.window)
        self._script = self.client.register_script(SLIDING_WINDOW)

    def check(self, key: str) -> float:
        """Record one event; 0.0 if allowed, else the seconds to wait before the next may pass."""
        try:
            answer = self._script(
                keys=[f"hallmark:rate:{self.name}:{key}"],
                args=[self.window, self.limit, uuid.uuid4().hex],
            )
        except redis.RedisError as error:
            logger.warning("rate limit %s counted in this process: %s", self.name, error)
            return self.fallback.check(key)
        return float(answer)


def rate_limit_store_url(settings: Settings) -> str | None:
    """The Redis that holds the counts, or None to count in this process."""
    store = settings.rate_limit_store.strip()
    if store == "memory":
        return None
    if store:
        return store
    return settings.queue if settings.queue.startswith(("redis://", "rediss://")) else None


def make_rate_limiter(settings: Settings, name: str, limit: int) -> RateLimiter:
    """A per-minute limiter named `name`, shared through Redis when the settings configure it."""
    url = rate_limit_store_url(settings)
    if url is None:
        return LocalRateLimiter(limit)
    client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    return RedisRateLimiter(client, name, limit)
