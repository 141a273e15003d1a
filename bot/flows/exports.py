"""Tables for officials: CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from bot.flows.consultation import Ranked, percent_text
from bot.flows.menu import fen_text
from bot.flows.repair import FundReport, yuan
from bot.flows.round2 import MenuTally
from bot.flows.turnout import BuildingTurnout, Missing

RANKING_HEADERS = [
    "名次 rank",
    "小区 community",
    "征询 consultation",
    "总户数 households",
    "同意 agree",
    "不同意 disagree",
    "未答复 not answered",
    "通过比例 approval",
    "门槛 threshold",
    "结果 outcome",
    "截止 closed (UTC)",
]


def ranking_rows(ranked: Sequence[Ranked]) -> list[list[object]]:
    return [
        [
            r.position,
            r.tally.community,
            r.tally.title,
            r.tally.total,
            r.tally.agree,
            r.tally.disagree,
            r.tally.not_answered,
            r.tally.ratio_text,
            f"{r.tally.threshold_percent}%",
            "达到 reached" if r.tally.reached else "暂缓改造 postponed",
            r.tally.closed_at.strftime("%Y-%m-%d %H:%M"),
        ]
        for r in ranked
    ]


def write_csv(path: Path, headers: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(headers)
        writer.writerows(rows)


def write_xlsx(
    path: Path | BinaryIO, title: str, headers: list[str], rows: list[list[object]]
) -> None:
    from openpyxl import Workbook  # 10 MiB: imported by the first spreadsheet, not before
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for column in sheet.columns:
        width = max(len(str(cell.value or "")) for cell in column)
        sheet.column_dimensions[column[0].column_letter].width = min(40, width + 4)
    sheet.freeze_panes = "A2"
    workbook.save(path)


MENU_HEADERS = [
    "排名 rank",
    "编号 code",
    "项目 item",
    "类别 class",
    "估算金额（元） estimated cost (yuan)",
    "选择户数 households",
    "占总户数 share of all",
    "占答复户数 share of answered",
    "列入方案 in the plan",
    "说明 note",
]
CLASS_LABELS = {
    "basic": "基础类 basic",
    "improvement": "完善类 improvement",
    "upgrade": "提升类 upgrade",
}


def menu_rows(result: MenuTally) -> list[list[object]]:
    """One row per item of a round-2 menu, most chosen first."""
    plan_labels = {True: "是 yes", False: "否 no", None: ""}
    return [
        [
            position,
            row.item.code,
            f"{row.item.name_zh} {row.item.name_en}",
            CLASS_LABELS[row.item.item_class],
            fen_text(row.item.cost_fen),
            row.households,
            percent_text(result.share_of_all(row)),
            percent_text(result.share_of_answered(row)),
            plan_labels[row.in_plan],
            row.plan_note or "",
        ]
        for position, row in enumerate(result.items, start=1)
    ]


FUND_HEADERS = [
    "小区 community",
    "月份 month",
    "使用次数 uses",
    "金额（元） amount (yuan)",
    "业主及公共收益（元） owners (yuan)",
    "政府补助（元） government (yuan)",
]


def fund_rows(report: FundReport) -> list[list[object]]:
    """One row per community and month, then the totals."""
    rows: list[list[object]] = [
        [
            line.community,
            line.month,
            line.uses,
            yuan(line.cost_fen),
            yuan(line.owners_fen),
            yuan(line.government_fen),
        ]
        for line in report.lines
    ]
    rows.append(
        [
            "合计 total",
            "",
            report.uses,
            yuan(report.cost_fen),
            yuan(report.owners_fen),
            yuan(report.government_fen),
        ]
    )
    return rows


def write_fund_tables(report: FundReport, stem: Path) -> list[Path]:
    """The fund report as ``stem``.csv and ``stem``.xlsx; the files written."""
    rows = fund_rows(report)
    csv_path, xlsx_path = (stem.with_name(f"{stem.name}{suffix}") for suffix in (".csv", ".xlsx"))
    write_csv(csv_path, FUND_HEADERS, rows)
    write_xlsx(xlsx_path, "fund", FUND_HEADERS, rows)
    return [csv_path, xlsx_path]


MISSING_HEADERS = [
    "楼栋 building",
    "单元 unit",
    "室 room",
    "已绑定居民 residents bound",
    "需上门 visit",
    "答复 answer",
    "签字 signature",
]


def missing_rows(missing: Sequence[Missing]) -> list[list[object]]:
    """The door-knocking sheet: one row per household still without an answer, with
    empty columns for the grid worker to fill in at the door."""
    return [
        [
            m.address.building,
            m.address.unit,
            m.address.room,
            m.residents,
            "是 yes" if m.residents == 0 else "",
            "",
            "",
        ]
        for m in missing
    ]


TURNOUT_HEADERS = ["楼栋 building", "总户数 households", "已答复 answered", "答复率 turnout"]
CHANNEL_LABELS = {"bot": "机器人 bot", "paper": "纸质表 paper", "proxy": "代登记 proxy"}


def turnout_rows(
    buildings: Sequence[BuildingTurnout], channels: dict[str, int]
) -> list[list[object]]:
    """Turnout by building, the whole community, then how many answers came by each channel."""
    households = sum(b.households for b in buildings)
    answered = sum(b.answered for b in buildings)
    rows: list[list[object]] = [
        [b.building, b.households, b.answered, percent_text(Fraction(b.answered, b.households))]
        for b in buildings
    ]
    if households:
        rows.append(
            ["合计 total", households, answered, percent_text(Fraction(answered, households))]
        )
    rows += [[label, "", channels.get(channel, 0), ""] for channel, label in CHANNEL_LABELS.items()]
    return rows
