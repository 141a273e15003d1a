"""Importing the registry from the files staff keep: CSV with or without BOM, XLSX, 中文 headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import col, func, select

from bot.flows import importing
from bot.flows.audit import CLI
from bot.flows.tables import TableError
from storage.models import Building, Community, Household
from tests.registry import DATA, import_sample_registry


async def count(db, table) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(table))).one()


async def test_sample_registry_imports_with_chinese_headers_and_suffixes(db):
    await import_sample_registry(db)
    assert await count(db, Community) == 3
    assert await count(db, Household) == 17
    async with db.session() as session:
        nanxi = (await session.exec(select(Community).where(Community.name == "南溪小区"))).one()
        buildings = (
            await session.exec(select(Building.name).where(Building.community_id == nanxi.id))
        ).all()
    assert nanxi.delivery_year == 1995 and nanxi.has_maintenance_fund is False
    assert sorted(buildings) == ["1", "2"]  # "1幢" and "2幢" are stored as their numbers


async def test_importing_the_same_files_twice_changes_nothing(db):
    await import_sample_registry(db)
    async with db.session() as session:
        again = await importing.import_households(session, DATA / "households.csv", CLI)
        communities = await importing.import_communities(session, DATA / "communities.csv", CLI)
    assert (again.created, again.unchanged) == (0, 17)
    assert (communities.created, communities.updated, communities.unchanged) == (0, 0, 3)
    assert await count(db, Household) == 17


async def test_xlsx_with_numbers_as_excel_stores_them(db, tmp_path: Path):
    await import_sample_registry(db)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["小区", "楼栋", "单元", "室"])
    sheet.append(["梅湾花园", 9, 1, 301])  # Excel keeps numbers as numbers
    sheet.append(["梅湾花园", 9, 1, 302.0])
    path = tmp_path / "more.xlsx"
    workbook.save(path)
    async with db.session() as session:
        result = await importing.import_households(session, path, CLI)
    assert result.created == 2
    async with db.session() as session:
        rooms = (await session.exec(select(Household.room).where(Household.room.like("30%")))).all()
    assert sorted(rooms) == ["301", "302"]


def write(tmp_path: Path, text: str, name: str = "households.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("小区,楼栋,单元,室\n南溪小区,3,1,101\n无名小区,1,1,101\n", "line 3, column 'community'"),
        ("小区,楼栋,单元,室\n南溪小区,3,1,101\n南溪小区,,1,102\n", "line 3, column 'building'"),
        ("小区,楼栋,单元,室\n南溪小区,3,1,101\n南溪小区,3,1,101\n", "same household as line 2"),
        ("小区,楼栋\n南溪小区,3\n", "missing column(s): room/室"),
        ("", "the file is empty"),
    ],
)
async def test_one_bad_row_imports_nothing_and_names_file_line_column(
    db, tmp_path, content, message
):
    await import_sample_registry(db)
    path = write(tmp_path, content)
    async with db.session() as session:
        with pytest.raises(TableError) as error:
            await importing.import_households(session, path, CLI)
    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert await count(db, Household) == 17


async def test_bad_year_and_flag_in_communities_are_named(db, tmp_path):
    path = write(tmp_path, "name,delivery_year\nA,1990\nB,199x\n", "communities.csv")
    async with db.session() as session:
        with pytest.raises(TableError, match="line 3, column 'delivery_year'"):
            await importing.import_communities(session, path, CLI)
    path = write(tmp_path, "小区,维修资金\nA,也许\n", "communities.csv")
    async with db.session() as session:
        with pytest.raises(TableError, match="line 2, column 'has_maintenance_fund'"):
            await importing.import_communities(session, path, CLI)
    assert await count(db, Community) == 0


async def test_files_that_are_not_tables_are_refused_clearly(db, tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("小区,楼栋,单元,室\n".encode("gb18030"))
    for path, message in [
        (latin1, "not UTF-8"),
        (write(tmp_path, "x", "list.txt"), "unsupported file type"),
        (tmp_path / "missing.csv", "file not found"),
        (write(tmp_path, "not a zip", "broken.xlsx"), "not a valid XLSX"),
    ]:
        async with db.session() as session:
            with pytest.raises(TableError, match=message):
                await importing.import_households(session, path, CLI)


async def buildings_of(db, community: str) -> list[str]:
    async with db.session() as session:
        statement = (
            select(Building.name)
            .join(Community, col(Building.community_id) == col(Community.id))
            .where(Community.name == community)
        )
        return sorted((await session.exec(statement)).all())


async def spellings_of(db, community: str) -> dict[str, str | None]:
    async with db.session() as session:
        statement = (
            select(Building.name, Building.spelling)
            .join(Community, col(Building.community_id) == col(Community.id))
            .where(Community.name == community)
        )
        return dict((await session.exec(statement)).all())


async def test_a_building_however_written_is_one_building(db, tmp_path: Path):
    await import_sample_registry(db)  # 南溪小区: buildings 1 and 2
    written = tmp_path / "written.csv"
    written.write_text(
        "小区,楼栋,单元,室\n"
        "南溪小区,三幢,一单元,101室\n"
        "南溪小区,3座,1单元,102\n"
        "南溪小区,3#,第一单元,201\n"
        "南溪小区,3号楼,1,202号\n"
        "南溪小区,３,１单元,３０１室\n"
        "南溪小区,03幢,1单元,302\n"
        "南溪小区,1号楼,1单元,601室\n",
        encoding="utf-8",
    )
    async with db.session() as session:
        result = await importing.import_households(session, written, CLI)
    assert result.created == 7
    assert await buildings_of(db, "南溪小区") == ["1", "2", "3"]
    assert await spellings_of(db, "南溪小区") == {"1": "1号楼", "2": None, "3": "三幢"}
    read = [(r.column, r.typed, r.read_as, r.rows) for r in result.readings]
    assert read == [
        ("building", "03幢", "3", 1),
        ("building", "1号楼", "1", 1),
        ("building", "3#", "3", 1),
        ("building", "3号楼", "3", 1),
        ("building", "3座", "3", 1),
        ("building", "三幢", "3", 1),
        ("building", "３", "3", 1),
        ("room", "202号", "202", 1),
        ("room", "３０１室", "301", 1),
        ("unit", "一单元", "1", 1),
        ("unit", "第一单元", "1", 1),
        ("unit", "１单元", "1", 1),
    ]

    plain = tmp_path / "plain.csv"
    plain.write_text(
        "小区,楼栋,单元,室\n"
        + "".join(f"南溪小区,3,1,{room}\n" for room in (101, 102, 201, 202, 301, 302))
        + "南溪小区,1,1,601\n",
        encoding="utf-8",
    )
    for again in (written, plain):
        async with db.session() as session:
            result = await importing.import_households(session, again, CLI)
        assert (result.created, result.unchanged) == (0, 7)
    assert result.readings == ()  # plain numbers are nothing to remark on
    # As the registry spells them now: the number alone, shown as the bot writes it.
    assert await spellings_of(db, "南溪小区") == {"1": None, "2": None, "3": None}
    assert await count(db, Household) == 17 + 7


async def test_one_household_written_two_ways_is_one_household(db, tmp_path: Path):
    await import_sample_registry(db)
    twice = tmp_path / "twice.csv"
    twice.write_text(
        "小区,楼栋,单元,室\n南溪小区,三幢,一单元,101室\n南溪小区,3,1,101\n", encoding="utf-8"
    )
    with pytest.raises(TableError, match="line 3, column 'room': same household as line 2"):
        async with db.session() as session:
            await importing.import_households(session, twice, CLI)
