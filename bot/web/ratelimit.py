"""A token bucket per caller, in this process's memory: enough for a city's few systems."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable


class TokenBuckets:
    """Each caller may make ``burst`` calls at once, and ``per_minute`` a minute after."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # tokens, when counted

    def take(self, caller: Hashable, per_minute: float, burst: int) -> float:
        """Take one call from ``caller``'s bucket: 0 if it may go ahead, else the seconds
        until it may."""
        now, rate = self.clock(), per_minute / 60
        tokens, then = self._buckets.get(caller, (burst, now))
        tokens = min(burst, tokens + (now - then) * rate)
        if tokens < 1:
            self._buckets[caller] = (tokens, now)
            return (1 - tokens) / rate
        self._buckets[caller] = (tokens - 1, now)
        return 0.0
