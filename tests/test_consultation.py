"""Round 1 at the flow level: the 80% rule, the frozen denominator, ballots, closing, ranking."""

from __future__ import annotations

import asyncio
import itertools
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.flows import binding, charts, consultation, importing
from bot.flows.audit import CLI, Actor
from bot.flows.consultation import ConsultationError, Tally
from bot.flows.people import meet
from bot.flows.registry import community_named
from storage.models import AuditEvent, Ballot, Broadcast, Community, Delivery, Renovation
from storage.types import utcnow
from tests.registry import import_sample_registry, issue_codes

TELEGRAM_IDS = itertools.count(10_000)


def tally(agree: int, total: int, disagree: int = 0, threshold: int = 80) -> Tally:
    return Tally(
        1, 1, "南溪小区", "征询", "open", total, agree, disagree, threshold, utcnow(), None
    )


@pytest.mark.parametrize(
    ("agree", "total", "reached", "shown"),
    [
        (8, 10, True, "80.0%"),  # exactly 80% reaches it
        (7, 10, False, "70.0%"),
        (799, 1000, False, "79.9%"),
        (3999, 4999, False, "79.9%"),  # 79.996% does not reach 80%, and is not shown as 80.0%
        (4000, 5000, True, "80.0%"),
        (1, 3, False, "33.3%"),
        (2, 3, False, "66.6%"),
        (12, 12, True, "100.0%"),
        (0, 12, False, "0.0%"),
    ],
)
def test_threshold_is_exact_integer_arithmetic(agree, total, reached, shown):
    result = tally(agree, total)
    assert result.reached is reached
    assert result.ratio_text == shown


def test_ratio_is_over_all_households_not_those_that_answered():
    result = tally(agree=6, total=10, disagree=0)
    assert result.answered == 6 and result.not_answered == 4
    assert result.ratio_text == "60.0%" and not result.reached


async def bind_all(db, community: str) -> dict[str, int]:
    """Bind one resident to every household of a community; telegram id by household key."""
    codes = await issue_codes(db, community)
    ids = {}
    for key, code in sorted(codes.items()):
        telegram_id = next(TELEGRAM_IDS)
        async with db.session() as session:
            await meet(session, telegram_id, key, "zh-hans")
            outcome = await binding.bind(
                session, telegram_id, code, binding.Limits(), Actor(telegram_id)
            )
            assert isinstance(outcome, binding.Bound)
        ids[key] = telegram_id
    return ids


async def open_round(db, community: str, **options) -> consultation.Consultation:
    async with db.session() as session:
        found = await community_named(session, community)
        return await consultation.open_round1(
            session,
            found.id,
            "改造意愿征询",
            "同意改造吗？",
            utcnow() + timedelta(days=7),
            CLI,
            **options,
        )


async def vote(db, consultation_id: int, telegram_id: int, choice: str):
    async with db.session() as session:
        return await consultation.cast(
            session, consultation_id, telegram_id, choice, Actor(telegram_id)
        )


async def close_round1(db, community: str, agreeing: int) -> list[int]:
    """Bind every household, open round 1, have the first ``agreeing`` agree, close it.

    Returns the residents' telegram ids in binding order.
    """
    residents = sorted((await bind_all(db, community)).values())
    opened = await open_round(db, community)
    for telegram_id in residents[:agreeing]:
        await vote(db, opened.id, telegram_id, "agree")
    async with db.session() as session:
        await consultation.close(session, opened.id, CLI)
    return residents


async def count(db, statement) -> int:
    async with db.session() as session:
        return (await session.exec(statement)).one()


async def test_opening_freezes_the_denominator_and_queues_the_question(db, tmp_path: Path):
    await import_sample_registry(db)
    residents = await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村")
    assert opened.total_households == 3
    assert opened.remind_at == opened.closes_at - timedelta(hours=48)
    recipients = await count(db, select(func.count()).select_from(Delivery))
    assert recipients == len(residents) == 3

    more = tmp_path / "more.csv"
    more.write_text("小区,楼栋,单元,室\n运南新村,5,,104\n运南新村,5,,105\n", encoding="utf-8")
    async with db.session() as session:
        await importing.import_households(session, more, CLI)
        result = await consultation.tally(session, opened.id)
    assert result.total == 3  # households imported mid-round do not move the goalposts


async def test_refusals_change_nothing(db):
    await import_sample_registry(db)
    nanxi = await bind_all(db, "南溪小区")
    yunnan = await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村")
    with pytest.raises(ConsultationError) as again:
        await open_round(db, "运南新村")
    assert again.value.reason == "consult.already_open"

    stranger = next(iter(nanxi.values()))
    resident = next(iter(yunnan.values()))
    for telegram_id, choice, reason in [
        (stranger, "agree", "vote.other_community"),
        (99999, "agree", "vote.unbound"),
        (resident, "maybe", "button.stale"),
    ]:
        with pytest.raises(ConsultationError) as refused:
            await vote(db, opened.id, telegram_id, choice)
        assert refused.value.reason == reason
    with pytest.raises(ConsultationError):
        await vote(db, opened.id + 100, resident, "agree")
    assert await count(db, select(func.count()).select_from(Ballot)) == 0

    async with db.session() as session:
        await consultation.close(session, opened.id, CLI)
    with pytest.raises(ConsultationError) as late:
        await vote(db, opened.id, resident, "agree")
    assert late.value.reason == "vote.closed"
    async with db.session() as session:
        with pytest.raises(ConsultationError, match="already_closed"):
            await consultation.close(session, opened.id, CLI)


async def test_bad_openings(db, tmp_path):
    await import_sample_registry(db)
    (tmp_path / "c.csv").write_text("小区\n空小区\n", encoding="utf-8")
    async with db.session() as session:
        await importing.import_communities(session, tmp_path / "c.csv", CLI)
    for community, options, reason in [
        ("空小区", {}, "consult.no_households"),
        ("运南新村", {"threshold_percent": 0}, "consult.bad_threshold"),
    ]:
        with pytest.raises(ConsultationError) as refused:
            await open_round(db, community, **options)
        assert refused.value.reason == reason
    async with db.session() as session:
        found = await community_named(session, "运南新村")
        with pytest.raises(ConsultationError, match="closes_in_past"):
            await consultation.open_round1(session, found.id, "t", "q", utcnow(), CLI)


async def test_latest_answer_counts_and_every_change_is_audited(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村")
    first = residents["5--101"]
    for choice in ("agree", "disagree", "agree"):
        await vote(db, opened.id, first, choice)
    async with db.session() as session:
        result = await consultation.tally(session, opened.id)
        changes = (
            await session.exec(
                select(AuditEvent.details)
                .where(AuditEvent.action == "ballot/cast")
                .order_by(AuditEvent.id)
            )
        ).all()
    assert (result.agree, result.disagree) == (1, 0)
    assert [(c["previous"], c["new"]) for c in changes] == [
        (None, "agree"),
        ("agree", "disagree"),
        ("disagree", "agree"),
    ]


async def test_the_audit_row_of_a_vote_says_who_when_what_and_from_which_update(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村")
    wang = residents["5--101"]
    presses = [(3_000_000_001, "agree"), (3_000_000_002, "disagree")]  # beyond 32 bits
    before = utcnow()
    for update_id, choice in presses:
        async with db.session() as session:
            actor = Actor(wang, update_id=update_id)
            await consultation.cast(session, opened.id, wang, choice, actor)
    async with db.session() as session:
        events = (
            await session.exec(
                select(AuditEvent).where(AuditEvent.action == "ballot/cast").order_by(AuditEvent.id)
            )
        ).all()
        ballot = (await session.exec(select(Ballot))).one()
    assert [
        (e.actor_telegram_id, e.actor, e.update_id, e.details["previous"], e.details["new"])
        for e in events
    ] == [
        (wang, "bot", 3_000_000_001, None, "agree"),
        (wang, "bot", 3_000_000_002, "agree", "disagree"),
    ]
    assert all(before <= e.at <= utcnow() for e in events)
    assert {(e.subject, e.details["household_id"]) for e in events} == {
        (f"consultation:{opened.id}", ballot.household_id)
    }


async def test_two_residents_of_one_household_pressing_at_once_leave_one_ballot(db):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    for telegram_id in (501, 502):
        async with db.session() as session:
            await meet(session, telegram_id, "x", None)
            await binding.bind(
                session, telegram_id, codes["5--101"], binding.Limits(), Actor(telegram_id)
            )
    opened = await open_round(db, "运南新村")
    for _ in range(5):
        await asyncio.gather(
            vote(db, opened.id, 501, "agree"), vote(db, opened.id, 502, "disagree")
        )
        async with db.session() as session:
            ballots = (await session.exec(select(Ballot))).all()
            last = (
                await session.exec(
                    select(AuditEvent.details)
                    .where(AuditEvent.action == "ballot/cast")
                    .order_by(AuditEvent.id.desc())
                )
            ).first()
        assert len(ballots) == 1
        assert ballots[0].choice == last["new"]  # the last accepted press


async def test_closing_sets_status_and_tells_every_resident(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村", threshold_percent=60)
    await vote(db, opened.id, residents["5--101"], "agree")
    await vote(db, opened.id, residents["5--102"], "agree")
    async with db.session() as session:
        result = await consultation.close(session, opened.id, CLI)
        community = await session.get(Community, opened.community_id)
        outcome = (
            await session.exec(select(Broadcast).where(Broadcast.kind == "consultation.outcome"))
        ).one()
    assert result.reached and result.ratio_text == "66.6%"
    assert community.renovation == Renovation.QUEUED
    assert outcome.message_key == "vote.outcome_reached"
    assert outcome.values["ratio"] == "66.6%"
    deliveries = select(func.count()).where(Delivery.broadcast_id == outcome.id)
    assert await count(db, deliveries) == 3


async def test_an_answer_pressed_while_the_round_closes_waits_and_is_refused(db):
    """A press that races the close waits for it and is refused: the announced figures
    stay the figures of record."""
    await import_sample_registry(db)
    residents = await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村")
    async with db.session() as closing:
        await consultation.close(closing, opened.id, CLI)
        press = asyncio.create_task(vote(db, opened.id, residents["5--101"], "agree"))
        await asyncio.sleep(0.5)
        assert not press.done()
    with pytest.raises(ConsultationError) as refused:
        await press
    assert refused.value.reason == "vote.closed"
    assert await count(db, select(func.count()).select_from(Ballot)) == 0


async def test_reminder_goes_only_to_households_that_have_not_answered(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村")
    await vote(db, opened.id, residents["5--101"], "disagree")
    async with db.session() as session:
        reminded = await consultation.remind(session, opened.id, CLI)
        reminder = (
            await session.exec(select(Broadcast).where(Broadcast.kind == "consultation.reminder"))
        ).one()
        recipients = set(
            await session.exec(
                select(Delivery.telegram_id).where(Delivery.broadcast_id == reminder.id)
            )
        )
    assert reminded == 2
    assert recipients == {residents["5--102"], residents["5--103"]}


async def close_rounds(db, tmp_path, rounds: list[tuple[str, int, int]]) -> None:
    """For each (community, households, agreeing), in this order: import the community,
    open its round 1, have that many households agree, close it."""
    communities = tmp_path / "c.csv"
    households = tmp_path / "h.csv"
    communities.write_text(
        "小区\n" + "".join(f"{name}\n" for name, _, _ in rounds), encoding="utf-8"
    )
    rows = ["小区,楼栋,单元,室"] + [
        f"{name},1,1,{room}" for name, size, _ in rounds for room in range(101, 101 + size)
    ]
    households.write_text("\n".join(rows) + "\n", encoding="utf-8")
    async with db.session() as session:
        await importing.import_communities(session, communities, CLI)
        await importing.import_households(session, households, CLI)
    for name, _, agree in rounds:
        await close_round1(db, name, agree)


async def ranked_names(db, year: int | None = None) -> list[str]:
    async with db.session() as session:
        return [r.tally.community for r in await consultation.ranking(session, year)]


async def test_ranking_orders_reached_by_ratio_then_postponed(db, tmp_path):
    await import_sample_registry(db)  # communities without a closed round 1 are not ranked
    await close_rounds(
        db, tmp_path, [("甲小区", 10, 8), ("乙小区", 10, 10), ("丙小区", 10, 5), ("丁小区", 10, 8)]
    )
    async with db.session() as session:
        ranked = await consultation.ranking(session)
    # 乙 100%, then 甲 and 丁 tie at 80% with equal agreement: the earlier close first.
    assert [r.tally.community for r in ranked] == ["乙小区", "甲小区", "丁小区", "丙小区"]
    assert [r.tally.reached for r in ranked] == [True, True, True, False]
    assert await ranked_names(db, year=utcnow().year - 1) == []


async def test_ranking_ties_go_to_more_agreeing_households_then_the_earlier_close(db, tmp_path):
    # All four at exactly 80%, closed smallest first, so the earlier close alone would
    # give the opposite order; only 甲 and 丁 (8 of 10 each) are left to the closing time.
    await close_rounds(
        db, tmp_path, [("丙小区", 5, 4), ("甲小区", 10, 8), ("丁小区", 10, 8), ("乙小区", 20, 16)]
    )
    assert await ranked_names(db) == ["乙小区", "甲小区", "丁小区", "丙小区"]


def test_chart_renders_chinese_without_missing_glyphs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing" for empty boxes
        png = charts.round1_chart(
            [tally(8, 10), tally(5, 10, disagree=3)],
            {
                "title": "第一轮征询：同意比例",
                "agree": "同意",
                "disagree": "不同意",
                "not_answered": "未答复",
                "threshold": "门槛",
            },
        )
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
