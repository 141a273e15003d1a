"""Notice schedules at the flow level: repeating, ending, missed firings, audiences, mutes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from bot.flows import consultation, notices
from bot.flows.audit import CLI, Actor
from storage.models import Broadcast, Delivery, Mute, Notice, NoticeKind
from storage.types import utcnow
from tests.registry import import_sample_registry
from tests.test_consultation import bind_all

GRACE = timedelta(hours=1)
WEEK = timedelta(days=7)


async def community_ids(db, *names: str) -> list[int]:
    async with db.session() as session:
        return await notices.community_ids_named(session, list(names))


async def weekly_notice(db, author: Actor, lasting: timedelta) -> tuple[Notice, datetime]:
    """运南新村's residents bound, and a weekly notice to them from five minutes on, for
    ``lasting``; the notice and its first time."""
    await import_sample_registry(db)
    await bind_all(db, "运南新村")
    start = utcnow() + timedelta(minutes=5)
    audience = {"kind": "communities", "ids": await community_ids(db, "运南新村")}
    async with db.session() as session:
        notice = await notices.create(
            session, author, "每周一例会", audience, at=start, repeat_days=7, until=start + lasting
        )
    return notice, start


async def test_weekly_notice_fires_each_week_until_its_end(db):
    notice, start = await weekly_notice(db, Actor(42), lasting=timedelta(days=15))
    fired = []
    for week in range(4):
        async with db.session() as session:
            firing = await notices.fire(
                session, notice.id, GRACE, now=start + timedelta(days=7 * week, seconds=1)
            )
        fired.append(firing is not None and firing.broadcast is not None)
    assert fired == [True, True, True, False]  # weeks 0, 1, 2; week 3 is past the end
    async with db.session() as session:
        stored = await session.get(Notice, notice.id)
        broadcasts = (await session.exec(select(Broadcast))).all()
    assert stored.next_at is None and stored.fired == 3
    assert len(broadcasts) == 3 and len({b.subject for b in broadcasts}) == 3


async def test_firing_twice_sends_once(db):
    await import_sample_registry(db)
    await bind_all(db, "运南新村")
    audience = {"kind": "communities", "ids": await community_ids(db, "运南新村")}
    async with db.session() as session:
        notice = await notices.create(session, CLI, "停水通知", audience)
    for _ in range(2):
        async with db.session() as session:
            await notices.fire(session, notice.id, GRACE)
    async with db.session() as session:
        assert len((await session.exec(select(Delivery))).all()) == 3


async def test_a_firing_missed_beyond_the_grace_is_skipped_and_the_author_told(db):
    await import_sample_registry(db)
    await bind_all(db, "运南新村")
    audience = {"kind": "communities", "ids": await community_ids(db, "运南新村")}
    due = utcnow() + timedelta(minutes=1)
    async with db.session() as session:
        notice = await notices.create(session, Actor(4242), "过期的通知", audience, at=due)
    async with db.session() as session:
        firing = await notices.fire(session, notice.id, GRACE, now=due + timedelta(hours=2))
    assert firing.broadcast is None
    async with db.session() as session:
        told = (await session.exec(select(Broadcast))).one()
        recipients = (await session.exec(select(Delivery.telegram_id))).all()
        stored = await session.get(Notice, notice.id)
    assert told.message_key == "notice.skipped" and recipients == [4242]
    assert stored.skipped == 1 and stored.next_at is None


async def broadcasts_of(db, message_key: str) -> list[Broadcast]:
    async with db.session() as session:
        return list(
            await session.exec(select(Broadcast).where(Broadcast.message_key == message_key))
        )


@pytest.mark.parametrize("missed", [2, 3])
@pytest.mark.parametrize(
    ("late", "sent"), [(timedelta(minutes=10), True), (timedelta(hours=2), False)]
)
async def test_missed_weekly_firings_coalesce_into_the_latest(db, missed, late, sent):
    """The bot was down over ``missed`` weekly firings and is back ``late`` after the last:
    one firing, judged by that last one; the schedule goes on from the next week."""
    notice, start = await weekly_notice(db, Actor(4242), lasting=10 * WEEK)
    latest = start + (missed - 1) * WEEK
    for _ in range(2):  # the second pass finds nothing due
        async with db.session() as session:
            firing = await notices.fire(session, notice.id, GRACE, now=latest + late)
    assert firing is None
    async with db.session() as session:
        stored = await session.get(Notice, notice.id)
    assert stored.next_at == start + missed * WEEK
    assert (stored.fired, stored.skipped) == ((1, 0) if sent else (0, 1))
    (told,) = await broadcasts_of(db, "notice.text" if sent else "notice.skipped")
    assert told.subject == f"notice:{notice.id}:{latest.isoformat()}"
    assert await broadcasts_of(db, "notice.skipped" if sent else "notice.text") == []
    async with db.session() as session:
        recipients = (await session.exec(select(Delivery.telegram_id))).all()
    assert len(recipients) == 3 if sent else recipients == [4242]


@pytest.mark.parametrize("repeat_days", [None, 7])
async def test_a_notice_to_unanswered_households_ends_when_the_consultation_closes(db, repeat_days):
    """Its audience is gone: nothing is sent, the schedule ends and the author is told."""
    await import_sample_registry(db)
    await bind_all(db, "运南新村")
    (community,) = await community_ids(db, "运南新村")
    start = utcnow() + timedelta(minutes=5)
    async with db.session() as session:
        opened = await consultation.open_round1(
            session, community, "改造意愿征询", "同意吗？", start + WEEK, CLI
        )
        notice = await notices.create(
            session,
            Actor(4242),
            "<b>征询</b>快截止了，请尽快投票",
            {"kind": "unanswered", "ids": [opened.id]},
            at=start,
            repeat_days=repeat_days,
            until=start + 4 * WEEK if repeat_days else None,
        )
    async with db.session() as session:
        await consultation.close(session, opened.id, CLI)
    async with db.session() as session:
        firing = await notices.fire(session, notice.id, GRACE, now=start + timedelta(seconds=1))
    assert firing.broadcast is None
    async with db.session() as session:
        stored = await session.get(Notice, notice.id)
        firing = await notices.fire(session, notice.id, GRACE, now=start + 2 * WEEK)
    assert firing is None and stored.next_at is None and stored.fired == 0
    (told,) = await broadcasts_of(db, "notice.consultation_closed")
    assert told.values["consultation"] == "改造意愿征询"
    assert told.values["excerpt"] == "征询快截止了，请尽快投票"
    async with db.session() as session:
        deliveries = (await session.exec(select(Delivery))).all()
    assert [d.telegram_id for d in deliveries if d.broadcast_id == told.id] == [4242]
    assert await broadcasts_of(db, "notice.text") == []


async def test_muted_residents_do_not_get_that_kind(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "运南新村")
    muter = residents["5--101"]
    async with db.session() as session:
        session.add(Mute(telegram_id=muter, kind=NoticeKind.GENERAL))
    audience = {"kind": "communities", "ids": await community_ids(db, "运南新村")}
    async with db.session() as session:
        general = await notices.recipients(session, audience)
        progress = await notices.recipients(session, audience, NoticeKind.PROGRESS)
    assert muter not in general and len(general) == 2
    assert muter in progress


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"body": "  "}, "notice.empty"),
        ({"body": "x" * 4001}, "notice.too_long"),
        ({"at": -timedelta(hours=1)}, "notice.in_past"),
        ({"repeat_days": 7}, "notice.bad_repeat"),
        ({"audience": {"kind": "planets"}}, "notice.bad_audience"),
        ({"audience": {"kind": "unanswered", "ids": [999]}}, "notice.no_open_consultation"),
        ({"photo": b"png", "body": "x" * 1001}, "notice.too_long"),
    ],
)
async def test_bad_notices_are_refused(db, options, reason):
    await import_sample_registry(db)
    body = options.pop("body", "通知")
    audience = options.pop("audience", {"kind": "everyone"})
    if "at" in options:
        options["at"] = utcnow() + options["at"]
    async with db.session() as session:
        with pytest.raises(notices.NoticeError) as refused:
            await notices.create(session, CLI, body, audience, **options)
    assert refused.value.reason == reason
    async with db.session() as session:
        assert (await session.exec(select(Notice))).all() == []
