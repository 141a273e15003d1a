"""Flood limits as sliding windows, on a clock the tests move by hand."""

from __future__ import annotations

from sandbox.ratelimit import RateLimiter, RateLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(**limits) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    return RateLimiter(RateLimits(enabled=True, **limits), clock), clock


def test_off_by_default():
    unlimited = RateLimiter(RateLimits())
    assert all(unlimited.check(1, is_group=False) == 0 for _ in range(100))


def test_one_message_per_second_per_private_chat():
    limits, clock = limiter()
    assert limits.check(1, is_group=False) == 0
    assert limits.check(1, is_group=False) == 1
    assert limits.check(2, is_group=False) == 0  # other chats are not held up
    clock.now += 1.0
    assert limits.check(1, is_group=False) == 0


def test_overall_per_second():
    limits, clock = limiter(per_second=3)
    assert [limits.check(chat, is_group=False) for chat in range(5)] == [0, 0, 0, 1, 1]
    clock.now += 1.01
    assert limits.check(9, is_group=False) == 0


def test_twenty_per_minute_per_group_with_retry_after_to_the_window_end():
    limits, clock = limiter()
    for _ in range(20):
        assert limits.check(-5, is_group=True) == 0
        clock.now += 1.0
    # The first send was 20 seconds ago; the window frees up 40 seconds from now.
    assert limits.check(-5, is_group=True) == 40
    clock.now += 40.0
    assert limits.check(-5, is_group=True) == 0


def test_a_refused_send_does_not_count():
    limits, clock = limiter(per_second=1, per_chat_per_second=5)
    assert limits.check(1, is_group=False) == 0
    for _ in range(10):
        assert limits.check(1, is_group=False) == 1
    clock.now += 1.0
    assert limits.check(1, is_group=False) == 0
