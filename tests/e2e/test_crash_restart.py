"""kill -9 at bad moments: during a vote storm, with a dialogue half done, before a closing time.

What was confirmed to a resident stays done, nothing counts twice, and work
that fell due while the bot was down is done once it is back. An update the
killed process had fetched but not finished is gone (Telegram counts it as
delivered), so a resident who saw no answer presses again, as people do.

A time that is to pass (a closing time, a notice's) is set far ahead and then
moved to the past in the database, where the bot reads it: the test says when
it passes, rather than racing a few seconds of the wall clock against a
machine that may be slow.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from bench.crowd import crowd
from bot.delivery import MAX_BATCH
from bot.flows import consultation, notices, registry, round2
from bot.flows.audit import CLI, Actor
from sandbox.client import user
from storage.models import (
    Ballot,
    Consultation,
    ConsultationStatus,
    Notice,
    RepairRequest,
    Role,
)
from storage.types import utcnow
from tests.e2e.conftest import DB_POLL, EVENT_WAIT, Person, buttons, ticks
from tests.e2e.test_notices import STAFF, choose, compose
from tests.e2e.test_outbox import received, wait_until_delivered
from tests.e2e.test_outbox_crash import CRASH_SEED, kill_point, start_bot

RESIDENTS = 300
FIRST_ID = 400_000


async def stop(process: asyncio.subprocess.Process, how: signal.Signals) -> None:
    process.send_signal(how)
    await process.wait()


async def open_round(db, community: str) -> int:
    """Round 1 for the community, closing a week from now (unless the test moves it)."""
    async with db.session() as session:
        found = await registry.community_named(session, community)
        closes = utcnow() + timedelta(days=7)
        opened = await consultation.open_round1(
            session, found.id, "改造意愿征询", "同意改造吗？", closes, CLI
        )
        return opened.id


async def close_now(db, consultation_id) -> None:
    """The consultation's closing time comes now."""
    async with db.session() as session:
        found = await session.get(Consultation, consultation_id)
        found.closes_at = utcnow()
        session.add(found)


async def closed(db, consultation_id) -> Consultation:
    """The consultation once the bot has closed it (or as it is when the wait gives up)."""
    async for _ in ticks(every=DB_POLL):
        async with db.session() as session:
            found = await session.get(Consultation, consultation_id, populate_existing=True)
        if found.status == ConsultationStatus.CLOSED:
            break
    return found


async def question_of(telegram, chat_id: int) -> dict:
    history = await telegram.history(chat_id)
    return next(m for m in history if m["from_bot"] and "v1:vote:" in str(m))


def choice_of(resident: int) -> str:
    return "agree" if resident % 3 else "disagree"


async def polls(telegram) -> int:
    return (await telegram.stats())["calls"].get("getUpdates", 0)


async def started_polling(telegram, before: int) -> None:
    while await polls(telegram) <= before:
        await asyncio.sleep(0.05)


async def settled(telegram, quiet: float = 1.5) -> None:
    """Wait until the bot has answered no press for ``quiet`` seconds."""
    count, still = -1, 0.0
    while still < quiet:
        now = len(await acknowledged(telegram))
        count, still = now, (still + 0.1 if now == count else 0.0)
        await asyncio.sleep(0.1)


async def acknowledged(telegram) -> set[int]:
    """Residents whose press the bot answered."""
    return {e["chat_id"] for e in await telegram.events() if e["kind"] == "callback_answer"}


@pytest.mark.slow
async def test_vote_storm_survives_kill_9(db, tmp_path, sandbox, telegram, database_url):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", RESIDENTS, FIRST_ID)
    consultation_id = await open_round(db, "南溪小区")
    first = await start_bot(sandbox, database_url, tmp_path)
    await wait_until_delivered(db)
    questions = {r: await question_of(telegram, r) for r in residents}

    async def press(resident: int) -> None:
        data = buttons(questions[resident])
        wanted = next(d for d in data.values() if d.endswith(choice_of(resident)))
        await telegram.press(user(resident), questions[resident]["message_id"], wanted)

    storm = asyncio.gather(*(press(r) for r in residents))
    kill_after = kill_point(RESIDENTS * 0.1, RESIDENTS * 0.9)
    while len(await acknowledged(telegram)) < kill_after:
        await asyncio.sleep(0.02)
    await stop(first, signal.SIGKILL)
    await storm
    answered_before_kill = await acknowledged(telegram)

    polled = await polls(telegram)
    second = await start_bot(sandbox, database_url, tmp_path)
    try:
        await started_polling(telegram, polled)
        await settled(telegram)  # presses that were still queued are answered now
        unanswered = [r for r in residents if r not in await acknowledged(telegram)]
        await asyncio.gather(*(press(r) for r in unanswered))  # pressed again
        async for _ in ticks(3 * EVENT_WAIT, every=0.05):  # a hundred presses, one by one
            if len(await acknowledged(telegram)) == RESIDENTS:
                break
    finally:
        await stop(second, signal.SIGTERM)

    async with db.session() as session:
        ballots = (
            await session.exec(
                select(Ballot.cast_by, Ballot.choice).where(
                    Ballot.consultation_id == consultation_id
                )
            )
        ).all()
    print(
        f"\nkill -9 after {len(answered_before_kill)} of {RESIDENTS} votes answered; "
        f"{len(unanswered)} pressed again after the restart (seed {CRASH_SEED})"
    )
    assert len(answered_before_kill) < RESIDENTS
    assert sorted(cast_by for cast_by, _ in ballots) == residents  # none lost, none doubled
    assert all(choice == choice_of(cast_by) for cast_by, choice in ballots)


@pytest.mark.slow
async def test_a_closing_time_passed_while_down_is_kept(
    db, tmp_path, sandbox, telegram, database_url
):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 5, FIRST_ID)
    first = await start_bot(sandbox, database_url, tmp_path)
    consultation_id = await open_round(db, "南溪小区")
    await wait_until_delivered(db)
    await stop(first, signal.SIGKILL)
    await close_now(db, consultation_id)  # the closing time passes with no bot running

    second = await start_bot(sandbox, database_url, tmp_path)
    try:
        outcome = await closed(db, consultation_id)
        await wait_until_delivered(db)
    finally:
        await stop(second, signal.SIGTERM)

    assert outcome.status == ConsultationStatus.CLOSED
    outcomes = Counter(
        e["chat_id"]
        for e in await telegram.events()
        if e["kind"] == "message" and "暂缓改造" in (e["message"].get("text") or "")
    )
    assert outcomes == Counter(dict.fromkeys(residents, 1))  # told once each


@pytest.mark.slow
async def test_a_half_written_notice_survives_kill_9(db, tmp_path, sandbox, telegram, database_url):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 3, FIRST_ID)
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区"], CLI)
    staff = Person(telegram, STAFF, "社工")
    first = await start_bot(sandbox, database_url, tmp_path)
    try:
        await compose(staff, "本周六上午检修水泵，停水两小时")
    finally:
        await stop(first, signal.SIGKILL)

    second = await start_bot(sandbox, database_url, tmp_path)
    try:
        await choose(staff, "南溪小区")  # the audience step, as if nothing happened
        _, preview = await choose(staff, "立即发送", replies=2)
        await choose(staff, "发送通知")
        await wait_until_delivered(db)
    finally:
        await stop(second, signal.SIGTERM)
    assert "发给南溪小区，共3位居民" in preview
    got = await received(telegram, residents, "本周六上午检修水泵，停水两小时")
    assert got == dict.fromkeys(residents, 1)


@pytest.mark.slow
async def test_a_half_made_menu_survives_kill_9_and_closes_on_time(
    db, tmp_path, sandbox, telegram, database_url
):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 2, FIRST_ID)
    async with db.session() as session:
        found = await registry.community_named(session, "南溪小区")
        opened = await round2.open_round2(
            session,
            found.id,
            "改造方案征询",
            "请选择",
            utcnow() + timedelta(days=7),
            CLI,
            codes=["B01", "I01", "I02", "U01"],
            override_reason="试点",
        )
    resident = Person(telegram, residents[0], "居民")
    first = await start_bot(sandbox, database_url, tmp_path)
    try:
        await wait_until_delivered(db)
        question = await question_with(telegram, resident.id, "打开菜单点菜")
        await resident.press(question, buttons(question)["打开菜单点菜"])
        menu_message = await resident.last_message()
        await resident.press(menu_message, toggle(menu_message, "绿化提升"), kind="edit")
        menu_message = await resident.last_message()
        await resident.press(menu_message, toggle(menu_message, "邻里中心"), kind="edit")
    finally:
        await stop(first, signal.SIGKILL)

    second = await start_bot(sandbox, database_url, tmp_path)
    try:
        menu_message = await resident.last_message()
        assert "已选2项" in menu_message["text"]
        await resident.press(menu_message, buttons(menu_message)["提交"], kind="edit")
        await close_now(db, opened.id)  # the closing time comes while this process runs
        outcome = await closed(db, opened.id)
    finally:
        await stop(second, signal.SIGTERM)
    async with db.session() as session:
        result = await round2.tally(session, opened.id)
    chosen = {row.item.code for row in result.items if row.households}
    assert outcome.status == ConsultationStatus.CLOSED and result.answered == 1
    assert chosen == {"I01", "U01"} and {row.item.code for row in result.plan} >= chosen


async def question_with(telegram, chat_id: int, label: str) -> dict:
    history = await telegram.history(chat_id)
    return next(m for m in history if m["from_bot"] and label in str(m.get("reply_markup")))


def toggle(message: dict, name: str) -> str:
    return next(data for label, data in buttons(message).items() if name in label)


@pytest.mark.slow
async def test_a_repair_report_survives_kill_9_between_steps(
    db, tmp_path, sandbox, telegram, database_url
):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 1, FIRST_ID)
    resident = Person(telegram, residents[0], "居民")
    first = await start_bot(sandbox, database_url, tmp_path)
    try:
        await resident.say("/repair")
        message = await resident.last_message()
        await resident.press(message, toggle(message, "屋面漏水"))
        message = await resident.last_message()
        await resident.press(message, toggle(message, "公共部位"))
    finally:
        await stop(first, signal.SIGKILL)

    second = await start_bot(sandbox, database_url, tmp_path)
    try:
        assert "紧急" in await resident.say("3幢 屋顶")  # the spot step, where it was
        message = await resident.last_message()
        await resident.press(message, toggle(message, "紧急，现在有危险"))
        await resident.say("屋顶漏水滴到电表箱上")
        for label in ("照片发完了", "不发位置", "提交"):
            message = await resident.last_message()
            await resident.press(message, toggle(message, label))
    finally:
        await stop(second, signal.SIGTERM)
    async with db.session() as session:
        (filed,) = (await session.exec(select(RepairRequest))).all()
    assert filed.place == "3幢 屋顶" and filed.urgent and filed.category == "roof_leak"


@pytest.mark.slow
async def test_notices_due_while_down_fire_once_or_are_reported_skipped(
    db, tmp_path, sandbox, telegram, database_url
):
    """Within the grace time a missed notice goes out once after the restart; beyond it,
    it is skipped and its author is told (the scheduler's grace is 60 minutes)."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 4, FIRST_ID)
    await telegram.add_users([user(STAFF, "社工")])
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区"], CLI)
        audience = {
            "kind": "communities",
            "ids": await notices.community_ids_named(session, ["南溪小区"]),
        }
        later = utcnow() + timedelta(hours=1)
        late = await notices.create(session, Actor(STAFF), "明天停水", audience, at=later)
        lost = await notices.create(session, Actor(STAFF), "昨天的停电通知", audience, at=later)
    first = await start_bot(sandbox, database_url, tmp_path)
    await started_polling(telegram, 0)
    await stop(first, signal.SIGKILL)
    async with db.session() as session:  # the bot stays down past both times, one by hours
        for notice, missed_by in ((late, timedelta(seconds=1)), (lost, timedelta(hours=2))):
            missed = await session.get(Notice, notice.id)
            missed.first_at = missed.next_at = utcnow() - missed_by

    second = await start_bot(sandbox, database_url, tmp_path)
    try:
        async for _ in ticks(every=DB_POLL):
            async with db.session() as session:
                states = [
                    (await session.get(Notice, n.id, populate_existing=True)).next_at
                    for n in (late, lost)
                ]
            if states == [None, None]:
                break
        await wait_until_delivered(db)
        await telegram.wait_for(  # the author's delivery report of the one that went out
            STAFF, after=0, kind=None, predicate=lambda e: "发送完毕" in str(e.get("message"))
        )
    finally:
        await stop(second, signal.SIGTERM)

    assert await received(telegram, residents, "明天停水") == dict.fromkeys(residents, 1)
    assert await received(telegram, residents, "昨天的停电通知") == {}
    told = [e["message"]["text"] for e in await telegram.events(chat_id=STAFF)]
    skipped = [text for text in told if "没有按时发出" in text]
    assert len(skipped) == 1 and f"编号{lost.id}" in skipped[0]
    assert any("发送完毕：共4人，已送达4" in text for text in told)  # the one that went out


@pytest.mark.slow
async def test_kill_9_while_a_scheduled_notice_fires(db, tmp_path, sandbox, telegram, database_url):
    """The kill falls somewhere in the second after the notice is due: before the scheduler
    fired it, while it queues the broadcast, or while the broadcast goes out. After the
    restart it has fired once and everybody has it, at most one batch twice."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 600, FIRST_ID)
    due = utcnow() + timedelta(seconds=4)
    async with db.session() as session:
        audience = {
            "kind": "communities",
            "ids": await notices.community_ids_named(session, ["南溪小区"]),
        }
        notice = await notices.create(session, Actor(), "明早 8 点起停水", audience, at=due)
    first = await start_bot(sandbox, database_url, tmp_path)
    await asyncio.sleep((due - utcnow()).total_seconds() + kill_point(0.0, 1.0))
    await stop(first, signal.SIGKILL)
    sent_before_kill = (await telegram.stats())["sent_messages"]

    second = await start_bot(sandbox, database_url, tmp_path)
    try:
        async for _ in ticks(every=DB_POLL):
            async with db.session() as session:
                fired = await session.get(Notice, notice.id, populate_existing=True)
            if fired.fired:
                break
        await wait_until_delivered(db)
    finally:
        await stop(second, signal.SIGTERM)

    got = await received(telegram, residents, "明早 8 点起停水")
    print(f"\nkill -9 with {sent_before_kill} of {len(residents)} sent (seed {CRASH_SEED})")
    assert fired.fired == 1
    assert set(got) == set(residents)
    assert sum(n - 1 for n in got.values()) <= MAX_BATCH
