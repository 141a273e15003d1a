"""Benchmark: the sender's claim when a year of broadcasts lies behind it.

A city of 40,000 households has had 25 notices to everyone (1,000,000 sent
deliveries) and a 26th is going out. One claim of a lane's batch (25 due
messages, each checked for an earlier one of its chat still to go) is timed
next to a bare indexed read of 25 pending ids, in the same run; and once more
with the queue index dropped, to show what the history would cost without it.
Medians of several runs, each rolled back. Prints one JSON line.

Usage: python -m bench.outbox_claim [sqlite|postgresql]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import insert, text

from bench.databases import fresh_database
from bot.delivery import LANES, MAX_BATCH
from bot.flows import outbox
from storage.db import Database, is_sqlite
from storage.models import Broadcast, Delivery, DeliveryState
from storage.types import utcnow

HOUSEHOLDS = 40_000
PAST_BROADCASTS = 25
RUNS = 15
BATCH = MAX_BATCH // LANES
BARE_READ = f"SELECT id FROM delivery WHERE state = 'pending' ORDER BY id LIMIT {BATCH}"


async def seed(db: Database) -> None:
    now = utcnow()
    for number in range(PAST_BROADCASTS + 1):
        state = DeliveryState.SENT if number < PAST_BROADCASTS else DeliveryState.PENDING
        async with db.session() as session:
            broadcast = Broadcast(kind="notice.general", message_key="notice.text")
            session.add(broadcast)
            await session.flush()
            rows = [
                {
                    "broadcast_id": broadcast.id,
                    "telegram_id": 100_000 + n,
                    "state": state,
                    "not_before": now,
                }
                for n in range(HOUSEHOLDS)
            ]
            await session.exec(insert(Delivery), params=rows)
    if not is_sqlite(db.url):
        async with db.session() as session:  # what autovacuum does after a bulk load
            await session.exec(text("ANALYZE delivery"))


async def median_ms(work: Callable[[], Awaitable[int]]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        assert await work() == BATCH
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


async def measure(url: str) -> dict[str, float]:
    db = Database(url)
    await seed(db)

    async def claim() -> int:
        async with db.session() as session:
            claimed = await outbox.claim(session, BATCH, lane=0, lanes=LANES)
            await session.rollback()
        return len(claimed)

    async def bare_read() -> int:
        async with db.session() as session:
            return len((await session.exec(text(BARE_READ))).all())

    figures = {"claim_ms": await median_ms(claim), "bare_read_ms": await median_ms(bare_read)}
    async with db.session() as session:
        await session.exec(text("DROP INDEX ix_delivery_queue"))
    figures["claim_without_queue_index_ms"] = await median_ms(claim)
    await db.dispose()
    figures["vs_baseline"] = round(figures["claim_ms"] / figures["bare_read_ms"], 2)
    return figures


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    with tempfile.TemporaryDirectory() as folder, fresh_database(kind, Path(folder)) as url:
        figures = asyncio.run(measure(url))
    head = {"benchmark": "outbox_claim", "database": kind, "history": PAST_BROADCASTS * HOUSEHOLDS}
    print(json.dumps({**head, **figures}))


if __name__ == "__main__":
    main()
