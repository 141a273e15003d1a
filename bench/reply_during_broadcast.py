"""Benchmark: a resident is answered at once while a broadcast goes out.

The local Bot API server runs with Telegram's limits switched on (30 messages a
second in all); ``linli run`` runs with its outbox at the default pace, which
leaves headroom under that limit for interactive replies. Probe residents send
``/me`` one after another, first with nothing else going on (the baseline),
then while a notice goes out to ``--recipients`` residents. Reported: the
probes' answer times in both phases and their ratio, and the broadcast's rate,
429 answers and duplicates. Prints one JSON line.

Usage: python -m bench.reply_during_broadcast [sqlite|postgresql] [--recipients 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench.broadcast import pending, start_sandbox
from bench.crowd import crowd
from bench.databases import fresh_database
from bench.updates import LINLI_TOKEN, running
from bot.config import DeliverySettings
from bot.flows import notices
from bot.flows.audit import CLI
from sandbox.client import SandboxClient, user
from storage.db import Database

LIMIT = 30
PROBES = 30
PROBE_SPACING = 0.5  # seconds between one probe's answer and the next probe
FIRST_RECIPIENT = 6_000_000
FIRST_PROBE = 7_000_000


async def probe(telegram: SandboxClient, probe_id: int) -> float:
    """Seconds from a resident's /me to the bot's answer."""
    after = await telegram.last_seq()
    started = time.perf_counter()
    await telegram.send(user(probe_id, "探针"), "/me")
    await telegram.wait_for(probe_id, after=after, timeout=30)
    return time.perf_counter() - started


async def probes(telegram: SandboxClient, first: int, while_busy=None) -> list[float]:
    """Answer times of PROBES probes, stopping early once ``while_busy`` says it is over."""
    times = []
    for n in range(PROBES):
        if while_busy is not None and not await while_busy():
            break
        times.append(await probe(telegram, first + n))
        await asyncio.sleep(PROBE_SPACING)
    return times


def summary(times: list[float]) -> dict[str, float]:
    return {
        "probes": len(times),
        "p50_ms": round(1000 * statistics.median(times), 1),
        "max_ms": round(1000 * max(times), 1),
    }


async def measure(url: str, folder: Path, recipients: int) -> dict:
    process, base = await start_sandbox(LIMIT)
    db = Database(url)
    try:
        async with SandboxClient(base, LINLI_TOKEN) as telegram:
            residents = await crowd(db, telegram, folder, "基准小区", recipients, FIRST_RECIPIENT)
            rate = DeliverySettings().messages_per_second
            async with running("linli", base, folder, url, False, rate=rate):
                idle = await probes(telegram, FIRST_PROBE)
                async with db.session() as session:
                    audience = {
                        "kind": "communities",
                        "ids": await notices.community_ids_named(session, ["基准小区"]),
                    }
                    notice = await notices.create(session, CLI, "基准测试：停水通知", audience)
                    await notices.fire(session, notice.id, timedelta(minutes=5))
                started = time.perf_counter()
                busy = await probes(telegram, FIRST_PROBE + PROBES, lambda: pending(db))
                while await pending(db):
                    await asyncio.sleep(0.1)
                elapsed = time.perf_counter() - started
            stats = await telegram.stats()
            got = Counter(
                e["chat_id"]
                for e in await telegram.events()
                if e["kind"] == "message" and e["chat_id"] in set(residents)
            )
    finally:
        await db.dispose()
        process.terminate()
        await process.wait()
    during, baseline = summary(busy), summary(idle)
    return {
        "limit_per_s": LIMIT,
        "recipients": recipients,
        "broadcast_messages_per_s": round(recipients / elapsed, 1),
        "too_many_requests": stats["too_many_requests"],
        "duplicates": sum(n - 1 for n in got.values()),
        "missing": sum(1 for r in residents if got[r] == 0),
        "reply_during_broadcast": during,
        "reply_idle": baseline,
        "p50_ratio": round(during["p50_ms"] / baseline["p50_ms"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", nargs="?", default="sqlite")
    parser.add_argument("--recipients", type=int, default=1500)
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(options.database, Path(folder)) as url,
    ):
        figures = asyncio.run(measure(url, Path(folder), options.recipients))
    result = {"benchmark": "reply_during_broadcast", "database": options.database, **figures}
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
