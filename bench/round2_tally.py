"""Benchmark: round-2 tallies and plans at city scale.

140 communities, 1,225 buildings, 40,000 households; every community has an
open round-2 menu of the shipped 25 items and every household has chosen 3
to 8 of them. linli's tally of every menu (``round2.tally``) and the plan
drawn from it are timed next to one hand-written SQL aggregate over the same
tables in the same run; medians of several runs. Prints one JSON line.

Usage: python -m bench.round2_tally [sqlite|postgresql]
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import select

from bench.city import HOUSEHOLDS, write_city
from bench.databases import fresh_database
from bench.round1_tally import median_seconds
from bot.flows import importing, menu, round2
from bot.flows.audit import CLI
from storage.db import Database
from storage.models import Ballot, Building, Community, Household, ItemClass, Selection
from storage.types import utcnow

BASELINE = """
SELECT s.consultation_id, s.item_id, COUNT(*) AS households
FROM selection s
GROUP BY s.consultation_id, s.item_id
"""


async def seed(db: Database, folder: Path) -> list[int]:
    """The city, a round-2 menu per community (round 1 waived), and every household's order."""
    communities, households = write_city(folder)
    async with db.session() as session:
        await importing.import_communities(session, communities, CLI)
        await importing.import_households(session, households, CLI)
    async with db.session() as session:
        await menu.ensure_catalogue(session, CLI)
        choosable = [
            item.id for item in await menu.catalogue(session) if item.item_class != ItemClass.BASIC
        ]
        opened = {}
        for community_id in (await session.exec(select(Community.id))).all():
            found = await round2.open_round2(
                session,
                community_id,
                "改造方案征询",
                "请选择",
                utcnow() + timedelta(days=7),
                CLI,
                override_reason="benchmark",
            )
            opened[community_id] = found.id
        rows = (
            await session.exec(
                select(Household.id, Building.community_id).join(
                    Building, Household.building_id == Building.id
                )
            )
        ).all()
        chance, now = random.Random(2026), utcnow()
        ballots, selections = [], []
        for household_id, community_id in rows:
            consultation_id = opened[community_id]
            ballots.append(
                {
                    "consultation_id": consultation_id,
                    "household_id": household_id,
                    "choice": round2.ANSWERED,
                    "cast_by": household_id,
                    "cast_at": now,
                }
            )
            for item_id in chance.sample(choosable, chance.randint(3, 8)):
                selections.append(
                    {
                        "consultation_id": consultation_id,
                        "household_id": household_id,
                        "item_id": item_id,
                    }
                )
        await session.exec(insert(Ballot), params=ballots)
        await session.exec(insert(Selection), params=selections)
    assert len(ballots) == HOUSEHOLDS
    return list(opened.values())


async def measure(url: str, folder: Path) -> dict[str, float]:
    db = Database(url)
    opened = await seed(db, folder)

    async def linli_tallies_and_plans() -> None:
        answered = 0
        async with db.session() as session:
            for consultation_id in opened:
                result = await round2.tally(session, consultation_id)
                round2.draw_plan(result)
                answered += result.answered
        assert answered == HOUSEHOLDS

    async def baseline() -> None:
        async with db.session() as session:
            (await session.exec(text(BASELINE))).all()

    figures = {
        "tally_and_plan_s": await median_seconds(linli_tallies_and_plans),
        "baseline_s": await median_seconds(baseline),
    }
    await db.dispose()
    return figures


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    with tempfile.TemporaryDirectory() as folder, fresh_database(kind, Path(folder)) as url:
        figures = asyncio.run(measure(url, Path(folder)))
    result = {
        "benchmark": "round2_tally",
        "database": kind,
        "communities": 140,
        "households": HOUSEHOLDS,
        "menu_items": 25,
        **{key: round(value, 4) for key, value in figures.items()},
        "vs_baseline": round(figures["tally_and_plan_s"] / figures["baseline_s"], 2),
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
