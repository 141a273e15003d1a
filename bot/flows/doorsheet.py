"""The door-knocking sheet as a PDF to print: who is still missing, by building and unit.

Grid workers carry it along the corridors; households with no bound resident
are marked, since only a visit will reach them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.flows.charts import pyplot_loaded
from bot.flows.fonts import A4_INCHES, cjk_font_family
from bot.flows.turnout import Missing

LINES_PER_PAGE = 36
COLUMNS = ((0.06, "楼栋"), (0.18, "单元"), (0.30, "室"), (0.42, "已绑定"), (0.56, "答复 / 签字"))


def write_pdf(path: Path, heading: str, missing: Sequence[Missing]) -> int:
    """An A4 PDF listing the missing households, a line each; returns the pages."""
    pyplot = pyplot_loaded()  # matplotlib loads with the first sheet, not with the bot
    from matplotlib.backends.backend_pdf import PdfPages

    pages = 0
    with (
        pyplot.rc_context({"font.family": [cjk_font_family(), "DejaVu Sans"]}),
        PdfPages(path) as pdf,
    ):
        for start in range(0, max(len(missing), 1), LINES_PER_PAGE):
            figure = pyplot.figure(figsize=A4_INCHES)
            figure.text(0.06, 0.95, heading, fontsize=13)
            figure.text(0.06, 0.925, f"未答复 {len(missing)} 户 · 第 {pages + 1} 页", fontsize=8)
            for x, label in COLUMNS:
                figure.text(x, 0.89, label, fontsize=9, weight="bold")
            for index, m in enumerate(missing[start : start + LINES_PER_PAGE]):
                y = 0.86 - index * 0.023
                a = m.address
                cells = (
                    a.building,
                    a.unit,
                    a.room,
                    f"{m.residents}" + (" 需上门" if not m.residents else ""),
                )
                for (x, _), cell in zip(COLUMNS, cells, strict=False):
                    figure.text(x, y, cell, fontsize=9)
                figure.add_artist(
                    pyplot.Line2D([0.56, 0.94], [y - 0.006, y - 0.006], color="#999999", lw=0.5)
                )
            pdf.savefig(figure)
            pyplot.close(figure)
            pages += 1
    return pages
