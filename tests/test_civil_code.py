"""The Civil Code's double tally beside the 80% rule: by households and by floor area."""

from __future__ import annotations

from fractions import Fraction

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.config import Settings
from bot.flows import civil_code, consultation, importing
from bot.flows.audit import CLI
from bot.flows.tables import TableError
from storage.models import Household
from tests import test_cli
from tests.test_cli_rounds import shown
from tests.test_consultation import bind_all, open_round, vote

TWO_THIRDS, THREE_QUARTERS = Fraction(2, 3), Fraction(3, 4)
linli = test_cli.linli


async def registry_with_areas(db, tmp_path, areas: list[str]) -> None:
    (tmp_path / "c.csv").write_text("小区\n东栅小区\n", encoding="utf-8")
    rows = ["小区,楼栋,单元,室,建筑面积"]
    rows += [f"东栅小区,1,1,{101 + i},{area}" for i, area in enumerate(areas)]
    (tmp_path / "h.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    async with db.session() as session:
        await importing.import_communities(session, tmp_path / "c.csv", CLI)
        await importing.import_households(session, tmp_path / "h.csv", CLI)


async def counted(db, opened) -> civil_code.DoubleTally | None:
    async with db.session() as session:
        found = await session.get(consultation.Consultation, opened.id)
        return await civil_code.double_tally(session, found, TWO_THIRDS, THREE_QUARTERS)


async def test_households_and_area_both_count(db, tmp_path):
    # Six flats: five small ones and one large one holding most of the area.
    await registry_with_areas(db, tmp_path, ["50", "50", "50", "50", "50.5㎡", "300.25"])
    async with db.session() as session:
        stored = sorted(await session.exec(select(Household.floor_area_dm2)))
    assert stored == [5000, 5000, 5000, 5000, 5050, 30025]
    residents = sorted((await bind_all(db, "东栅小区")).values())
    opened = await open_round(db, "东栅小区")
    for telegram_id in residents[:5]:  # the five small flats agree
        await vote(db, opened.id, telegram_id, "agree")
    result = await counted(db, opened)
    # 5/6 households take part, but only 250.50 of 550.75 m²: below two thirds of the area.
    assert (result.participating, result.participating_dm2, result.area_dm2) == (5, 25050, 55075)
    assert not result.participation_reached and not result.reached
    assert civil_code.values(result)["area"] == "550.75"

    await vote(db, opened.id, residents[5], "disagree")  # the large flat disagrees
    result = await counted(db, opened)
    assert result.participation_reached
    # 5/6 households agree (83.3% >= 75%), but 250.50 of 550.75 m² (45.4%) do not.
    assert not result.agreement_reached and not result.reached
    async with db.session() as session:
        tally = await consultation.tally(session, opened.id)
    assert tally.reached  # the programme's 80% rule is unchanged: 5/6 households agree

    await vote(db, opened.id, residents[5], "agree")
    assert (await counted(db, opened)).reached


async def test_no_double_tally_without_every_floor_area(db, tmp_path):
    await registry_with_areas(db, tmp_path, ["60", ""])
    opened = await open_round(db, "东栅小区")
    assert await counted(db, opened) is None


async def test_a_floor_area_is_checked_and_updated(db, tmp_path):
    await registry_with_areas(db, tmp_path, ["60", "70"])
    with pytest.raises(TableError) as refused:
        await registry_with_areas(db, tmp_path, ["60", "七十"])
    assert "line 3, column 'floor_area'" in str(refused.value)
    (tmp_path / "h.csv").write_text(
        "小区,楼栋,单元,室,建筑面积\n东栅小区,1,1,101,61.5\n", encoding="utf-8"
    )
    async with db.session() as session:
        result = await importing.import_households(session, tmp_path / "h.csv", CLI)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)


def test_the_shares_are_settings():
    assert Settings().consultation.double_tally is False
    shares = Settings(consultation={"double_tally_agreeing": "0.8"}).consultation
    assert shares.double_tally_shares == (TWO_THIRDS, Fraction(4, 5))
    with pytest.raises(ValueError):
        Settings(consultation={"double_tally_participating": "3/2"})


async def test_results_show_it_when_asked(db, tmp_path, linli):
    await registry_with_areas(db, tmp_path, ["60", "60", "60"])
    residents = sorted((await bind_all(db, "东栅小区")).values())
    opened = await open_round(db, "东栅小区")
    for telegram_id in residents[:2]:
        await vote(db, opened.id, telegram_id, "agree")
    assert len(shown(linli("consult", "results"))) == 1  # off by default
    (tmp_path / "config.toml").write_text("[consultation]\ndouble_tally = true\n", "utf-8")
    lines = shown(linli("consult", "results"))
    assert "approval 66.6%\tthreshold 80% below" in lines[0]
    assert lines[1] == (
        "\tCivil Code art. 278 (shown beside the 80% rule, which it does not change): "
        "taking part 2/3 households, 120.00/180.00 m² (each at least 2/3); of them agreeing "
        "2 households (100.0%), 120.00 m² (100.0%) (each at least 3/4 of the participants): "
        "reached"
    )

    # The results as a spreadsheet: the round, its turnout and channels, the double tally
    # in square metres, then the turnout of each building.
    assert shown(linli("consult", "results", "--out", "results.xlsx"))[-1] == (
        "written: results.xlsx"
    )
    workbook = load_workbook(tmp_path / "results.xlsx")
    results, buildings = workbook.worksheets
    header, row = ([cell.value for cell in line] for line in results.iter_rows(max_row=2))
    figures = dict(zip(header, row, strict=True))
    assert figures["总户数 households"] == 3 and figures["同意 agree"] == 2
    assert figures["通过比例 approval"] == 0.666 and figures["答复率 turnout"] == 0.666
    assert figures["结果 outcome"] == "未达到 below"
    assert figures["答复渠道：机器人 bot"] == 2
    assert figures["参与面积（㎡） their area (m²)"] == 120
    assert figures["民法典结果 Civil Code outcome"] == "达到 reached"
    assert results["H2"].number_format == "0.0%" and results["K2"].is_date
    assert [[cell.value for cell in line] for line in buildings.iter_rows(min_row=2)] == [
        ["东栅小区", "1", 3, 2, 0.666, 2, 0]
    ]
    refused = linli("consult", "results", "--out", "results.csv")
    assert refused.returncode != 0 and "请写.xlsx" in refused.stderr
