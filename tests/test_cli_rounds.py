"""Both consultation rounds through the ``linli`` command, as an operator runs them.

Residents' presses go through the flows (as the bot would make them); everything
staff do goes through the real entry point, in a subprocess against the test
database. Each step checks what the operator sees and what changed in storage.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import func, select

from bot.flows import exports
from storage.models import (
    AuditEvent,
    Broadcast,
    Community,
    Consultation,
    ConsultationItem,
    Delivery,
    MenuItem,
    Renovation,
)
from tests import test_cli
from tests.registry import import_sample_registry
from tests.test_consultation import bind_all, close_round1, vote
from tests.test_round2 import choose

linli = test_cli.linli  # the same fixture: ``linli ARGS`` in a fresh folder
ROUND1 = "老旧小区改造意愿征询"  # the titles ``consult open`` gives by default
ROUND2 = "老旧小区改造方案征询"
OVERRIDE = "区政府同意先行试点"
FUTURE = "2099-12-20 18:00"


def a_week_ahead(settings) -> tuple[str, datetime]:
    """A closing time as an operator types it (local, to the minute) and as meant."""
    meant = (datetime.now(settings.zone) + timedelta(days=7)).replace(second=0, microsecond=0)
    return f"{meant:%Y-%m-%d %H:%M}", meant


def shown(result) -> list[str]:
    """The lines a command that succeeded printed."""
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def refused(result) -> str:
    """The one line a command that refused printed: exit code 2, no traceback."""
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("linli: ")
    return line


def round1_line(community: str, status: str, total: int, agree: int, disagree: int) -> str:
    """A line of ``consult results``, ``close`` and ``ranking`` (threshold 80%)."""
    answered = agree + disagree
    tenths = (agree * 2000 + total) // (2 * total)  # one decimal, rounded half up
    verdict = "reached" if agree * 100 >= 80 * total else "below"
    return (
        f"{community}\t{ROUND1}\t{status}\thouseholds {total}\tanswered {answered}\t"
        f"agree {agree}\tdisagree {disagree}\tno answer {total - answered}\t"
        f"approval {tenths // 10}.{tenths % 10}%\tthreshold 80% {verdict}"
    )


async def fetch(db, statement) -> list:
    async with db.session() as session:
        return list(await session.exec(statement))


async def consultations(db, round_: int) -> dict[str, Consultation]:
    """The round's consultations by community name."""
    rows = await fetch(
        db,
        select(Community.name, Consultation)
        .join(Community, Community.id == Consultation.community_id)
        .where(Consultation.round == round_),
    )
    return dict(rows)


async def audited(db, action: str) -> list[AuditEvent]:
    return await fetch(
        db, select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    )


# Round 1


async def test_round1_open_watch_close_rank_and_export(db, linli, settings, tmp_path: Path):
    await import_sample_registry(db)
    households = {"运南新村": 3, "南溪小区": 12}
    residents = {name: sorted((await bind_all(db, name)).values()) for name in households}
    typed, meant = a_week_ahead(settings)
    for name, total in households.items():
        done = linli("consult", "open", "--community", name, "--round", "1", "--closes", typed)
        assert shown(done) == [f"round 1 open for {name}: {total} households, closes {typed}"]
    opened = await consultations(db, 1)
    assert {name: c.total_households for name, c in opened.items()} == households
    assert all(c.closes_at == meant and c.status == "open" for c in opened.values())
    assert await fetch(db, select(func.count()).select_from(Delivery)) == [15]  # the question

    for telegram_id in residents["运南新村"]:
        await vote(db, opened["运南新村"].id, telegram_id, "agree")
    nanxi = residents["南溪小区"]
    for telegram_id in nanxi[:9]:
        await vote(db, opened["南溪小区"].id, telegram_id, "agree")
    await vote(db, opened["南溪小区"].id, nanxi[9], "disagree")

    assert shown(linli("consult", "results")) == [
        round1_line("南溪小区", "open", 12, 9, 1),  # 75.0%: below, over all twelve
        round1_line("运南新村", "open", 3, 3, 0),
    ]
    for name, total, agree, disagree in [("运南新村", 3, 3, 0), ("南溪小区", 12, 9, 1)]:
        assert shown(linli("consult", "close", "--community", name)) == [
            round1_line(name, "closed", total, agree, disagree)
        ]
    renovation = dict(await fetch(db, select(Community.name, Community.renovation)))
    assert renovation["运南新村"] == Renovation.QUEUED
    assert renovation["南溪小区"] == Renovation.POSTPONED
    assert [e.actor for e in await audited(db, "consultation/close")] == ["cli", "cli"]
    again = linli("consult", "close", "--community", "运南新村")
    assert refused(again) == "linli: 运南新村没有进行中的第一轮征询"
    assert shown(linli("consult", "results", "--community", "运南新村")) == [
        round1_line("运南新村", "closed", 3, 3, 0)
    ]

    ranking = [
        f"1\t{round1_line('运南新村', 'closed', 3, 3, 0)}",
        f"2\t{round1_line('南溪小区', 'closed', 12, 9, 1)}",
    ]
    this_year = datetime.now(settings.zone).year
    assert shown(linli("consult", "ranking")) == ranking
    assert shown(linli("consult", "ranking", "--year", str(this_year))) == ranking
    assert shown(linli("consult", "ranking", "--year", str(this_year - 1))) == []

    exported = linli("consult", "export", "--out", "ranking.csv")
    assert shown(exported) == ["2 communities: ranking.csv and ranking.xlsx"]
    closed = {  # on the city's clock, as everywhere else
        name: c.closed_at.astimezone(settings.zone)
        for name, c in (await consultations(db, 1)).items()
        if c.closed_at is not None
    }
    with open(tmp_path / "ranking.csv", encoding="utf-8-sig", newline="") as file:
        assert list(csv.reader(file)) == [
            exports.RANKING_HEADERS,
            ["1", "运南新村", ROUND1, "3", "3", "0", "0", "100.0%", "80.0%", "达到 reached",
             f"{closed['运南新村']:%Y-%m-%d %H:%M}", "100.0%", "3", "0", "0"],
            ["2", "南溪小区", ROUND1, "12", "9", "1", "2", "75.0%", "80.0%", "暂缓改造 postponed",
             f"{closed['南溪小区']:%Y-%m-%d %H:%M}", "83.3%", "10", "0", "0"],
        ]  # fmt: skip
    sheet = load_workbook(tmp_path / "ranking.xlsx")["ranking"]
    assert [c.value for c in sheet[1]] == exports.RANKING_HEADERS
    second = [c.value for c in sheet[3]]
    # Counts are numbers, so Excel can sum them; shares are percentages; times are times.
    assert second[:10] == [2, "南溪小区", ROUND1, 12, 9, 1, 2, 0.75, 0.8, "暂缓改造 postponed"]
    assert second[11:] == [0.833, 10, 0, 0]
    assert [sheet.cell(3, column).number_format for column in (8, 9, 12)] == ["0.0%"] * 3
    assert sheet["K3"].is_date and sheet["K3"].number_format == "yyyy-mm-dd hh:mm"
    assert f"{sheet['K3'].value:%Y-%m-%d %H:%M}" == f"{closed['南溪小区']:%Y-%m-%d %H:%M}"


# Round 2


async def test_round2_opens_after_round1_passed_or_with_a_recorded_override(db, linli, settings):
    await import_sample_registry(db)
    await close_round1(db, "运南新村", agreeing=3)
    await close_round1(db, "南溪小区", agreeing=9)  # 75%: postponed
    typed, _ = a_week_ahead(settings)

    def open_round2(community: str, *more: str):
        return linli(
            "consult", "open", "--community", community, "--round", "2", "--closes", typed, *more
        )

    not_passed = (
        "linli: 这个小区的第一轮意愿征询没有达到门槛，不能开启方案征询。"
        "管理员可以在命令行注明理由后开启。"
    )
    for community in ("南溪小区", "梅湾花园"):  # fell short; never consulted
        assert refused(open_round2(community)) == not_passed
    assert await consultations(db, 2) == {}

    assert shown(open_round2("南溪小区", "--override-reason", OVERRIDE)) == [
        f"round 2 open for 南溪小区: 12 households, closes {typed}"
    ]
    assert shown(open_round2("运南新村")) == [
        f"round 2 open for 运南新村: 3 households, closes {typed}"
    ]
    again = open_round2("运南新村")
    assert refused(again) == "linli: 运南新村已经有一个进行中的第二轮（方案）征询。"
    opened = await consultations(db, 2)
    assert {name: c.override_reason for name, c in opened.items()} == {
        "南溪小区": OVERRIDE,
        "运南新村": None,
    }
    events = [e for e in await audited(db, "consultation/open") if e.details["round"] == 2]
    assert [(e.actor, e.details["community"], e.details["override_reason"]) for e in events] == [
        ("cli", "南溪小区", OVERRIDE),
        ("cli", "运南新村", None),
    ]


def write_catalogue_files(folder: Path) -> tuple[Path, Path, Path]:
    """The same catalogue in the three formats staff send: five items, X01 basic.

    The TOML file also gives X01 a new cost.
    """
    as_csv = folder / "menu.csv"
    as_csv.write_text(
        "编号,类别,估算金额,名称,英文名称\n"
        "X01,基础类,50000,屋面防水,Roof waterproofing\n"
        "X02,完善类,1200.50,口袋公园,Pocket park\n",
        encoding="utf-8",
    )
    as_xlsx = folder / "menu.xlsx"
    workbook = Workbook()
    workbook.active.append(["code", "class", "cost_yuan", "name_zh", "name_en"])
    workbook.active.append(["X03", "upgrade", 300, "快递柜", "Parcel lockers"])
    workbook.active.append(["X04", "improvement", 8000, "充电桩", "EV chargers"])
    workbook.save(as_xlsx)
    as_toml = folder / "menu.toml"
    as_toml.write_text(
        '[[item]]\ncode = "X05"\nclass = "提升类"\ncost_yuan = 20000\n'
        'name_zh = "老年食堂"\nname_en = "Canteen for the elderly"\n\n'
        '[[item]]\ncode = "X01"\nclass = "basic"\ncost_yuan = 60000\n'
        'name_zh = "屋面防水"\nname_en = "Roof waterproofing"\n',
        encoding="utf-8",
    )
    return as_csv, as_xlsx, as_toml


async def test_menu_import_then_round2_results_close_plan_confirm_export(
    db, linli, settings, tmp_path: Path
):
    await import_sample_registry(db)
    residents = await close_round1(db, "运南新村", agreeing=3)

    as_csv, as_xlsx, as_toml = write_catalogue_files(tmp_path)
    assert shown(linli("menu", "import", str(as_csv))) == [
        "menu items: 2 new, 0 updated, 0 unchanged"
    ]
    assert shown(linli("menu", "import", str(as_xlsx))) == [
        "menu items: 2 new, 0 updated, 0 unchanged"
    ]
    assert shown(linli("menu", "import", str(as_toml))) == [
        "menu items: 1 new, 1 updated, 0 unchanged"
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("编号,类别,估算金额,名称\nX06,完善类,100,花坛\nX07,豪华类,100,喷泉\n", "utf-8")
    assert refused(linli("menu", "import", str(bad))) == (
        f"linli: {bad}第3行'class'列：请用basic/基础类、improvement/完善类或upgrade/提升类"
    )
    costs = dict(await fetch(db, select(MenuItem.code, MenuItem.cost_fen)))
    assert costs == {  # the loaded catalogue alone (not the shipped one); bad.csv added nothing
        "X01": 6_000_000,
        "X02": 120_050,
        "X03": 30_000,
        "X04": 800_000,
        "X05": 2_000_000,
    }

    typed, _ = a_week_ahead(settings)
    opened = linli(
        "consult", "open", "--community", "运南新村", "--round", "2", "--closes", typed,
        "--max-items", "2", "--inclusion", "50",
    )  # fmt: skip
    assert shown(opened) == [f"round 2 open for 运南新村: 3 households, closes {typed}"]
    (menu_round,) = (await consultations(db, 2)).values()
    assert (menu_round.max_items, menu_round.inclusion_percent) == (2, 50)
    on_menu = select(func.count()).where(ConsultationItem.consultation_id == menu_round.id)
    assert await fetch(db, on_menu) == [5]

    await choose(db, menu_round.id, residents[0], "X02", "X03")
    await choose(db, menu_round.id, residents[1], "X02")  # the third household does not answer

    def results(state: str, plan: dict[str, str] | None = None) -> list[str]:
        """``menu results`` as expected; ``plan``: each item's plan column, once drawn."""
        counts = [
            ("X02", "口袋公园", "2\t66.6% of all\t100.0% of answered"),
            ("X03", "快递柜", "1\t33.3% of all\t50.0% of answered"),  # exactly the 50%
            ("X04", "充电桩", "0\t0.0% of all\t0.0% of answered"),
            ("X05", "老年食堂", "0\t0.0% of all\t0.0% of answered"),
            ("X01", "屋面防水", "0\t0.0% of all\t0.0% of answered"),  # basic: last
        ]
        return [f"运南新村\t{ROUND2}\t{state}\thouseholds 3\tanswered 2"] + [
            f"{code}\t{name}\t{figures}" + (f"\t{plan[code]}" if plan else "")
            for code, name, figures in counts
        ]

    watched = linli("menu", "results", "--community", "运南新村")
    assert shown(watched) == results("open")

    drawn = {
        "X02": "in plan",
        "X03": "in plan",
        "X04": "not in plan",
        "X05": "not in plan",
        "X01": "in plan",
    }
    closed = linli("menu", "close", "--community", "运南新村")
    assert shown(closed) == results("closed, plan to confirm", drawn)
    watched = linli("menu", "results", "--community", "运南新村")
    assert shown(watched) == results("closed, plan to confirm", drawn)

    remove = ("menu", "plan", "--community", "运南新村", "--reason", "与道路工程冲突", "--remove")
    changed = {**drawn, "X03": "not in plan\t与道路工程冲突"}
    assert shown(linli(*remove, "X03")) == results("closed, plan to confirm", changed)
    assert refused(linli(*remove, "X01")) == ("linli: 基础类项目无论如何都会实施，不能取消。")
    neither = linli("menu", "plan", "--community", "运南新村", "--reason", "x")
    assert refused(neither) == "linli: 请指定--remove 编号或--include 编号其中之一"
    (removal,) = await audited(db, "plan/remove")
    assert (removal.actor, removal.details) == ("cli", {"item": "X03", "reason": "与道路工程冲突"})

    confirmed = linli("menu", "confirm", "--community", "运南新村")
    assert shown(confirmed) == ["plan of 运南新村 confirmed: 2 items"]
    (confirmation,) = await audited(db, "plan/confirm")
    assert confirmation.details == {"plan": ["X02", "X01"]}
    plan_messages = await fetch(
        db,
        select(Broadcast.message_key, func.count())
        .join(Delivery, Delivery.broadcast_id == Broadcast.id)
        .where(Broadcast.kind == "consultation.plan")
        .group_by(Broadcast.message_key),
    )
    assert sorted(plan_messages) == [("menu.plan", 3), ("menu.plan_chart", 3)]  # every resident
    (chart,) = await fetch(
        db, select(Broadcast.photo).where(Broadcast.message_key == "menu.plan_chart")
    )
    assert chart.startswith(b"\x89PNG")

    # The newest round 2 is still found once its plan is confirmed (it used not to be).
    watched = linli("menu", "results", "--community", "运南新村")
    assert shown(watched) == results("closed, plan confirmed", changed)
    exported = linli("menu", "export", "--community", "运南新村", "--out", "menu.csv")
    assert shown(exported) == ["5 items: menu.csv and menu.xlsx"]
    header, *rows = load_workbook(tmp_path / "menu.xlsx")["menu"].iter_rows(values_only=True)
    assert list(header) == exports.MENU_HEADERS
    # The choosable items ranked; the basic one after them, without a place in the ranking.
    assert rows[0][:5] == (1, "X02", "口袋公园 Pocket park", "完善类 improvement", 1200.5)
    assert [row[:2] + row[5:] for row in rows] == [
        (1, "X02", 2, 0.666, 1.0, "是 yes", None),
        (2, "X03", 1, 0.333, 0.5, "否 no", "与道路工程冲突"),
        (3, "X04", 0, 0.0, 0.0, "否 no", None),
        (4, "X05", 0, 0.0, 0.0, "否 no", None),
        (None, "X01", 0, 0.0, 0.0, "是 yes", exports.BASIC_NOTE),
    ]
    sheet = load_workbook(tmp_path / "menu.xlsx")["menu"]
    assert sheet["E2"].number_format == exports.MONEY_FORMAT
    assert (sheet["G2"].number_format, sheet["H2"].number_format) == ("0.0%", "0.0%")
    with open(tmp_path / "menu.csv", encoding="utf-8-sig", newline="") as file:
        assert [row[:2] + row[4:8] for row in list(csv.reader(file))[1:]] == [
            ["1", "X02", "1200.50", "2", "66.6%", "100.0%"],
            ["2", "X03", "300.00", "1", "33.3%", "50.0%"],
            ["3", "X04", "8000.00", "0", "0.0%", "0.0%"],
            ["4", "X05", "20000.00", "0", "0.0%", "0.0%"],
            ["", "X01", "60000.00", "0", "0.0%", "0.0%"],
        ]

    for args, refusal in [
        (("confirm",), "linli: 这个方案已经确认过了。"),
        (("close",), "linli: 这个征询已经结束了。"),
        (
            ("plan", "--include", "X04", "--reason", "补充"),
            "linli: 这个方案已经确认过了。",
        ),
    ]:
        assert refused(linli("menu", *args, "--community", "运南新村")) == refusal
    assert len(await audited(db, "plan/confirm")) == 1
    assert await audited(db, "plan/include") == []


# Mistakes


OPEN = ("consult", "open", "--closes", FUTURE, "--community")
NO_COMMUNITY = "linli: 没有名为'无名小区'的小区"
MISTAKES = [  # what the operator typed, and the one line they see
    ((*OPEN, "无名小区"), NO_COMMUNITY),
    (
        ("consult", "open", "--community", "运南新村", "--closes", "2099/12/20 18:00"),
        "linli: 时间'2099/12/20 18:00'：请写成\"2026-12-20 18:00\"这样",
    ),
    (
        ("consult", "open", "--community", "运南新村", "--closes", "2020-01-01 08:00"),
        "linli: 截止时间必须在将来。",  # a refusal of the flow, in the shell's language
    ),
    ((*OPEN, "运南新村", "--round", "3"), "linli: --round只能是1或2"),
    ((*OPEN, "运南新村", "--threshold", "0"), "linli: 通过门槛必须在 1% 到 100% 之间。"),
    (
        (*OPEN, "运南新村", "--round", "2", "--override-reason", OVERRIDE, "--budget", "abc"),
        "linli: 'abc'不是以元为单位的金额",
    ),
    (
        ("consult", "close", "--community", "运南新村"),
        "linli: 运南新村没有进行中的第一轮征询",
    ),
    (("consult", "results", "--community", "无名小区"), NO_COMMUNITY),
    (("menu", "results", "--community", "运南新村"), "linli: 运南新村没有第二轮征询"),
    (("menu", "close", "--community", "无名小区"), NO_COMMUNITY),
    (("menu", "import", "nowhere.csv"), "linli: nowhere.csv：找不到文件"),
]


@pytest.mark.parametrize(("args", "line"), MISTAKES)
async def test_mistakes_get_one_clear_line_and_change_nothing(db, linli, args, line):
    await import_sample_registry(db)
    assert refused(linli(*args)) == line
    assert await fetch(db, select(func.count()).select_from(Consultation)) == [0]
    assert await fetch(db, select(func.count()).select_from(MenuItem)) == [0]
