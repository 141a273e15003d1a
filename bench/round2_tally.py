"""Benchmark: round-2 tallies and plans at city scale.

140 communities, 1,225 buildings, 40,000 households; every community has an
open round-2 menu of 25 items to choose from (a catalogue of the benchmark's
own, loaded as staff load theirs, beside the shipped basic items, which are
done anyway and cannot be chosen) and every household has chosen 3 to 8 of
those 25. linli's tally of every menu (``round2.tally``) and the plan drawn
from it are timed next to one hand-written SQL aggregate over the same tables
in the same run; medians of several runs. Prints one JSON line.

Usage: python -m bench.round2_tally [sqlite|postgresql]
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bench.city import HOUSEHOLDS, write_city
from bench.databases import fresh_database
from bench.round1_tally import median_seconds
from bot.flows import importing, menu, round2
from bot.flows.audit import CLI
from storage.db import Database
from storage.models import Ballot, Building, Community, Household, ItemClass, Selection
from storage.types import utcnow

CHOOSABLE = 25
CHOICES = (3, 8)  # the fewest and most items a household chooses
BENCH_CODES = [f"X{n:02d}" for n in range(1, CHOOSABLE + 1)]
BASELINE = """
SELECT s.consultation_id, s.item_id, COUNT(*) AS households
FROM selection s
GROUP BY s.consultation_id, s.item_id
"""


def write_catalogue(folder: Path) -> Path:
    """The benchmark's 25 improvement and upgrade items, as a CSV staff would import."""
    path = folder / "menu.csv"
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["编号", "类别", "估算金额", "名称"])
        for n, code in enumerate(BENCH_CODES, start=1):
            item_class = "完善类" if n % 2 else "提升类"
            writer.writerow([code, item_class, 50_000 + 20_000 * n, f"改造项目{n:02d}"])
    return path


async def menu_codes(session: AsyncSession, folder: Path) -> list[str]:
    """The codes of the benchmark's menu: the shipped basic items and its own 25."""
    await menu.ensure_catalogue(session, CLI)
    await menu.load_catalogue(session, write_catalogue(folder), CLI)
    catalogue = await menu.catalogue(session)
    return [item.code for item in catalogue if item.item_class == ItemClass.BASIC] + BENCH_CODES


async def seed(db: Database, folder: Path) -> tuple[list[int], int]:
    """The city, a round-2 menu per community (round 1 waived), and every household's order;
    the consultations' ids and the number of items chosen in all."""
    communities, households = write_city(folder)
    async with db.session() as session:
        await importing.import_communities(session, communities, CLI)
        await importing.import_households(session, households, CLI)
    async with db.session() as session:
        codes = await menu_codes(session, folder)
        opened = {}
        for community_id in (await session.exec(select(Community.id))).all():
            found = await round2.open_round2(
                session,
                community_id,
                "改造方案征询",
                "请选择",
                utcnow() + timedelta(days=7),
                CLI,
                codes=codes,
                override_reason="benchmark",
            )
            opened[community_id] = found.id
        served = await round2.menu_of(session, found.id)  # every menu has the same items
        choosable = [item.id for item in served.choosable]
        assert len(choosable) == CHOOSABLE
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
            for item_id in chance.sample(choosable, chance.randint(*CHOICES)):
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
    return list(opened.values()), len(selections)


async def measure(url: str, folder: Path) -> tuple[dict[str, float], int]:
    """The timings, and the number of items chosen in all."""
    db = Database(url)
    opened, chosen = await seed(db, folder)

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
    return figures, chosen


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    with tempfile.TemporaryDirectory() as folder, fresh_database(kind, Path(folder)) as url:
        figures, chosen = asyncio.run(measure(url, Path(folder)))
    result = {
        "benchmark": "round2_tally",
        "database": kind,
        "communities": 140,
        "households": HOUSEHOLDS,
        "choosable_items": CHOOSABLE,
        "choices_per_household": f"{CHOICES[0]}-{CHOICES[1]}",
        "items_chosen": chosen,
        **{key: round(value, 4) for key, value in figures.items()},
        "vs_baseline": round(figures["tally_and_plan_s"] / figures["baseline_s"], 2),
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
