"""Benchmark: the bot's resident set size, idle on a city's registry and after a rush of updates.

The database holds the whole city (140 communities, 1,225 buildings, 40,000
households) plus one community whose residents then play the updates
benchmark. ``linli run`` runs in a child process and its RSS is read from
/proc; the echo bot, measured the same way in the same run, is the baseline.
Prints one JSON line.

Usage: python -m bench.memory [sqlite|postgresql] [--residents 200] [--actions 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from bench.broadcast import start_sandbox
from bench.city import HOUSEHOLDS, write_city
from bench.databases import fresh_database
from bench.updates import load, prepare, questions_delivered, running
from bot.flows import importing
from bot.flows.audit import CLI
from storage.db import Database

SETTLE_SECONDS = 2.0


async def import_city(url: str, folder: Path) -> None:
    communities, households = write_city(folder)
    db = Database(url)
    try:
        async with db.session() as session:
            await importing.import_communities(session, communities, CLI)
            await importing.import_households(session, households, CLI)
    finally:
        await db.dispose()


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


async def measure(url: str, folder: Path, count: int, actions: int) -> dict:
    await import_city(url, folder)
    process, base = await start_sandbox(0)
    try:
        residents, round_id = await prepare(url, base, folder, count)
        votes = (f"v1:vote:{round_id}:agree", f"v1:vote:{round_id}:disagree")
        figures = {}
        for name, database in (("bot", url), ("baseline", None)):
            async with running(name, base, folder, database, webhook=False) as bot:
                if database is not None:
                    await questions_delivered(url)
                await asyncio.sleep(SETTLE_SECONDS)
                idle = bot.rss_kib()
                await load(base, bot, residents, actions, votes)
                await asyncio.sleep(SETTLE_SECONDS)
                figures[f"{name}_idle_mib"] = mib(idle)
                figures[f"{name}_after_updates_mib"] = mib(bot.rss_kib())
        return figures
    finally:
        process.terminate()
        await process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", nargs="?", default="sqlite")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--actions", type=int, default=6, help="updates per resident")
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(options.database, Path(folder)) as url,
    ):
        figures = asyncio.run(measure(url, Path(folder), options.residents, options.actions))
    result = {
        "benchmark": "memory",
        "database": options.database,
        "households": HOUSEHOLDS + options.residents,
        "updates": options.residents * options.actions,
        **figures,
        "idle_ratio": round(figures["bot_idle_mib"] / figures["baseline_idle_mib"], 2),
        "after_updates_ratio": round(
            figures["bot_after_updates_mib"] / figures["baseline_after_updates_mib"], 2
        ),
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
