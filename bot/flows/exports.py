"""Tables for officials: CSV (UTF-8 with BOM, so Excel shows Chinese) and XLSX."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.flows.consultation import Ranked

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
