"""Telegram's flood limits for sending, as sliding windows.

Telegram does not publish exact numbers; its FAQ names about 30 messages per second per
bot, one per second per private chat and 20 per minute per group. A bot that broadcasts
must pace itself under all three, and :class:`RateLimiter` tells it, by the seconds of a
429's ``retry_after``, when the fullest window frees up.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class RateLimits:
    """Which limits apply; all of them are off unless ``enabled``."""

    enabled: bool = False
    per_second: int = 30
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20

    def to_json(self) -> dict[str, int | bool]:
        return {
            "enabled": self.enabled,
            "per_second": self.per_second,
            "per_chat_per_second": self.per_chat_per_second,
            "per_group_per_minute": self.per_group_per_minute,
        }


class _Window:
    """The times of the sends within the last ``seconds``, at most ``size`` of them."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def wait_needed(self, now: float, size: int, seconds: float) -> float:
        """Seconds until one more send fits; 0 when it fits now."""
        while self.times and self.times[0] <= now - seconds:
            self.times.popleft()
        if len(self.times) < size:
            return 0.0
        return self.times[len(self.times) - size] + seconds - now


class RateLimiter:
    """Counts a bot's sends and refuses the ones over a limit."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._clock = clock
        self._overall = _Window()
        self._chats: dict[int, _Window] = {}

    def check(self, chat_id: int, is_group: bool) -> int:
        """Record a send to ``chat_id`` and return 0, or return the whole seconds to wait.

        A refused send is not recorded, so retrying after the returned delay succeeds.
        """
        if not self.limits.enabled:
            return 0
        now = self._clock()
        chat = self._chats.setdefault(chat_id, _Window())
        if is_group:
            chat_wait = chat.wait_needed(now, self.limits.per_group_per_minute, 60.0)
        else:
            chat_wait = chat.wait_needed(now, self.limits.per_chat_per_second, 1.0)
        wait = max(self._overall.wait_needed(now, self.limits.per_second, 1.0), chat_wait)
        if wait > 0:
            return max(1, math.ceil(wait))
        self._overall.times.append(now)
        chat.times.append(now)
        return 0
