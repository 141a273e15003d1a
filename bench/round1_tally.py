"""Benchmark: round-1 tallies and the city ranking at city scale.

140 communities, 1,225 buildings, 40,000 households, every household has
answered. linli's live tally (``current_tallies``) and ranking are timed next
to a hand-written SQL GROUP BY over the same tables in the same run; medians
of several runs. Prints one JSON line.

Usage: python -m bench.round1_tally [sqlite|postgresql]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import select

from bench.city import HOUSEHOLDS, write_city
from bench.databases import fresh_database
from bot.flows import consultation, importing
from bot.flows.audit import CLI
from storage.db import Database
from storage.models import Ballot, Building, Community, Household
from storage.types import utcnow

RUNS = 5
BASELINE_TALLY = """
SELECT c.id, c.total_households,
       SUM(CASE WHEN b.choice = 'agree' THEN 1 ELSE 0 END) AS agree,
       SUM(CASE WHEN b.choice = 'disagree' THEN 1 ELSE 0 END) AS disagree
FROM consultation c LEFT JOIN ballot b ON b.consultation_id = c.id
WHERE c.round = 1
GROUP BY c.id, c.total_households
"""
BASELINE_RANKING = """
SELECT c.community_id, c.agree, c.total_households,
       c.agree * 100 >= c.threshold_percent * c.total_households AS reached
FROM consultation c
WHERE c.round = 1 AND c.status = 'closed'
ORDER BY reached DESC, CAST(c.agree AS FLOAT) / c.total_households DESC, c.agree DESC,
         c.closed_at
"""


async def seed(db: Database, folder: Path) -> list[int]:
    """The city, one open round per community, and a ballot from every household."""
    communities, households = write_city(folder)
    async with db.session() as session:
        await importing.import_communities(session, communities, CLI)
        await importing.import_households(session, households, CLI)
    opened = []
    async with db.session() as session:
        for community_id in (await session.exec(select(Community.id))).all():
            item = await consultation.open_round1(
                session,
                community_id,
                "改造意愿征询",
                "同意改造吗？",
                utcnow() + timedelta(days=7),
                CLI,
            )
            opened.append(item.id)
        rows = await session.exec(
            select(Household.id, Building.community_id, Community.id)
            .join(Building, Household.building_id == Building.id)
            .join(Community, Building.community_id == Community.id)
        )
        by_community = dict(
            zip(
                (await session.exec(select(Community.id).order_by(Community.id))).all(),
                sorted(opened),
                strict=True,
            )
        )
        now = utcnow()
        ballots = [
            {
                "consultation_id": by_community[community_id],
                "household_id": household_id,
                "choice": "agree" if household_id % 7 else "disagree",
                "cast_by": household_id,
                "cast_at": now,
            }
            for household_id, community_id, _ in rows
        ]
        await session.exec(insert(Ballot), params=ballots)
    assert len(ballots) == HOUSEHOLDS
    return opened


async def median_seconds(work: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(url: str, folder: Path) -> dict[str, float]:
    db = Database(url)
    opened = await seed(db, folder)

    async def linli_tally() -> None:
        async with db.session() as session:
            tallies = await consultation.current_tallies(session)
        assert sum(t.answered for t in tallies) == HOUSEHOLDS

    async def sql(statement: str) -> None:
        async with db.session() as session:
            (await session.exec(text(statement))).all()

    figures = {
        "tally_s": await median_seconds(linli_tally),
        "baseline_tally_s": await median_seconds(lambda: sql(BASELINE_TALLY)),
    }
    started = time.perf_counter()
    for consultation_id in opened:
        async with db.session() as session:
            await consultation.close(session, consultation_id, CLI)
    figures["close_all_s"] = time.perf_counter() - started

    async def linli_ranking() -> None:
        async with db.session() as session:
            assert len(await consultation.ranking(session)) == len(opened)

    figures["ranking_s"] = await median_seconds(linli_ranking)
    figures["baseline_ranking_s"] = await median_seconds(lambda: sql(BASELINE_RANKING))
    await db.dispose()
    return figures


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    with tempfile.TemporaryDirectory() as folder, fresh_database(kind, Path(folder)) as url:
        figures = asyncio.run(measure(url, Path(folder)))
    result = {
        "benchmark": "round1_tally",
        "database": kind,
        "communities": 140,
        "households": HOUSEHOLDS,
        **{key: round(value, 4) for key, value in figures.items()},
        "tally_vs_baseline": round(figures["tally_s"] / figures["baseline_tally_s"], 2),
        "ranking_vs_baseline": round(figures["ranking_s"] / figures["baseline_ranking_s"], 2),
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
