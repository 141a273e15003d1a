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
from bot.i18n import text

LINES_PER_PAGE = 36
# Where each column starts across the page, and the catalogue key of its heading.
COLUMNS = (
    (0.06, "doorsheet.building"),
    (0.18, "doorsheet.unit"),
    (0.30, "doorsheet.room"),
    (0.42, "doorsheet.bound"),
    (0.56, "doorsheet.answer"),
)


def write_pdf(
    path: Path, language: str, community: str, title: str, missing: Sequence[Missing]
) -> int:
    """An A4 PDF listing the missing households, a line each, in ``language``; returns
    the pages."""
    pyplot = pyplot_loaded()  # matplotlib loads with the first sheet, not with the bot
    from matplotlib.backends.backend_pdf import PdfPages

    pages = 0
    with (
        pyplot.rc_context({"font.family": [cjk_font_family(), "DejaVu Sans"]}),
        PdfPages(path) as pdf,
    ):
        for start in range(0, max(len(missing), 1), LINES_PER_PAGE):
            figure = pyplot.figure(figsize=A4_INCHES)
            heading = text(language, "doorsheet.heading", community=community, title=title)
            figure.text(0.06, 0.95, heading, fontsize=13)
            page = text(language, "doorsheet.page", missing=len(missing), page=pages + 1)
            figure.text(0.06, 0.925, page, fontsize=8)
            for x, key in COLUMNS:
                figure.text(x, 0.89, text(language, key), fontsize=9, weight="bold")
            for index, m in enumerate(missing[start : start + LINES_PER_PAGE]):
                y = 0.86 - index * 0.023
                a = m.address
                cells = (
                    a.building,
                    a.unit,
                    a.room,
                    text(
                        language,
                        "doorsheet.visit" if not m.residents else "doorsheet.residents",
                        residents=m.residents,
                    ),
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
