"""Open data: `linli export open-data` writes a Data Package that Frictionless validates,
with nothing below the building and small buildings added up together."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import frictionless

from bot.flows import round2
from bot.flows.audit import CLI
from storage.db import Database
from tests.registry import import_sample_registry
from tests.test_consultation import close_round1
from tests.test_repair import file, seed_fund_year
from tests.test_round2 import choose, open_menu, passed_round1


async def seed_programme(db: Database) -> dict[str, int]:
    """南溪小区 (two buildings of 6) agreed and confirmed a plan with I01; 运南新村 (one
    building of 3) agreed 1 of 3 and was postponed; the fund was used 3 times in 2025 for
    3,000 yuan; one of 南溪小区's residents has a roof leak waiting in the queue. Returns
    南溪小区's residents by household."""
    await import_sample_registry(db)
    residents = await passed_round1(db, "南溪小区")
    menu_id = (await open_menu(db, "南溪小区")).id
    assert menu_id is not None
    for telegram_id in residents.values():
        await choose(db, menu_id, telegram_id, "I01")
    async with db.session() as session:
        await round2.close(session, menu_id, CLI)
    async with db.session() as session:
        await round2.confirm_plan(session, menu_id, CLI)
    await close_round1(db, "运南新村", agreeing=1)
    await seed_fund_year(db, 2025, 3, 300_000)
    await file(db, residents["1-1-101"])
    return residents


def export(database_url: str, folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "export", "open-data", *args],
        capture_output=True,
        text=True,
        cwd=folder,
        env={"LINLI_DATABASE__URL": database_url, "PATH": "/usr/bin:/bin"},
    )


def rows(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / f"{name}.csv", encoding="utf-8-sig", newline="") as table:
        return list(csv.DictReader(table))


async def test_the_package_validates_and_holds_every_table(db, database_url, tmp_path):
    await seed_programme(db)
    done = export(database_url, tmp_path, "--out", "open")
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "open"
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    names = [resource["name"] for resource in package["resources"]]
    assert names == ["round1-results", "round1-buildings", "ranking", "plans", "fund"]
    ranking = {f["name"]: f for f in package["resources"][2]["schema"]["fields"]}
    assert ranking["总户数 households"]["type"] == "integer"
    assert ranking["通过比例 approval"] == {
        "name": "通过比例 approval",
        "type": "number",
        "bareNumber": False,
    }
    assert ranking["截止 closed"]["type"] == "datetime"

    assert [
        (r["名次 rank"], r["小区 community"], r["通过比例 approval"])
        for r in rows(folder, "ranking")
    ] == [
        ("1", "南溪小区", "100.0%"),
        ("2", "运南新村", "33.3%"),
    ]
    plan = {r["编号 code"]: r["列入方案 in the plan"] for r in rows(folder, "plans")}
    assert plan["I01"] == "是 yes"
    fund = rows(folder, "fund")[-1]
    assert (fund["使用次数 uses"], fund["金额 amount"]) == ("3", "3000.00")
    assert (fund["业主及公共收益 owners"], fund["政府补助 government"]) == ("600.00", "2400.00")
    assert "written:" in done.stdout


FIGURES = ("总户数 households", "已答复 answered", "同意 agree", "不同意 disagree")


async def test_nothing_goes_below_the_building_and_small_buildings_are_added_up(
    db, database_url, tmp_path
):
    await seed_programme(db)
    assert export(database_url, tmp_path, "--out", "open").returncode == 0
    folder = tmp_path / "open"
    buildings = [
        tuple(r[column] for column in ("小区 community", "楼栋 building", *FIGURES))
        for r in rows(folder, "round1-buildings")
    ]
    assert buildings == [
        ("南溪小区", "1", "6", "6", "6", "0"),
        ("南溪小区", "2", "6", "6", "6", "0"),
        (
            "运南新村",
            "少于5户的楼栋合计 buildings under 5 households, together",
            "3",
            "1",
            "1",
            "0",
        ),
    ]
    every_cell = "".join(path.read_text(encoding="utf-8-sig") for path in folder.glob("*.csv"))
    for private in ("101", "单元", "1-1-101"):  # rooms, units, residents (named by address)
        assert private not in every_cell
    assert export(database_url, tmp_path, "--out", "all", "--min-households", "3").returncode == 0
    shown = [r["楼栋 building"] for r in rows(tmp_path / "all", "round1-buildings")]
    assert shown == ["1", "2", "5"]


async def test_an_empty_programme_is_a_valid_package_of_empty_tables(db, database_url, tmp_path):
    await import_sample_registry(db)
    assert export(database_url, tmp_path, "--out", "open").returncode == 0
    report = frictionless.validate(str(tmp_path / "open" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert rows(tmp_path / "open", "plans") == []
