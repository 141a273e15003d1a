"""Importing the registry: communities and households from CSV or XLSX.

An import is all or nothing: every row is checked before anything is written,
and the first bad row stops it with the file, line and column. Importing the
same file again changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.audit import Actor, record
from bot.flows.tables import Row, TableError, read_rows
from storage.models import Building, Community, Household

COMMUNITY_HEADERS = {
    "name": ("name", "community", "小区", "小区名称", "名称"),
    "district": ("district", "区", "区县", "所属区"),
    "street": ("street", "街道", "所属街道"),
    "delivery_year": ("delivery_year", "delivered", "交付年份", "建成年份", "竣工年份"),
    "has_maintenance_fund": (
        "has_maintenance_fund",
        "maintenance_fund",
        "维修资金",
        "有维修资金",
        "已建维修资金",
    ),
}
HOUSEHOLD_HEADERS = {
    "community": ("community", "小区", "小区名称"),
    "building": ("building", "楼栋", "楼号", "幢", "栋"),
    "unit": ("unit", "单元"),
    "room": ("room", "室", "房号", "户号", "门牌"),
    "floor_area": ("floor_area", "area", "建筑面积", "面积"),
}
_AREA = re.compile(r"(\d{1,6})(?:\.(\d{1,2}))?\s*(?:㎡|m2|m²|平方米|平米)?")
_YES = {"yes", "y", "true", "1", "是", "有", "已建"}
_NO = {"no", "n", "false", "0", "否", "无", "未建", ""}
# How people write a building, unit or room: "第三幢", "3座", "3#", "3号楼", "一单元", "101室".
_ADDRESS = {
    "building": re.compile(r"第?(?P<number>.+?)(?:号楼|号幢|幢|栋|座|楼|号|#)?"),
    "unit": re.compile(r"第?(?P<number>.+?)(?:单元)?"),
    "room": re.compile(r"(?P<number>.+?)(?:室|号)?"),
}
_CHINESE_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百]+")
# The spelling the bot itself writes ("3幢", "1单元", "101室"): read as its number unremarked.
_PLAIN_SUFFIX = {"building": "幢", "unit": "单元", "room": "室"}


@dataclass(frozen=True)
class Reading:
    """A spelling of a building, unit or room that the import read as a number."""

    column: str
    typed: str
    read_as: str
    rows: int


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    readings: tuple[Reading, ...] = ()


def _year(path: Path, row: Row, column: str) -> int | None:
    text = row.values.get(column, "")
    if not text:
        return None
    if not text.isdigit() or not 1900 <= int(text) <= 2100:
        raise TableError(path, row.line, column, "{typed!r} is not a year", typed=text)
    return int(text)


def _flag(path: Path, row: Row, column: str) -> bool:
    text = row.values.get(column, "").lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise TableError(path, row.line, column, "{typed!r} is not yes/no (是/否)", typed=text)


def _required(path: Path, row: Row, column: str, limit: int) -> str:
    text = row.values.get(column, "")
    if not text:
        raise TableError(path, row.line, column, "empty")
    if len(text) > limit:
        raise TableError(path, row.line, column, "longer than {limit} characters", limit=limit)
    return text


def _address_part(path: Path, row: Row, column: str, limit: int) -> str:
    """A building, unit or room as the registry keeps it (三幢 -> 3)."""
    text = row.values.get(column, "")
    if column != "unit":
        text = _required(path, row, column, limit)
    elif len(text) > limit:
        raise TableError(path, row.line, column, "longer than {limit} characters", limit=limit)
    return bare(column, text)


def bare(column: str, text: str) -> str:
    """A building, unit or room number as the registry keeps it, however it was written:
    三幢, 3座, 3#, 3号楼, ３ and 03幢 are building 3; 一单元 and 1单元 unit 1; 101室 room 101.
    A name that is no number (A座 -> A) keeps its letters; rooms keep their digits as typed."""
    typed = typed_spelling(text)
    found = _ADDRESS[column].fullmatch(typed)
    number = found["number"].strip() if found else typed
    if _CHINESE_NUMBER.fullmatch(number):
        import cn2an  # type: ignore[import-untyped]  # the numerals of 三幢, 十二栋; imported only where they are read

        try:
            number = str(cn2an.cn2an(number, "strict"))
        except ValueError:  # not a well-formed numeral: kept as written
            return number
    if column != "room" and number.isdigit():
        number = str(int(number))
    return number


def typed_spelling(text: str) -> str:
    """A spelling as typed, full-width ３ and ＃ made 3 and # (NFKC), without stray spaces."""
    return unicodedata.normalize("NFKC", text).strip()


def own_spelling(name: str, counts: Counter[str]) -> str | None:
    """How most of a building's rows spell it, kept for display where that is more than
    its number or the bot's own "3幢"."""
    spelling = counts.most_common(1)[0][0]
    return None if spelling in (name, name + _PLAIN_SUFFIX["building"]) else spelling[:50]


def _readings(spellings: dict[tuple[str, str], int]) -> tuple[Reading, ...]:
    """The spellings read as something else than they say, with the rows they were on;
    plain numbers and the bot's own "3幢", "1单元", "101室" go unremarked."""
    readings = []
    for (column, typed), rows in sorted(spellings.items()):
        read_as = bare(column, typed)
        if typed not in (read_as, read_as + _PLAIN_SUFFIX[column]):
            readings.append(Reading(column, typed, read_as, rows))
    return tuple(readings)


def _area(path: Path, row: Row) -> int | None:
    """建筑面积 in square metres ("85.5", "85.50㎡") as hundredths of a square metre."""
    text = row.values.get("floor_area", "")
    if not text:
        return None
    found = _AREA.fullmatch(text)
    if found is None or int(found[1]) == 0:
        raise TableError(path, row.line, "floor_area", "{typed!r} is not an area in m²", typed=text)
    return int(found[1]) * 100 + int((found[2] or "0").ljust(2, "0"))


async def import_communities(session: AsyncSession, path: Path, actor: Actor) -> ImportResult:
    rows = read_rows(path, COMMUNITY_HEADERS, required={"name"})
    wanted: dict[str, dict] = {}
    for row in rows:
        name = _required(path, row, "name", 100)
        if name in wanted:
            raise TableError(
                path, row.line, "name", "{name!r} appears twice in the file", name=name
            )
        wanted[name] = {
            "district": row.values.get("district", "")[:100],
            "street": row.values.get("street", "")[:100],
            "delivery_year": _year(path, row, "delivery_year"),
            "has_maintenance_fund": _flag(path, row, "has_maintenance_fund"),
        }
    existing = {c.name: c for c in (await session.exec(select(Community))).all()}
    created = updated = 0
    for name, fields in wanted.items():
        community = existing.get(name)
        if community is None:
            session.add(Community(name=name, **fields))
            created += 1
        elif any(getattr(community, key) != value for key, value in fields.items()):
            for key, value in fields.items():
                setattr(community, key, value)
            updated += 1
    result = ImportResult(created, updated, len(wanted) - created - updated)
    record(
        session,
        actor,
        "import/communities",
        path.name,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    return result


async def import_households(session: AsyncSession, path: Path, actor: Actor) -> ImportResult:
    rows = read_rows(path, HOUSEHOLD_HEADERS, required={"community", "building", "room"})
    communities = {
        name: id_ for id_, name in (await session.exec(select(Community.id, Community.name)))
    }
    wanted: dict[tuple[int, str, str, str], int] = {}  # address -> line
    areas: dict[tuple[int, str, str, str], int | None] = {}
    spellings: Counter[tuple[str, str]] = Counter()  # (column, as typed) -> rows
    # (community, building) -> how its rows spell it -> rows
    building_spellings: defaultdict[tuple[int | None, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        name = _required(path, row, "community", 100)
        if name not in communities:
            raise TableError(
                path,
                row.line,
                "community",
                "unknown community {name!r}; import it first",
                name=name,
            )
        key = (
            communities[name],
            _address_part(path, row, "building", 50),
            _address_part(path, row, "unit", 20),
            _address_part(path, row, "room", 20),
        )
        if key in wanted:
            raise TableError(
                path, row.line, "room", "same household as line {earlier}", earlier=wanted[key]
            )
        wanted[key] = row.line
        areas[key] = _area(path, row)
        spellings.update((column, row.values.get(column, "")) for column in _PLAIN_SUFFIX)
        building_spellings[key[:2]][typed_spelling(row.values["building"])] += 1

    buildings = {
        (community_id, name): id_
        for id_, community_id, name in await session.exec(
            select(Building.id, Building.community_id, Building.name)
        )
    }
    spelt = {key: own_spelling(key[1], counts) for key, counts in building_spellings.items()}
    new_buildings = sorted({(c, b) for c, b, _, _ in wanted} - buildings.keys())
    if new_buildings:
        await session.exec(
            insert(Building),
            params=[
                {"community_id": c, "name": b, "spelling": spelt[c, b]} for c, b in new_buildings
            ],
        )
    imported = select(Building).where(col(Building.community_id).in_({c for c, _ in spelt}))
    for building in await session.exec(imported):  # as the registry spells them now
        named = (building.community_id, building.name)
        if named in spelt and building.spelling != spelt[named]:
            building.spelling = spelt[named]
    buildings = {
        (community_id, name): id_
        for id_, community_id, name in await session.exec(
            select(Building.id, Building.community_id, Building.name)
        )
    }
    known = {
        (household.building_id, household.unit, household.room): household
        for household in await session.exec(select(Household))
    }
    new_households = [
        {
            "building_id": buildings[(c, b)],
            "unit": u,
            "room": r,
            "floor_area_dm2": areas[c, b, u, r],
        }
        for c, b, u, r in wanted
        if (buildings[(c, b)], u, r) not in known
    ]
    if new_households:
        await session.exec(insert(Household), params=new_households)
    updated = 0
    for (c, b, u, r), area in areas.items():
        existing = known.get((buildings[(c, b)], u, r))
        if existing is not None and area is not None and existing.floor_area_dm2 != area:
            existing.floor_area_dm2 = area
            updated += 1
    result = ImportResult(
        len(new_households),
        updated,
        len(wanted) - len(new_households) - updated,
        _readings(spellings),
    )
    record(
        session,
        actor,
        "import/households",
        path.name,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    return result
