"""Charts people would rather see than read, as PNG bytes with Chinese labels.

matplotlib is imported at the first chart, not with this module: it takes
about 30 MiB and half a second, and a bot may draw no chart for days.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

from bot.flows.consultation import Tally
from bot.flows.fonts import chart_font_families
from bot.flows.menu import name_of
from bot.flows.repair import FundReport
from bot.flows.round2 import MenuTally
from bot.flows.supervision import WeekSummary
from bot.i18n import text

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

AGREE, DISAGREE, SILENT = "#2e7d32", "#c62828", "#bdbdbd"
LIVE = "#1565c0"  # a menu item's bar while the round runs: no plan yet
OWNERS, GOVERNMENT = "#1565c0", AGREE
NAME_WIDTH = 16  # characters of an item's name on one line
MOST_MONTH_LABELS = 12
FEWEST_MONTH_PLACES = 6


@cache
def pyplot_loaded() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def to_png(figure: Figure) -> bytes:
    pyplot = pyplot_loaded()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    pyplot.close(figure)
    return buffer.getvalue()


def round1_chart(tallies: Sequence[Tally], labels: dict[str, str]) -> bytes:
    """One bar per community: agree, disagree and not answered as shares of all households,
    with the threshold marked. ``labels``: title, agree, disagree, not_answered, threshold."""
    pyplot = pyplot_loaded()
    with pyplot.rc_context({"font.family": chart_font_families()}):
        height = max(2.5, 0.45 * len(tallies) + 1.5)
        figure, axes = pyplot.subplots(figsize=(8, height))
        names = [t.community for t in tallies]
        agree = [100 * t.agree / t.total for t in tallies]
        disagree = [100 * t.disagree / t.total for t in tallies]
        silent = [100 * t.not_answered / t.total for t in tallies]
        axes.barh(names, agree, color=AGREE, label=labels["agree"])
        axes.barh(names, disagree, left=agree, color=DISAGREE, label=labels["disagree"])
        axes.barh(
            names,
            silent,
            left=[a + d for a, d in zip(agree, disagree, strict=True)],
            color=SILENT,
            label=labels["not_answered"],
        )
        for index, tally in enumerate(tallies):
            axes.text(1, index, tally.ratio_text, va="center", color="white", fontsize=9)
        for threshold in sorted({t.threshold_percent for t in tallies}):
            axes.axvline(threshold, color="black", linestyle="--", linewidth=1)
            axes.text(
                threshold,
                len(tallies) - 0.4,
                f"{labels['threshold']} {threshold}%",
                ha="center",
                fontsize=8,
            )
        axes.set_xlim(0, 100)
        axes.invert_yaxis()
        axes.set_xlabel("%")
        axes.set_title(labels["title"])
        axes.legend(loc="lower center", bbox_to_anchor=(0.5, -0.35), ncol=3, frameon=False)
        return to_png(figure)


def menu_figure(result: MenuTally, names: list[str], labels: dict[str, str]) -> Figure:
    """One bar per item residents could choose: the share of the answering households that
    chose it, most chosen first, with the plan's inclusion line where the plan takes items
    by that share (not by a budget). Once the plan is drawn its items are in colour, with a
    legend below. ``names`` are the items' names in the reader's language, in the order of
    ``result.items``; ``labels``: title, in_plan, not_in_plan, inclusion."""
    pyplot = pyplot_loaded()
    from matplotlib.patches import Patch

    rows = [
        (name, row)
        for name, row in zip(names, result.items, strict=True)
        if row.item.item_class != "basic"
    ]
    consultation = result.consultation
    inclusion = consultation.inclusion_percent if consultation.plan_budget_fen is None else None
    with pyplot.rc_context({"font.family": chart_font_families()}):
        figure, axes = pyplot.subplots(
            figsize=(8, max(2.5, 0.35 * len(rows) + 1.5)), layout="constrained"
        )
        shares = [100 * float(result.share_of_answered(row)) for _, row in rows]
        colours = [
            LIVE if row.in_plan is None else AGREE if row.in_plan else SILENT for _, row in rows
        ]
        places = range(len(rows))
        axes.barh(places, shares, height=0.7, color=colours)
        axes.set_yticks(places, [textwrap.fill(name, NAME_WIDTH) for name, _ in rows])
        axes.set_ylim(len(rows) - 0.5, -0.5)  # the first at the top, no empty band
        for place, share, (_, row) in zip(places, shares, rows, strict=True):
            axes.text(share + 1, place, str(row.households), va="center", fontsize=8)
        handles: list[Artist] = []
        if inclusion is not None:
            line = axes.axvline(inclusion, color="black", linestyle="--", linewidth=1)
            line.set_label(labels["inclusion"])
            handles.append(line)
        if any(row.in_plan is not None for _, row in rows):
            handles += [
                Patch(color=AGREE, label=labels["in_plan"]),
                Patch(color=SILENT, label=labels["not_in_plan"]),
            ]
        axes.set_xlim(0, 108)  # room for the count beside a bar of 100%
        axes.set_xticks(range(0, 101, 20))
        axes.set_xlabel("%")
        axes.set_title(labels["title"])
        if handles:
            figure.legend(
                handles=handles, loc="outside lower center", ncol=len(handles), frameon=False
            )
    return figure


def plan_chart(language: str, result: MenuTally) -> bytes:
    """The menu chart of a round-2 tally, labelled in ``language``."""
    return to_png(
        menu_figure(
            result,
            [name_of(row.item, language) for row in result.items],
            {
                "title": text(language, "plan.chart_title", community=result.community),
                "in_plan": text(language, "plan.in_plan"),
                "not_in_plan": text(language, "plan.not_in_plan"),
                "inclusion": text(
                    language, "plan.inclusion_line", percent=result.consultation.inclusion_percent
                ),
            },
        )
    )


def fund_figure(language: str, report: FundReport) -> Figure:
    """The fund's money by month: the owners' and the government's parts, stacked, in
    colours of their own, with the legend below the months (never over a bar)."""
    pyplot = pyplot_loaded()
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    months: dict[str, list[int]] = {}
    for line in report.lines:
        parts = months.setdefault(line.month, [0, 0])
        parts[0] += line.owners_fen
        parts[1] += line.government_fen
    names = sorted(months)
    owners = [months[m][0] / 100 for m in names]
    government = [months[m][1] / 100 for m in names]
    with pyplot.rc_context({"font.family": chart_font_families()}):
        figure, axes = pyplot.subplots(figsize=(8, 3.8), layout="constrained")
        places = range(len(names))
        series = [
            (OWNERS, text(language, "fund.owners")),
            (GOVERNMENT, text(language, "fund.government")),
        ]
        axes.bar(places, owners, width=0.7, color=OWNERS)
        axes.bar(places, government, width=0.7, bottom=owners, color=GOVERNMENT)
        every = max(1, math.ceil(len(names) / MOST_MONTH_LABELS))
        axes.set_xticks(places[::every], names[::every], rotation=45, ha="right")
        # A month or two stay bars, not a wall: the axis is at least a few months wide.
        margin = max(0.0, (FEWEST_MONTH_PLACES - len(names)) / 2)
        axes.set_xlim(-0.5 - margin, len(names) - 0.5 + margin)
        axes.set_ylim(0, None if any(owners + government) else 1)  # no money: no ticks of 0.01
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        axes.set_ylabel(text(language, "fund.yuan"))
        axes.set_title(text(language, "fund.chart_title"))
        figure.legend(
            handles=[Patch(color=colour, label=label) for colour, label in series],
            loc="outside lower center",
            ncol=2,
            frameon=False,
        )
    return figure


def fund_chart(language: str, report: FundReport) -> bytes:
    return to_png(fund_figure(language, report))


def observation_chart(language: str, summary: WeekSummary) -> bytes:
    """A week's observations by category, stacked by state."""
    pyplot = pyplot_loaded()
    categories = list(summary.by_category) or ["other"]
    states = ["open", "acknowledged", "assigned", "resolved", "not_an_issue"]
    colours = [DISAGREE, "#ef6c00", "#f9a825", AGREE, SILENT]
    with pyplot.rc_context({"font.family": chart_font_families()}):
        figure, axes = pyplot.subplots(figsize=(7, 3.5))
        bottom = [0] * len(categories)
        names = [text(language, f"supervision.category_{c}") for c in categories]
        for state, colour in zip(states, colours, strict=True):
            counts = [summary.by_category.get(c, {}).get(state, 0) for c in categories]
            label = text(language, f"supervision.state_{state}")
            axes.bar(names, counts, bottom=bottom, color=colour, label=label)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        axes.set_title(text(language, "supervision.chart_title", community=summary.community))
        axes.legend(frameon=False, fontsize=8)
        return to_png(figure)
