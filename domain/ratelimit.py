"""Per-user limits on how often someone may ask for a check."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    """At most `limit` events per `window` seconds for each key."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("limit and window must be positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[int, deque[float]] = {}

    def allow(self, key: int) -> bool:
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        if len(self._events) > 100_000:
            self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        # Keeps memory bounded when many users each ask once.
        idle = [k for k, e in self._events.items() if not e or e[-1] <= now - self.window]
        for key in idle:
            del self._events[key]
