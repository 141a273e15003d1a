"""Charts people would rather see than read, as PNG bytes with Chinese labels."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot  # noqa: E402

from bot.flows.consultation import Tally  # noqa: E402
from bot.flows.fonts import cjk_font_family  # noqa: E402

AGREE, DISAGREE, SILENT = "#2e7d32", "#c62828", "#bdbdbd"


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    pyplot.close(figure)
    return buffer.getvalue()


def round1_chart(tallies: Sequence[Tally], labels: dict[str, str]) -> bytes:
    """One bar per community: agree, disagree and not answered as shares of all households,
    with the threshold marked. ``labels``: title, agree, disagree, not_answered, threshold."""
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
