"""Rate limits on what costs the studio or invites guessing: sign-ins, generations, checks."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """At most `limit` events per key in any `window` seconds, in this process (sliding window)."""

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
