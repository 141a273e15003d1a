"""Open data: the programme's results as CSV files and a Frictionless Data Package.

The tables are the officials' own (``exports``): closed round 1 results with
turnout by building, the city ranking, the confirmed round 2 plans and the fund
report. Nothing goes below the building: a building with fewer than
``min_households`` households is not shown on its own, its figures are added up
with the community's other small buildings, so no household's answer can be read
off a tiny building.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.flows import consultation, exports, repair, round1_results, round2, turnout
from bot.flows.exports import Cell, Percent, SquareMetres, Table, Yuan
from bot.flows.round1_results import Round1Results
from bot.flows.turnout import BuildingTurnout
from storage.models import Community

MIN_HOUSEHOLDS = 5
SMALL_BUILDINGS = "少于{n}户的楼栋合计 buildings under {n} households, together"
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Resource:
    name: str  # the file's stem and the resource's name in the package
    title: str
    table: Table


async def resources(
    session: AsyncSession, settings: Settings, min_households: int = MIN_HOUSEHOLDS
) -> list[Resource]:
    """Every table of the package, anonymised."""
    zone = settings.zone
    closed = [t for t in await consultation.current_tallies(session) if t.status == "closed"]
    shares = settings.consultation.double_tally_shares
    results = await round1_results.results_of(
        session, closed, shares if settings.consultation.double_tally else None
    )
    round1, buildings = exports.results_tables(
        [_small_buildings_together(r, min_households) for r in results], zone
    )
    ranked = await consultation.ranking(session, zone=zone)
    channels = await turnout.channels_of(session, [r.tally.consultation_id for r in ranked])
    return [
        Resource("round1-results", "第一轮征询结果 Round 1 results", round1),
        Resource("round1-buildings", "第一轮按楼栋答复率 Round 1 turnout by building", buildings),
        Resource(
            "ranking",
            "改造顺序排名 Renovation ranking",
            exports.ranking_table(ranked, channels, zone),
        ),
        Resource("plans", "第二轮确定的改造方案 Round 2 confirmed plans", await _plans(session)),
        Resource(
            "fund",
            "危急维修资金使用 Emergency repair fund uses",
            exports.fund_table(await repair.fund_report(session, zone)),
        ),
    ]


def _small_buildings_together(result: Round1Results, min_households: int) -> Round1Results:
    kept = [b for b in result.buildings if b.households >= min_households]
    small = [b for b in result.buildings if b.households < min_households]
    if small:
        kept.append(
            BuildingTurnout(
                SMALL_BUILDINGS.format(n=min_households),
                sum(b.households for b in small),
                sum(b.answered for b in small),
                sum(b.agree for b in small),
                sum(b.disagree for b in small),
            )
        )
    return replace(result, buildings=kept)


async def _plans(session: AsyncSession) -> Table:
    """Each community's confirmed round 2 plan: the menu table, a community column first."""
    rows: list[list[Cell]] = []
    for community in await session.exec(select(Community).order_by(Community.name)):
        assert community.id is not None  # a stored row
        newest = await round2.newest(session, community.id)
        if newest is None or newest.id is None or newest.plan_confirmed_at is None:
            continue
        menu = exports.menu_table(await round2.tally(session, newest.id))
        rows += [[community.name, *row] for row in menu.rows]
    return Table("plans", ["小区 community", *exports.MENU_HEADERS], rows)


def write_package(folder: Path, tables: Sequence[Resource], created: datetime) -> Path:
    """The tables as ``folder``/NAME.csv and the ``datapackage.json`` describing them."""
    folder.mkdir(parents=True, exist_ok=True)
    described = []
    for resource in tables:
        path = f"{resource.name}.csv"
        exports.write_csv(folder / path, resource.table)
        described.append(
            {
                "name": resource.name,
                "title": resource.title,
                "path": path,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8-sig",  # exports' CSV: UTF-8 with the BOM Excel wants
                "schema": {"fields": _fields(resource.table)},
            }
        )
    package = {
        "profile": "tabular-data-package",
        "name": "linli-open-data",
        "title": "老旧小区改造公开数据 Old residential community renewal: open data",
        "description": (
            "按楼栋汇总，不含住户信息；少于5户的楼栋合并计算。时间为当地时间。"
            " Aggregated by building at the finest, no household data; buildings with few"
            " households are added up together. Times are the city's local time."
        ),
        "created": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": described,
    }
    descriptor = folder / "datapackage.json"
    descriptor.write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")
    return descriptor


def _fields(table: Table) -> list[dict[str, object]]:
    """Table Schema fields: each column typed by the cells it holds."""
    fields = []
    for index, header in enumerate(table.headers):
        kinds = {_field_type(row[index]) for row in table.rows if row[index] is not None}
        kind = dict(kinds.pop()) if len(kinds) == 1 else {"type": "string"}
        fields.append({"name": header, **kind})
    return fields


def _field_type(cell: Cell) -> tuple[tuple[str, object], ...]:
    if isinstance(cell, str):
        return (("type", "string"),)
    if isinstance(cell, int):
        return (("type", "integer"),)
    if isinstance(cell, Percent):  # written "80.0%"
        return (("type", "number"), ("bareNumber", False))
    if isinstance(cell, Yuan | SquareMetres):
        return (("type", "number"),)
    if isinstance(cell, datetime):
        return (("type", "datetime"), ("format", TIME_FORMAT))
    raise TypeError(f"no field type for {cell!r}")
