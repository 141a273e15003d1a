"""Round 2 at the flow level: the catalogue, the selection rules, changes, the plan."""

from __future__ import annotations

import asyncio
import warnings
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.flows import charts, consultation, menu, outbox, round2
from bot.flows.audit import CLI, Actor
from bot.flows.consultation import ConsultationError
from bot.flows.registry import community_named
from bot.flows.tables import TableError
from bot.i18n import text
from storage.db import is_sqlite
from storage.models import AuditEvent, Ballot, Broadcast, MenuItem, Selection
from storage.types import utcnow
from tests.at_once import one_won, read_together
from tests.registry import import_sample_registry
from tests.test_consultation import bind_all, open_round, vote

ADMIN_REASON = "区政府同意先行试点"


async def passed_round1(db, community: str = "南溪小区") -> dict[str, int]:
    """Every household bound; round 1 closed with all agreeing."""
    residents = await bind_all(db, community)
    opened = await open_round(db, community)
    for telegram_id in residents.values():
        await vote(db, opened.id, telegram_id, "agree")
    async with db.session() as session:
        from bot.flows import consultation

        await consultation.close(session, opened.id, CLI)
    return residents


async def open_menu(db, community: str = "南溪小区", **options) -> round2.Consultation:
    async with db.session() as session:
        found = await community_named(session, community)
        return await round2.open_round2(
            session,
            found.id,
            "改造方案征询",
            "请选择您希望实施的改造项目",
            utcnow() + timedelta(days=7),
            CLI,
            **options,
        )


async def items(db) -> dict[str, MenuItem]:
    """The catalogue by code (the shipped one, unless one was loaded)."""
    async with db.session() as session:
        await menu.ensure_catalogue(session, CLI)
        return {item.code: item for item in await menu.catalogue(session)}


async def choose(db, consultation_id: int, telegram_id: int, *codes: str, submit: bool = True):
    catalogue = await items(db)
    for code in codes:
        async with db.session() as session:
            await round2.toggle(session, telegram_id, consultation_id, catalogue[code].id)
    if submit:
        async with db.session() as session:
            return await round2.submit(session, telegram_id, consultation_id, Actor(telegram_id))


async def selection(db, consultation_id: int) -> dict[int, set[str]]:
    async with db.session() as session:
        rows = await session.exec(
            select(Selection.household_id, MenuItem.code)
            .join(MenuItem, MenuItem.id == Selection.item_id)
            .where(Selection.consultation_id == consultation_id)
        )
        chosen: dict[int, set[str]] = {}
        for household_id, code in rows:
            chosen.setdefault(household_id, set()).add(code)
        return chosen


@pytest.mark.parametrize(
    ("typed", "fen"),
    [("1234.56", 123456), ("800000", 80000000), ("0.1", 10), ("1,200", 120000), ("0", 0)],
)
def test_yuan_become_exact_fen(typed, fen):
    assert menu.yuan_to_fen(typed) == fen


@pytest.mark.parametrize("typed", ["1.234", "-5", "abc", "", "NaN", "1e400x"])
def test_amounts_that_are_not_yuan_are_refused(typed):
    assert menu.yuan_to_fen(typed) is None


async def test_the_shipped_catalogue_has_the_three_classes(db):
    async with db.session() as session:
        await menu.ensure_catalogue(session, CLI)
        await menu.ensure_catalogue(session, CLI)  # a second time changes nothing
    catalogue = await items(db)
    assert len(catalogue) == 27
    names = {item.name_zh for item in catalogue.values() if item.item_class == "upgrade"}
    assert {"老年食堂", "托育点", "社区卫生服务站", "便民店"} <= names  # the guidance's upgrades
    assert catalogue["B01"].name_zh == "屋面整修" and catalogue["B01"].cost_fen == 80_000_000
    assert {item.item_class for item in catalogue.values()} == {"basic", "improvement", "upgrade"}


async def test_a_catalogue_from_csv_is_loaded_all_or_nothing(db, tmp_path: Path):
    good = tmp_path / "menu.csv"
    good.write_text(
        "编号,类别,估算金额,名称,英文名称\nX01,完善类,1200.50,口袋公园,Pocket park\n"
        "X02,提升类,300,快递柜,Parcel lockers\n",
        encoding="utf-8",
    )
    async with db.session() as session:
        first = await menu.load_catalogue(session, good, CLI)
    async with db.session() as session:
        again = await menu.load_catalogue(session, good, CLI)
    assert (first.created, again.created, again.unchanged) == (2, 0, 2)
    assert (await items(db))["X01"].cost_fen == 120_050

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "编号,类别,估算金额,名称\nX03,完善类,100,花坛\nX04,豪华类,100,喷泉\n", encoding="utf-8"
    )
    async with db.session() as session:
        with pytest.raises(TableError, match=r"line 3, column 'class'"):
            await menu.load_catalogue(session, bad, CLI)
    assert "X03" not in await items(db)


async def test_a_picture_telegram_would_refuse_is_refused_at_import(db, tmp_path: Path):
    (tmp_path / "big.png").write_bytes(b"\x89PNG" + bytes(menu.PICTURE_LIMIT))
    catalogue = tmp_path / "menu.csv"
    catalogue.write_text(
        "编号,类别,估算金额,名称,图片\nX05,完善类,100,花坛,big.png\n", encoding="utf-8"
    )
    async with db.session() as session:
        with pytest.raises(TableError, match=r"line 2, column 'picture'.*10 MB"):
            await menu.load_catalogue(session, catalogue, CLI)
    assert "X05" not in await items(db)


async def test_round2_needs_round1_passed_or_an_admins_reason(db):
    await import_sample_registry(db)
    with pytest.raises(ConsultationError) as refused:
        await open_menu(db)
    assert refused.value.reason == "menu.round1_not_passed"
    opened = await open_menu(db, override_reason=ADMIN_REASON)
    assert opened.override_reason == ADMIN_REASON
    async with db.session() as session:
        event = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "consultation/open"))
        ).one()
    assert event.details["override_reason"] == ADMIN_REASON


async def test_the_newest_round2_is_found_open_closed_and_confirmed(db):
    await import_sample_registry(db)
    await passed_round1(db)
    async with db.session() as session:
        nanxi = (await community_named(session, "南溪小区")).id
        assert await round2.newest(session, nanxi) is None
    opened = await open_menu(db)
    with pytest.raises(ConsultationError) as again:
        await open_menu(db)
    assert again.value.reason == "menu.already_open"

    async def newest_state() -> tuple[int, str, bool]:
        async with db.session() as session:
            found = await round2.newest(session, nanxi)
        return found.id, found.status, found.plan_confirmed_at is not None

    assert await newest_state() == (opened.id, "open", False)
    async with db.session() as session:
        await round2.close(session, opened.id, CLI)
    assert await newest_state() == (opened.id, "closed", False)
    async with db.session() as session:
        await round2.confirm_plan(session, opened.id, CLI)
    assert await newest_state() == (opened.id, "closed", True)
    async with db.session() as session:
        assert await round2.needing_staff(session, {nanxi}) == []  # the staff panel is done


async def test_selection_rules_refuse_and_record_nothing(db):
    await import_sample_registry(db)
    residents = await passed_round1(db)
    catalogue = await items(db)
    budget = catalogue["I01"].cost_fen + catalogue["I03"].cost_fen  # exactly two items' worth
    opened = await open_menu(db, rules=round2.Rules(min_items=2, max_items=3, budget_fen=budget))
    wang = residents["1-1-101"]

    with pytest.raises(ConsultationError) as too_few:
        await choose(db, opened.id, wang, "I01")
    assert too_few.value.reason == "menu.too_few"
    with pytest.raises(ConsultationError) as over:
        await choose(db, opened.id, wang, "I02")  # I01 + I02 costs more than the budget
    assert over.value.reason == "menu.over_budget"
    assert await selection(db, opened.id) == {}

    with pytest.raises(ConsultationError) as basic:
        await choose(db, opened.id, wang, "B01", submit=False)
    assert basic.value.reason == "menu.basic_fixed"

    done = await choose(db, opened.id, wang, "I02", "I03")  # now I01 + I03: exactly the budget
    assert done.draft.total_fen == budget
    (household,) = (await selection(db, opened.id)).keys()
    assert (await selection(db, opened.id))[household] == {"I01", "I03"}

    with pytest.raises(ConsultationError) as too_many:
        await choose(db, opened.id, wang, "U05", "U06")
    assert too_many.value.reason == "menu.too_many"
    assert (await selection(db, opened.id))[household] == {"I01", "I03"}


async def test_forged_items_and_pages_are_refused(db):
    await import_sample_registry(db)
    residents = await passed_round1(db)
    opened = await open_menu(db, codes=["B01", "I01", "I02"])
    wang = residents["1-1-101"]
    catalogue = await items(db)
    for forged in (catalogue["U01"].id, 999_999):  # not on this menu; no such item
        async with db.session() as session:
            with pytest.raises(ConsultationError, match="button.stale"):
                await round2.toggle(session, wang, opened.id, forged)
    async with db.session() as session:
        with pytest.raises(ConsultationError, match="button.stale"):
            await round2.draft(session, wang, opened.id, page=5)


async def test_changes_are_kept_and_audited_and_the_last_counts(db):
    await import_sample_registry(db)
    residents = await passed_round1(db)
    opened = await open_menu(db)
    wang = residents["1-1-101"]
    await choose(db, opened.id, wang, "I01", "U03")
    changed = await choose(db, opened.id, wang, "U03", "I07")  # U03 out, I07 in
    assert changed.previous == ["I01", "U03"]
    assert list((await selection(db, opened.id)).values()) == [{"I01", "I07"}]
    async with db.session() as session:
        events = (
            await session.exec(
                select(AuditEvent.details).where(AuditEvent.action == "selection/submit")
            )
        ).all()
        ballots = (await session.exec(select(func.count()).select_from(Ballot))).one()
    assert [e["new"] for e in events] == [["I01", "U03"], ["I01", "I07"]]
    assert ballots == 12 + 1  # round 1's twelve and this household's one


async def test_two_residents_of_a_household_submitting_at_once_leave_one_selection(db):
    await import_sample_registry(db)
    residents = await passed_round1(db)
    from tests.registry import issue_codes

    codes = await issue_codes(db, "南溪小区")
    async with db.session() as session:
        from bot.flows import binding
        from bot.flows.people import meet

        await meet(session, 77_001, "李强", "zh-hans")
        await binding.bind(session, 77_001, codes["1-1-101"], binding.Limits(), Actor(77_001))
    opened = await open_menu(db)
    wang = residents["1-1-101"]
    await choose(db, opened.id, wang, "I01", submit=False)
    await choose(db, opened.id, 77_001, "U01", "U02", submit=False)

    async def submit(telegram_id: int):
        async with db.session() as session:
            return await round2.submit(session, telegram_id, opened.id, Actor(telegram_id))

    first, second = await asyncio.gather(submit(wang), submit(77_001))
    (chosen,) = (await selection(db, opened.id)).values()
    last = max((first, second), key=lambda s: s.cast_at)
    assert chosen == {"I01"} if last is first else chosen == {"U01", "U02"}


async def test_nothing_changes_after_closing(db):
    await import_sample_registry(db)
    residents = await passed_round1(db)
    opened = await open_menu(db)
    wang = residents["1-1-101"]
    await choose(db, opened.id, wang, "I01")
    async with db.session() as session:
        await round2.close(session, opened.id, CLI)
    with pytest.raises(ConsultationError, match="vote.closed"):
        await choose(db, opened.id, wang, "I02")
    assert list((await selection(db, opened.id)).values()) == [{"I01"}]
    catalogue = await items(db)
    async with db.session() as session:  # the counts of record are those frozen at closing
        session.add(
            Selection(consultation_id=opened.id, household_id=1, item_id=catalogue["I02"].id)
        )
        await session.flush()
        counts = {c.item.code: c.households for c in (await round2.tally(session, opened.id)).items}
        await session.rollback()
    assert counts["I01"] == 1 and counts["I02"] == 0
    async with db.session() as session:
        with pytest.raises(ConsultationError, match="consult.already_closed"):
            await round2.close(session, opened.id, CLI)


async def test_a_submission_while_the_round_closes_waits_and_is_refused(db):
    """A Submit that races the close waits for it and is refused: the plan the close
    computed is the plan of record."""
    await import_sample_registry(db)
    residents = await passed_round1(db)
    opened = await open_menu(db)
    wang = residents["1-1-101"]
    await choose(db, opened.id, wang, "I01", submit=False)
    async with db.session() as closing:
        await round2.close(closing, opened.id, CLI)

        async def submit():
            async with db.session() as session:
                await round2.submit(session, wang, opened.id, Actor(wang))

        pressed = asyncio.create_task(submit())
        await asyncio.sleep(0.5)
        assert not pressed.done()
    with pytest.raises(ConsultationError, match="vote.closed"):
        await pressed
    assert await selection(db, opened.id) == {}


async def test_the_plan_includes_an_item_at_exactly_the_threshold(db):
    await import_sample_registry(db)
    residents = list((await passed_round1(db)).values())
    opened = await open_menu(db, inclusion_percent=50)
    # Eight households answer: I01 by four (exactly half), I02 by three, U01 by all.
    for index, telegram_id in enumerate(residents[:8]):
        codes = ["U01"] + (["I01"] if index < 4 else []) + (["I02"] if 4 <= index < 7 else [])
        await choose(db, opened.id, telegram_id, *codes)
    async with db.session() as session:
        result = await round2.close(session, opened.id, CLI)
    planned = {row.item.code for row in result.plan}
    assert {"I01", "U01"} <= planned and "I02" not in planned
    assert {code for code in planned if code.startswith("B")} == {f"B0{n}" for n in range(1, 8)}
    top = result.items[0]
    assert top.item.code == "U01" and top.households == 8
    assert result.share_of_all(top) == Fraction(8, 12)
    assert result.share_of_answered(top) == 1
    assert consultation.percent_text(result.share_of_all(top)) == "66.6%"


async def test_a_community_budget_takes_the_most_chosen_that_fit(db):
    await import_sample_registry(db)
    residents = list((await passed_round1(db)).values())
    catalogue = await items(db)
    budget = catalogue["I04"].cost_fen + catalogue["U06"].cost_fen  # lifts and screens
    opened = await open_menu(db, plan_budget_fen=budget)
    for index, telegram_id in enumerate(residents):
        codes = ["I04"] + (["U01"] if index < 6 else []) + (["U06"] if index < 2 else [])
        await choose(db, opened.id, telegram_id, *codes)
    async with db.session() as session:
        result = await round2.close(session, opened.id, CLI)
    chosen_in_plan = {row.item.code for row in result.plan if not row.item.code.startswith("B")}
    # I04 (12) fits; U01 (6) no longer does; U06 (2) still fits.
    assert chosen_in_plan == {"I04", "U06"}
    assert sum(row.item.cost_fen for row in result.plan if row.item.code in chosen_in_plan) == (
        budget
    )


async def test_staff_change_the_plan_only_with_a_reason_then_confirm_it(db):
    await import_sample_registry(db)
    residents = list((await passed_round1(db)).values())
    opened = await open_menu(db)
    for telegram_id in residents:
        await choose(db, opened.id, telegram_id, "I01")
    async with db.session() as session:
        await round2.close(session, opened.id, CLI)
    async with db.session() as session:
        with pytest.raises(ConsultationError, match="menu.reason_needed"):
            await round2.change_plan(session, opened.id, "I01", False, " ", CLI)
        with pytest.raises(ConsultationError, match="menu.basic_fixed"):
            await round2.change_plan(session, opened.id, "B01", False, "预算不足", CLI)
    async with db.session() as session:
        await round2.change_plan(session, opened.id, "I01", False, "与道路工程冲突", CLI)
        await round2.change_plan(session, opened.id, "U06", True, "居民代表会议建议", CLI)
    async with db.session() as session:
        result = await round2.confirm_plan(session, opened.id, CLI)
    planned = {row.item.code for row in result.plan}
    assert "I01" not in planned and "U06" in planned
    async with db.session() as session:
        with pytest.raises(ConsultationError, match="menu.plan_confirmed_already"):
            await round2.confirm_plan(session, opened.id, CLI)
        notes = (
            await session.exec(
                select(AuditEvent.action, AuditEvent.details).where(
                    AuditEvent.action.startswith("plan/")
                )
            )
        ).all()
    assert [(action, details.get("reason")) for action, details in notes[:2]] == [
        ("plan/remove", "与道路工程冲突"),
        ("plan/include", "居民代表会议建议"),
    ]


async def test_two_staff_confirming_the_plan_at_once_send_it_once(db, monkeypatch):
    await import_sample_registry(db)
    residents = list((await passed_round1(db)).values())
    opened = await open_menu(db)
    await choose(db, opened.id, residents[0], "I01")
    async with db.session() as session:
        await round2.close(session, opened.id, CLI)
    read_together(db, monkeypatch, round2, "_closed_unconfirmed")

    async def confirm():
        async with db.session() as session:
            return await round2.confirm_plan(session, opened.id, CLI)

    _, refused = one_won(await asyncio.gather(confirm(), confirm(), return_exceptions=True))
    first = "menu.plan_confirmed_already" if is_sqlite(db.url) else "consult.moved_meanwhile"
    assert refused.reason == first
    async with db.session() as session:
        confirmed = await session.exec(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "plan/confirm")
        )
        sent = await session.exec(
            select(func.count()).select_from(Broadcast).where(Broadcast.message_key == "menu.plan")
        )
        assert (confirmed.one(), sent.one()) == (1, 1)


async def test_round2_charts_render_chinese_without_missing_glyphs(db):
    await import_sample_registry(db)
    residents = list((await passed_round1(db)).values())
    opened = await open_menu(db)  # the shipped catalogue: every item's Chinese name
    for index, telegram_id in enumerate(residents[:6]):
        await choose(db, opened.id, telegram_id, "I01", *(["U02"] if index < 2 else []))
    async with db.session() as session:
        live = await round2.tally(session, opened.id)
    async with db.session() as session:
        drawn = await round2.close(session, opened.id, CLI)
    assert {row.in_plan for row in live.items} == {None} and drawn.plan
    for result in (live, drawn):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing" for empty boxes
            png = charts.plan_chart("zh_Hans", result)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")


async def test_the_plan_residents_read_names_what_was_taken_out_and_warns_of_low_turnout(db):
    await import_sample_registry(db)
    residents = list((await passed_round1(db)).values())
    opened = await open_menu(db)
    assert opened.id is not None
    for telegram_id in residents[:3]:  # 3 of the 12 households choose
        await choose(db, opened.id, telegram_id, "I01")
    async with db.session() as session:
        await round2.close(session, opened.id, CLI)
    async with db.session() as session:
        await round2.change_plan(session, opened.id, "I01", False, "与道路工程冲突", CLI)
    async with db.session() as session:
        result = await round2.confirm_plan(session, opened.id, CLI)
        (plan,) = await session.exec(select(Broadcast).where(Broadcast.message_key == "menu.plan"))
    assert result.low_turnout
    chinese = text("zh_Hans", "menu.plan", **outbox.in_language(plan.values, "zh_Hans"))
    assert "以下项目未列入方案：\n• " in chinese and "（与道路工程冲突）" in chinese
    assert "只有3/12户参与了选择，不到一半" in chinese
    english = text("en", "menu.plan", **outbox.in_language(plan.values, "en"))
    assert "Not in the plan:" in english and "Only 3 of 12 households chose" in english
