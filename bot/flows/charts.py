"""Charts people would rather see than read, as PNG bytes with Chinese labels.

matplotlib is imported at the first chart, not with this module: it takes
about 30 MiB and half a second, and a bot may draw no chart for days.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from types import ModuleType

from bot.flows.consultation import Tally
from bot.flows.fonts import cjk_font_family
from bot.flows.menu import name_of
from bot.flows.repair import FundReport
from bot.flows.round2 import MenuTally
from bot.flows.supervision import WeekSummary
from bot.i18n import text

AGREE, DISAGREE, SILENT = "#2e7d32", "#c62828", "#bdbdbd"


@cache
def pyplot_loaded() -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    return pyplot


def _png(figure) -> bytes:
    pyplot = pyplot_loaded()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    pyplot.close(figure)
    return buffer.getvalue()


def round1_chart(tallies: Sequence[Tally], labels: dict[str, str]) -> bytes:
    """One bar per community: agree, disagree and not answered as shares of all households,
    with the threshold marked. ``labels``: title, agree, disagree, not_answered, threshold."""
    pyplot = pyplot_loaded()
    with pyplot.rc_context({"font.family": [cjk_font_family(), "DejaVu Sans"]}):
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
        return _png(figure)


def menu_chart(result: MenuTally, names: list[str], labels: dict[str, str]) -> bytes:
    """One bar per item residents could choose: the share of all households that chose it,
    items in the plan in colour, with a legend once the plan is drawn (a live tally has no
    plan yet). ``names`` are the items' names in the reader's language, in the order of
    ``result.items``; ``labels``: title, in_plan, not_in_plan."""
    pyplot = pyplot_loaded()
    from matplotlib.patches import Patch

    rows = [
        (name, row)
        for name, row in zip(names, result.items, strict=True)
        if row.item.item_class != "basic"
    ]
    with pyplot.rc_context({"font.family": [cjk_font_family(), "DejaVu Sans"]}):
        figure, axes = pyplot.subplots(figsize=(8, max(2.5, 0.4 * len(rows) + 1.5)))
        shares = [100 * row.households / result.total for _, row in rows]
        colours = [AGREE if row.in_plan else SILENT for _, row in rows]
        axes.barh([name for name, _ in rows], shares, color=colours)
        for index, (_, row) in enumerate(rows):
            axes.text(shares[index] + 1, index, str(row.households), va="center", fontsize=8)
        axes.set_xlim(0, 100)
        axes.invert_yaxis()
        axes.set_xlabel("%")
        axes.set_title(labels["title"])
        if any(row.in_plan is not None for _, row in rows):
            axes.legend(
                handles=[
                    Patch(color=AGREE, label=labels["in_plan"]),
                    Patch(color=SILENT, label=labels["not_in_plan"]),
                ],
                loc="lower center",
                bbox_to_anchor=(0.5, -0.3),
                ncol=2,
                frameon=False,
            )
        return _png(figure)


def plan_chart(language: str, result: MenuTally) -> bytes:
    """The menu chart of a round-2 tally, labelled in ``language``."""
    return menu_chart(
        result,
        [name_of(row.item, language) for row in result.items],
        {
            "title": text(language, "plan.chart_title", community=result.community),
            "in_plan": text(language, "plan.in_plan"),
            "not_in_plan": text(language, "plan.not_in_plan"),
        },
    )


def fund_chart(language: str, report: FundReport) -> bytes:
    """The fund's money by month: the owners' and the government's parts, stacked."""
    pyplot = pyplot_loaded()
    months: dict[str, list[int]] = {}
    for line in report.lines:
        parts = months.setdefault(line.month, [0, 0])
        parts[0] += line.owners_fen
        parts[1] += line.government_fen
    names = sorted(months)
    owners = [months[m][0] / 100 for m in names]
    government = [months[m][1] / 100 for m in names]
    with pyplot.rc_context({"font.family": [cjk_font_family(), "DejaVu Sans"]}):
        figure, axes = pyplot.subplots(figsize=(8, 3.5))
        axes.bar(names, owners, color=SILENT, label=text(language, "fund.owners"))
        axes.bar(
            names, government, bottom=owners, color=AGREE, label=text(language, "fund.government")
        )
        axes.set_ylabel(text(language, "fund.yuan"))
        axes.set_title(text(language, "fund.chart_title"))
        axes.tick_params(axis="x", labelrotation=45)
        axes.legend(frameon=False)
        return _png(figure)


def observation_chart(language: str, summary: WeekSummary) -> bytes:
    """A week's observations by category, stacked by state."""
    pyplot = pyplot_loaded()
    categories = list(summary.by_category) or ["other"]
    states = ["open", "acknowledged", "assigned", "resolved", "not_an_issue"]
    colours = [DISAGREE, "#ef6c00", "#f9a825", AGREE, SILENT]
    with pyplot.rc_context({"font.family": [cjk_font_family(), "DejaVu Sans"]}):
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
        return _png(figure)
