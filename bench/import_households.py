"""Benchmark: importing a city's households and issuing their invite codes.

Usage: python -m bench.import_households [sqlite|postgresql]

Baseline, in the same run on a second empty database: one multi-row INSERT of
the same 40,000 households through SQLAlchemy Core, with no reading, checking
or idempotence. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import select

from bench.city import HOUSEHOLDS, write_city
from bench.databases import fresh_database
from bot.flows import importing, invites
from bot.flows.audit import CLI
from storage.db import Database
from storage.models import Building, Community, Household


async def measure_linli(url: str, communities: Path, households: Path) -> dict[str, float]:
    db = Database(url)
    async with db.session() as session:
        await importing.import_communities(session, communities, CLI)
    started = time.perf_counter()
    async with db.session() as session:
        await importing.import_households(session, households, CLI)
    imported = time.perf_counter() - started
    started = time.perf_counter()
    async with db.session() as session:
        again = await importing.import_households(session, households, CLI)
    reimported = time.perf_counter() - started
    assert again.created == 0
    started = time.perf_counter()
    issued = 0
    async with db.session() as session:
        for community_id in (await session.exec(select(Community.id))).all():
            issued += len(await invites.issue_for_community(session, community_id, CLI))
    codes = time.perf_counter() - started
    assert issued == HOUSEHOLDS
    await db.dispose()
    return {"import_s": imported, "reimport_s": reimported, "invite_codes_s": codes}


async def measure_baseline(url: str) -> float:
    """Plain bulk INSERT of equivalent rows: the floor any importer stands on."""
    db = Database(url)
    async with db.session() as session:
        session.add(Community(name="基准"))
        await session.flush()
        community_id = (await session.exec(select(Community.id))).one()
        await session.exec(
            insert(Building),
            params=[{"community_id": community_id, "name": str(b)} for b in range(1225)],
        )
        building_ids = (await session.exec(select(Building.id))).all()
    rows = [
        {"building_id": building_ids[h % len(building_ids)], "unit": "1", "room": str(h)}
        for h in range(HOUSEHOLDS)
    ]
    started = time.perf_counter()
    async with db.session() as session:
        await session.exec(insert(Household), params=rows)
    elapsed = time.perf_counter() - started
    await db.dispose()
    return elapsed


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        communities, households = write_city(folder)
        with fresh_database(kind, folder) as url:
            linli = asyncio.run(measure_linli(url, communities, households))
        with fresh_database(kind, folder) as url:
            baseline = asyncio.run(measure_baseline(url))
    result = {
        "benchmark": "import_households",
        "database": kind,
        "households": HOUSEHOLDS,
        **{key: round(value, 3) for key, value in linli.items()},
        "baseline_bulk_insert_s": round(baseline, 3),
        "import_vs_baseline": round(linli["import_s"] / baseline, 2),
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
