"""Two moves of one row at once, from two sessions, overlapping for real on PostgreSQL."""

from __future__ import annotations

import asyncio
from types import ModuleType

import pytest

from storage.db import Database, is_sqlite


def read_together(
    db: Database, monkeypatch: pytest.MonkeyPatch, flow: ModuleType, *readers: str
) -> None:
    """Make the two movers wait for each other once each has read the row, so that both
    decide on it as it was before either writes.

    PostgreSQL only: on SQLite a session takes the write lock when it begins, so the
    second mover waits for the first to commit before reading (and would wait for
    ever at the barrier); there the moves are one after the other anyway.
    """
    if is_sqlite(db.url):
        return
    barrier = asyncio.Barrier(2)
    for name in readers:
        monkeypatch.setattr(flow, name, _then_wait(getattr(flow, name), barrier))


def _then_wait(read, barrier: asyncio.Barrier):
    async def read_then_wait(*args, **kwargs):
        row = await read(*args, **kwargs)
        await asyncio.wait_for(barrier.wait(), timeout=10)
        return row

    return read_then_wait


def one_won(outcomes: list) -> tuple[object, Exception]:
    """The winner and the refusal of two moves made at once; fails unless exactly one won."""
    refused = [o for o in outcomes if isinstance(o, Exception)]
    won = [o for o in outcomes if not isinstance(o, Exception)]
    assert (len(won), len(refused)) == (1, 1), [repr(o)[:80] for o in outcomes]
    return won[0], refused[0]
