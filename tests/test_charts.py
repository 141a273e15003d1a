"""Charts looked at: awkward data drawn, and checked with matplotlib's own objects."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.flows import charts, fonts
from bot.flows.repair import FundLine, FundReport
from bot.flows.round2 import ItemCount, MenuTally
from storage.models import Consultation, ItemClass, MenuItem

# Where to keep the pictures for a look by eye: LINLI_CHARTS_DIR=/tmp/charts pytest ...
KEEP = os.environ.get("LINLI_CHARTS_DIR")


def keep(name: str, png: bytes) -> None:
    if KEEP:
        Path(KEEP).mkdir(parents=True, exist_ok=True)
        (Path(KEEP) / f"{name}.png").write_bytes(png)


def fund_report(months: list[str], owners: list[int], government: list[int]) -> FundReport:
    return FundReport(
        [
            FundLine("运南新村", month, 1, o + g, o, g)
            for month, o, g in zip(months, owners, government, strict=True)
        ]
    )


MONTHS = [f"{2014 + n // 12}-{n % 12 + 1:02d}" for n in range(84)]
FUND_CASES = {
    "one_month": fund_report(["2026-11"], [64_349], [257_398]),
    "many_months": fund_report(
        MONTHS, [(n * 7919) % 90_000 for n in range(84)], [(n * 7919) % 360_000 for n in range(84)]
    ),
    "zero_months": fund_report(["2026-01", "2026-02", "2026-03"], [0, 20_000, 0], [0, 80_000, 0]),
    "one_tall_month": fund_report(
        ["2026-01", "2026-02", "2026-03", "2026-04"],
        [100, 2_000_000, 100, 100],
        [400, 8_000_000, 400, 400],
    ),
}


def menu_tally(
    names: list[str], households: list[int], answered: int, total: int, *, drawn: bool
) -> MenuTally:
    consultation = Consultation(
        community_id=1,
        round=2,
        title="方案征询",
        question="点选您家希望实施的项目",
        closes_at=datetime(2026, 12, 20, 10, tzinfo=UTC),
        total_households=total,
        inclusion_percent=50,
    )
    items = [
        ItemCount(
            MenuItem(
                id=n,
                code=f"U{n:02d}",
                name_zh=name,
                name_en=name,
                item_class=ItemClass.IMPROVEMENT,
                cost_fen=100_000,
            ),
            chosen,
            (chosen * 100 >= 50 * answered) if drawn else None,
            None,
        )
        for n, (name, chosen) in enumerate(zip(names, households, strict=True))
    ]
    basic = MenuItem(
        id=99, code="B01", name_zh="屋面整修", name_en="Roof", item_class="basic", cost_fen=0
    )
    items.append(ItemCount(basic, 0, True if drawn else None, None))
    return MenuTally(consultation, "南溪小区", total, answered, items)


LONG = "既有住宅加装电梯及无障碍坡道、扶手和楼道照明一体化改造（含智能门禁与视频监控）"
MENU_CASES = {
    "few_live": menu_tally(["绿化提升", "智慧书屋"], [7, 2], 10, 100, drawn=False),
    "few_drawn": menu_tally(["绿化提升", "智慧书屋"], [7, 2], 10, 100, drawn=True),
    "zero_answers": menu_tally(["绿化提升", "智慧书屋"], [0, 0], 0, 100, drawn=True),
    "long_names": menu_tally([LONG, "停车位", LONG[:20]], [40, 60, 5], 80, 100, drawn=True),
    "25_items": menu_tally(
        [f"改造项目{n}号" for n in range(25)],
        [(n * 37) % 101 for n in range(25)],
        100,
        120,
        drawn=True,
    ),
}


def looked_at(name: str, draw):
    """The figure ``draw`` makes, drawn as its PNG would be (no glyph missing), for its artists;
    then saved where ``LINLI_CHARTS_DIR`` says, and closed."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing" is a box where a character was
        figure = draw()
        figure.canvas.draw()
    try:
        yield figure, figure.canvas.get_renderer()
    finally:
        keep(name, charts.to_png(figure))


def bars_of(axes) -> list:
    return [bar for container in axes.containers for bar in container]


def clear_of_bars(legend, axes, renderer) -> bool:
    box = legend.get_window_extent(renderer)
    return not any(box.overlaps(bar.get_window_extent(renderer)) for bar in bars_of(axes))


@pytest.mark.parametrize("case", FUND_CASES)
def test_fund_chart_shows_both_parts_of_every_month_and_its_legend_covers_none(case):
    report = FUND_CASES[case]
    months = sorted({line.month for line in report.lines})
    for figure, renderer in looked_at(
        f"fund_{case}", lambda: charts.fund_figure("zh_Hans", report)
    ):
        (axes,), (legend,) = figure.axes, figure.legends
        assert clear_of_bars(legend, axes, renderer)
        owners, government = axes.containers
        assert [t.get_text() for t in legend.get_texts()] == ["业主及公共收益", "政府补助"]
        assert owners[0].get_facecolor() != government[0].get_facecolor()
        for series, part in ((owners, "owners_fen"), (government, "government_fen")):
            money = [
                sum(getattr(line, part) for line in report.lines if line.month == month) / 100
                for month in months
            ]
            assert [bar.get_height() for bar in series] == pytest.approx(money)
            # Seen where it has money: its tallest bar is some pixels high.
            assert max(bar.get_window_extent(renderer).height for bar in series) > 5
        labels = [label.get_text() for label in axes.get_xticklabels()]
        assert labels[0] == months[0] and len(labels) <= charts.MOST_MONTH_LABELS
        # One month is a bar, not a wall across the chart.
        width = owners[0].get_window_extent(renderer).width
        assert width < axes.get_window_extent(renderer).width / 4


def test_a_period_without_uses_is_an_empty_chart_not_an_error():
    for figure, _ in looked_at("fund_none", lambda: charts.fund_figure("zh_Hans", FundReport([]))):
        assert not bars_of(figure.axes[0]) and figure.legends


@pytest.mark.parametrize("case", MENU_CASES)
def test_menu_chart_shows_shares_of_answering_households_and_the_inclusion_line(case):
    result = MENU_CASES[case]
    for figure, renderer in looked_at(f"menu_{case}", lambda: menu_figure(result)):
        (axes,) = figure.axes
        chosen = [row for row in result.items if row.item.item_class != "basic"]
        shares = [
            100 * row.households / result.answered if result.answered else 0 for row in chosen
        ]
        assert [bar.get_width() for bar in bars_of(axes)] == pytest.approx(shares)
        assert [label.get_text().replace("\n", "") for label in axes.get_yticklabels()] == [
            row.item.name_zh for row in chosen
        ]
        (line,) = axes.lines
        assert list(line.get_xdata()) == [50, 50]  # the plan's inclusion_percent
        (legend,) = figure.legends
        assert clear_of_bars(legend, axes, renderer)
        # No empty band: the legend sits right under the axis, bars fill the height.
        assert axes.get_tightbbox(renderer).y0 - legend.get_window_extent(renderer).y1 < 20
        assert axes.get_ylim() == (len(chosen) - 0.5, -0.5)
        # However long the names, the bars keep most of the width.
        assert axes.get_window_extent(renderer).width > figure.bbox.width / 2
        texts = [t.get_text() for t in legend.get_texts()]
        drawn = chosen[0].in_plan is not None
        assert texts == ["列入门槛：50%", *(["列入方案", "未列入"] if drawn else [])]


def test_a_plan_drawn_by_budget_has_no_inclusion_line():
    result = MENU_CASES["few_drawn"]
    result.consultation.plan_budget_fen = 1_000_000
    try:
        for figure, _ in looked_at("menu_budget", lambda: menu_figure(result)):
            assert not figure.axes[0].lines
            assert [t.get_text() for t in figure.legends[0].get_texts()] == ["列入方案", "未列入"]
    finally:
        result.consultation.plan_budget_fen = None


def test_the_marks_of_the_chat_are_drawn_in_charts_not_boxes():
    """✅ ⬜ ℹ️ are in no CJK font: without an emoji font they come out as empty boxes."""
    result = menu_tally(["✅ 已选项目", "⬜ 未选项目", "ℹ️ 说明"], [3, 2, 1], 5, 10, drawn=True)
    for figure, _ in looked_at("menu_marks", lambda: menu_figure(result)):
        assert figure.axes


def menu_figure(result: MenuTally):
    labels = ("title", "in_plan", "not_in_plan", "inclusion")
    texts = ("南溪小区各改造项目的选择户数", "列入方案", "未列入", "列入门槛：50%")
    names = [row.item.name_zh for row in result.items]
    return charts.menu_figure(result, names, dict(zip(labels, texts, strict=True)))


def test_the_fonts_the_pictures_need_are_named_by_their_packages(monkeypatch):
    assert fonts.missing_font_packages() == []  # installed here, as .ci/run does
    monkeypatch.setenv("PATH", "")  # no fontconfig: nothing can be vouched for
    assert fonts.missing_font_packages() == [
        "fonts-noto-cjk",
        "fonts-noto-color-emoji",
        "fonts-symbola",
    ]
