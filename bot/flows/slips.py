"""Invite slips to print and hand out: a CSV list and a PDF sheet with QR codes.

Each slip carries the household's address, its code and a QR code of the
deep link ``https://t.me/<bot>?start=<code>`` that binds in one tap.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import qrcode  # noqa: E402
from matplotlib import pyplot  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from bot.flows.fonts import A4_INCHES, cjk_font_family  # noqa: E402
from bot.flows.invites import Slip, grouped  # noqa: E402
from bot.flows.registry import address_text  # noqa: E402

COLUMNS, ROWS = 2, 4


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def _address_line(slip: Slip) -> str:
    """The address as residents read it: slips are printed in Chinese."""
    return address_text("zh_Hans", slip.address)


def write_csv(path: Path, slips: Sequence[Slip], bot_username: str) -> None:
    """A spreadsheet of the slips (UTF-8 with BOM so that Excel shows Chinese)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["小区", "楼栋", "单元", "室", "邀请码", "链接"])
        for slip in slips:
            a = slip.address
            writer.writerow(
                [
                    a.community,
                    a.building,
                    a.unit,
                    a.room,
                    grouped(slip.code),
                    deep_link(bot_username, slip.code),
                ]
            )


def _qr_matrix(link: str) -> list[list[bool]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(link)
    return code.get_matrix()


def _draw_slip(
    figure, slip: Slip, bot_username: str, left: float, bottom: float, width: float, height: float
) -> None:
    figure.add_artist(
        Rectangle(
            (left, bottom),
            width,
            height,
            transform=figure.transFigure,
            fill=False,
            linestyle="--",
            linewidth=0.6,
            edgecolor="#888888",
        )
    )
    qr_size = height * 0.62
    qr_axes = figure.add_axes((left + width * 0.60, bottom + height * 0.22, width * 0.36, qr_size))
    qr_axes.imshow(
        _qr_matrix(deep_link(bot_username, slip.code)), cmap="binary", interpolation="nearest"
    )
    qr_axes.set_axis_off()
    x = left + width * 0.05

    def line(y: float, text: str, size: float, **style) -> None:
        figure.text(x, bottom + height * y, text, fontsize=size, va="center", **style)

    line(0.86, "邻里 · 住户邀请码", 13)
    line(0.76, "linli household invite", 8, color="#555555")
    line(0.60, _address_line(slip), 10, wrap=True)
    line(0.42, grouped(slip.code), 12.5, family="monospace")
    line(0.26, "在 Telegram 扫码，或向机器人发送", 7.5)
    line(0.18, f"/start 和邀请码：@{bot_username}", 7.5)
    line(0.08, "Scan in Telegram, or send /start and the code.", 6.5, color="#555555")


def write_sheet(path: Path, slips: Sequence[Slip], bot_username: str) -> int:
    """A printable A4 PDF, eight slips a page, to cut along the dashed lines; returns pages."""
    per_page = COLUMNS * ROWS
    with (
        pyplot.rc_context({"font.family": [cjk_font_family(), "DejaVu Sans"]}),
        PdfPages(path) as pdf,
    ):
        pages = 0
        for start in range(0, len(slips), per_page):
            figure = pyplot.figure(figsize=A4_INCHES)
            for index, slip in enumerate(slips[start : start + per_page]):
                column, row = index % COLUMNS, index // COLUMNS
                width, height = 0.9 / COLUMNS, 0.92 / ROWS
                _draw_slip(
                    figure,
                    slip,
                    bot_username,
                    0.05 + column * width,
                    0.96 - (row + 1) * height,
                    width,
                    height,
                )
            pdf.savefig(figure)
            pyplot.close(figure)
            pages += 1
    return pages
