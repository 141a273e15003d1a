"""Tables for officials: CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX.

Cells keep their kind, so a spreadsheet can sum and sort them: counts are
numbers, money is yuan as a number with a yuan format, shares are percentages,
times are the city's clock (Asia/Shanghai by default) as spreadsheet times. A
CSV writes each the way people read it.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

from bot.flows.civil_code import DoubleTally, area_text
from bot.flows.consultation import Ranked, Tally, percent_text
from bot.flows.repair import FundReport
from bot.flows.round1_results import Round1Results
from bot.flows.round2 import MenuTally
from bot.flows.turnout import BuildingTurnout, Missing
from storage.models import ItemClass

MONEY_FORMAT = '#,##0.00" 元"'
AREA_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
TIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class Yuan:
    """An amount kept in fen, shown as yuan."""

    fen: int

    @property
    def number(self) -> Decimal:
        return Decimal(self.fen) / 100


@dataclass(frozen=True)
class Percent:
    """A share, rounded down to a tenth of a percent as everywhere else: a
    spreadsheet never shows 80.0% for a share that did not reach 80%."""

    share: Fraction

    @property
    def number(self) -> float:
        return (self.share.numerator * 1000 // self.share.denominator) / 1000


@dataclass(frozen=True)
class SquareMetres:
    """A floor area kept in hundredths of a square metre."""

    dm2: int

    @property
    def number(self) -> Decimal:
        return Decimal(self.dm2) / 100


Cell = str | int | Yuan | Percent | SquareMetres | datetime | None


@dataclass(frozen=True)
class Table:
    title: str  # the sheet's name
    headers: list[str]
    rows: list[list[Cell]]


def cell_text(cell: Cell) -> str:
    """A cell as a CSV (or a terminal) shows it."""
    if cell is None:
        return ""
    if isinstance(cell, Yuan):
        return f"{cell.number:.2f}"
    if isinstance(cell, Percent):
        return percent_text(cell.share)
    if isinstance(cell, SquareMetres):
        return area_text(cell.dm2)
    if isinstance(cell, datetime):
        return cell.strftime("%Y-%m-%d %H:%M")
    return str(cell)


def write_csv(path: Path | str, table: Table) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(table.headers)
        writer.writerows([cell_text(cell) for cell in row] for row in table.rows)


def write_xlsx(path: Path | BinaryIO, *tables: Table) -> None:
    """One sheet per table, in order."""
    from openpyxl import Workbook  # 10 MiB: imported by the first spreadsheet, not before
    from openpyxl.styles import Font

    workbook = Workbook()
    del workbook[workbook.sheetnames[0]]  # the empty sheet a new workbook starts with
    for table in tables:
        sheet = workbook.create_sheet(table.title[:31])
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_value(cell) for cell in row])
            for cell, written in zip(row, sheet[sheet.max_row], strict=True):
                if (number_format := _format(cell)) is not None:
                    written.number_format = number_format
        for column, header in zip(sheet.columns, table.headers, strict=True):
            width = max(
                [len(header)] + [len(cell_text(row[column[0].column - 1])) for row in table.rows]
            )
            sheet.column_dimensions[column[0].column_letter].width = min(40, width + 4)
        sheet.freeze_panes = "A2"
    workbook.save(path)


def _value(cell: Cell) -> object:
    if isinstance(cell, Yuan | Percent | SquareMetres):
        return cell.number
    return cell


def _format(cell: Cell) -> str | None:
    if isinstance(cell, Yuan):
        return MONEY_FORMAT
    if isinstance(cell, Percent):
        return PERCENT_FORMAT
    if isinstance(cell, SquareMetres):
        return AREA_FORMAT
    if isinstance(cell, datetime):
        return TIME_FORMAT
    return None


def local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    """A stored UTC moment as the city's clock shows it, without a zone (spreadsheets have none)."""
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None)


CHANNEL_LABELS = {"bot": "机器人 bot", "paper": "纸质表 paper", "proxy": "代登记 proxy"}
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
    "截止 closed",
    "答复率 turnout",
    *(f"答复渠道：{label}" for label in CHANNEL_LABELS.values()),
]


def ranking_table(
    ranked: Sequence[Ranked], channels: dict[int, dict[str, int]], zone: tzinfo
) -> Table:
    """The city's ranking; ``channels`` counts each round's answers by channel."""
    rows: list[list[Cell]] = []
    for r in ranked:
        tally = r.tally
        by_channel = channels.get(tally.consultation_id, {})
        rows.append(
            [
                r.position,
                tally.community,
                tally.title,
                tally.total,
                tally.agree,
                tally.disagree,
                tally.not_answered,
                Percent(tally.ratio),
                Percent(Fraction(tally.threshold_percent, 100)),
                "达到 reached" if tally.reached else "暂缓改造 postponed",
                local(tally.closed_at, zone),
                Percent(Fraction(tally.answered, tally.total)),
                *(by_channel.get(channel, 0) for channel in CHANNEL_LABELS),
            ]
        )
    return Table("ranking", RANKING_HEADERS, rows)


MENU_HEADERS = [
    "排名 rank",
    "编号 code",
    "项目 item",
    "类别 class",
    "估算金额 estimated cost",
    "选择户数 households",
    "占总户数 share of all",
    "占答复户数 share of answered",
    "列入方案 in the plan",
    "说明 note",
]
CLASS_LABELS: dict[str, str] = {
    ItemClass.BASIC: "基础类 basic",
    ItemClass.IMPROVEMENT: "完善类 improvement",
    ItemClass.UPGRADE: "提升类 upgrade",
}
BASIC_NOTE = "基础类必改，不参与排名 basic: always done, not ranked"


def menu_table(result: MenuTally) -> Table:
    """The choosable items ranked, most chosen first; then the basic items, which are in
    the plan anyway and take no place in the ranking."""
    plan_labels = {True: "是 yes", False: "否 no", None: ""}
    choosable = [row for row in result.items if row.item.item_class != ItemClass.BASIC]
    basic = [row for row in result.items if row.item.item_class == ItemClass.BASIC]
    ranks: list[int | None] = [*range(1, len(choosable) + 1), *[None] * len(basic)]
    rows: list[list[Cell]] = [
        [
            rank,
            row.item.code,
            f"{row.item.name_zh} {row.item.name_en}",
            CLASS_LABELS[row.item.item_class],
            Yuan(row.item.cost_fen),
            row.households,
            Percent(result.share_of_all(row)),
            Percent(result.share_of_answered(row)),
            plan_labels[row.in_plan],
            row.plan_note or (BASIC_NOTE if rank is None else None),
        ]
        for rank, row in zip(ranks, [*choosable, *basic], strict=True)
    ]
    return Table("menu", MENU_HEADERS, rows)


FUND_HEADERS = [
    "小区 community",
    "月份 month",
    "使用次数 uses",
    "金额 amount",
    "业主及公共收益 owners",
    "政府补助 government",
]


def fund_table(report: FundReport) -> Table:
    """One row per community and month, then the totals."""
    rows: list[list[Cell]] = [
        [
            line.community,
            line.month,
            line.uses,
            Yuan(line.cost_fen),
            Yuan(line.owners_fen),
            Yuan(line.government_fen),
        ]
        for line in report.lines
    ]
    rows.append(
        [
            "合计 total",
            None,
            report.uses,
            Yuan(report.cost_fen),
            Yuan(report.owners_fen),
            Yuan(report.government_fen),
        ]
    )
    return Table("fund", FUND_HEADERS, rows)


def write_fund_tables(report: FundReport, stem: Path) -> list[Path]:
    """The fund report as ``stem``.csv and ``stem``.xlsx; the files written."""
    table = fund_table(report)
    csv_path, xlsx_path = (stem.with_name(f"{stem.name}{suffix}") for suffix in (".csv", ".xlsx"))
    write_csv(csv_path, table)
    write_xlsx(xlsx_path, table)
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


def missing_table(missing: Sequence[Missing]) -> Table:
    """The door-knocking sheet: one row per household still without an answer, with
    empty columns for the grid worker to fill in at the door."""
    rows: list[list[Cell]] = [
        [
            m.address.building,
            m.address.unit,
            m.address.room,
            m.residents,
            "是 yes" if m.residents == 0 else None,
            None,
            None,
        ]
        for m in missing
    ]
    return Table("missing", MISSING_HEADERS, rows)


TURNOUT_HEADERS = ["楼栋 building", "总户数 households", "已答复 answered", "答复率 turnout"]


def turnout_table(buildings: Sequence[BuildingTurnout], channels: dict[str, int]) -> Table:
    """Turnout by building, the whole community, then how many answers came by each channel."""
    households = sum(b.households for b in buildings)
    answered = sum(b.answered for b in buildings)
    rows: list[list[Cell]] = [
        [b.building, b.households, b.answered, Percent(Fraction(b.answered, b.households))]
        for b in buildings
    ]
    if households:
        rows.append(["合计 total", households, answered, Percent(Fraction(answered, households))])
    rows += [
        [label, None, channels.get(channel, 0), None] for channel, label in CHANNEL_LABELS.items()
    ]
    return Table("turnout", TURNOUT_HEADERS, rows)


RESULTS_HEADERS = [
    "小区 community",
    "征询 consultation",
    "状态 status",
    "总户数 households",
    "同意 agree",
    "不同意 disagree",
    "未答复 not answered",
    "通过比例 approval",
    "门槛 threshold",
    "结果 outcome",
    "截止 closes",
    "答复率 turnout",
    *(f"答复渠道：{label}" for label in CHANNEL_LABELS.values()),
]
CIVIL_CODE_HEADERS = [
    "民法典：参与户数 Civil Code: households taking part",
    "参与面积（㎡） their area (m²)",
    "同意户数 households agreeing",
    "同意面积（㎡） their area (m²)",
    "民法典结果 Civil Code outcome",
]
STATUS_LABELS = {"open": "进行中 open", "closed": "已结束 closed"}
BUILDING_HEADERS = ["小区 community", *TURNOUT_HEADERS, "同意 agree", "不同意 disagree"]


def results_tables(results: Sequence[Round1Results], zone: tzinfo) -> list[Table]:
    """Round 1 of each community, a row each (with the Civil Code's tally where it was
    counted), and the turnout of every building."""
    with_civil_code = any(r.double_tally is not None for r in results)
    rows: list[list[Cell]] = []
    for result in results:
        tally = result.tally
        row: list[Cell] = [
            tally.community,
            tally.title,
            STATUS_LABELS.get(tally.status, tally.status),
            tally.total,
            tally.agree,
            tally.disagree,
            tally.not_answered,
            Percent(tally.ratio),
            Percent(Fraction(tally.threshold_percent, 100)),
            _outcome(tally),
            local(tally.closed_at or tally.closes_at, zone),
            Percent(Fraction(tally.answered, tally.total)),
            *(result.channels.get(channel, 0) for channel in CHANNEL_LABELS),
        ]
        if with_civil_code:
            row += _civil_code_cells(result.double_tally)
        rows.append(row)
    headers = RESULTS_HEADERS + (CIVIL_CODE_HEADERS if with_civil_code else [])
    buildings: list[list[Cell]] = [
        [
            result.tally.community,
            b.building,
            b.households,
            b.answered,
            _share(b.answered, b.households),
            b.agree,
            b.disagree,
        ]
        for result in results
        for b in result.buildings
    ]
    return [Table("results", headers, rows), Table("buildings", BUILDING_HEADERS, buildings)]


def _outcome(tally: Tally) -> str:
    if tally.reached:
        return "达到 reached"
    return "暂缓改造 postponed" if tally.status == "closed" else "未达到 below"


def _share(part: int, whole: int) -> Percent | None:
    return Percent(Fraction(part, whole)) if whole else None


def _civil_code_cells(double: DoubleTally | None) -> list[Cell]:
    if double is None:
        return [None, None, None, None, "无面积数据 no floor areas"]
    return [
        double.participating,
        SquareMetres(double.participating_dm2),
        double.agreeing,
        SquareMetres(double.agreeing_dm2),
        "达到 reached" if double.reached else "未达到 below",
    ]
