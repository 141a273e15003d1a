"""Staff compose notices in the chat; the right residents get them; the author sees the report."""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bench.crowd import crowd
from bot.flows import consultation, registry
from bot.flows.audit import CLI, Actor
from storage.models import Notice, Role
from storage.types import utcnow
from tests.e2e.conftest import DB_POLL, buttons, ticks
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_outbox import received, wait_until_delivered

STAFF = 9100
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEK = timedelta(days=7)


async def staff_of(db, *communities: str, role=Role.STAFF) -> None:
    async with db.session() as session:
        await registry.add_staff(session, STAFF, role, list(communities), CLI)


async def compose(staff, content: str | None = None, **fields) -> None:
    assert "通知内容" in await staff.say("/notice")
    await staff.send(content, **fields)


async def choose(staff, label: str, replies: int = 1) -> list[str]:
    message = await staff.last_message()
    return await staff.press(message, buttons(message)[label], replies=replies)


async def test_an_immediate_notice_to_one_community_with_a_report(db, tmp_path, telegram, person):
    nanxi = await crowd(db, telegram, tmp_path, "南溪小区", 12, 100_000)
    yunnan = await crowd(db, telegram, tmp_path, "运南新村", 5, 200_000)
    await staff_of(db, "南溪小区")
    staff = person(STAFF, "社工")
    await compose(staff, "周六 9:00 召开改造方案说明会 <地点：社区活动室>")
    assert "运南新村" not in buttons(await staff.last_message())
    await choose(staff, "南溪小区")
    # The notice as residents will read it, then whom it reaches and when.
    draft, preview = await choose(staff, "立即发送", replies=2)
    assert draft.startswith("【社区通知】")
    assert "发给南溪小区，共12位居民" in preview
    (sending,) = await choose(staff, "发送通知")
    assert "正在发送" in sending
    await wait_until_delivered(db)
    got = await received(telegram, nanxi + yunnan, "召开改造方案说明会 <地点：社区活动室>")
    assert set(got) == set(nanxi) and set(got.values()) == {1}
    report = await telegram.wait_for(
        STAFF,
        after=0,
        kind=None,
        predicate=lambda e: "发送完毕" in ((e.get("message") or {}).get("text") or ""),
    )
    assert "共12人，已送达12" in report["message"]["text"]


async def test_a_photo_notice_to_households_that_have_not_answered(db, tmp_path, telegram, person):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 4, 100_000)
    await staff_of(db, "南溪小区")
    async with db.session() as session:
        community = await registry.community_named(session, "南溪小区")
        opened = await consultation.open_round1(
            session, community.id, "改造意愿征询", "同意吗？", utcnow() + timedelta(days=3), CLI
        )
    async with db.session() as session:
        await consultation.cast(session, opened.id, residents[0], "agree", Actor(residents[0]))
    staff = person(STAFF, "社工")
    await compose(staff, photo_b64=PNG, caption="征询还有三天截止，请尽快投票")
    await choose(staff, "南溪小区：尚未答复征询的住户")
    _, preview = await choose(staff, "立即发送", replies=2)
    assert "发给南溪小区「改造意愿征询」尚未答复的住户，共3位居民" in preview
    await choose(staff, "发送通知")
    await wait_until_delivered(db)
    for resident in residents:
        photos = [m for m in await telegram.history(resident) if m.get("photo")]
        assert len(photos) == (0 if resident == residents[0] else 1)
    sample = [m for m in await telegram.history(residents[1]) if m.get("photo")][0]
    assert "请尽快投票" in sample["caption"]
    assert base64.b64decode(PNG) == await telegram.file_bytes(sample["photo"][-1]["file_id"])


async def test_a_notice_at_a_time_reaches_its_community_only(db, tmp_path, telegram, person):
    """Scheduled for tomorrow: nothing goes out before; when its time comes (moved to now in
    the database, where the schedule lives), only that community's residents get it."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 3, 100_000)
    others = await crowd(db, telegram, tmp_path, "运南新村", 2, 200_000)
    await staff_of(db, "南溪小区")
    staff = person(STAFF, "社工")
    await compose(staff, "定时通知：明天检修水管")
    await choose(staff, "南溪小区")
    await choose(staff, "定时发送")
    assert "发给南溪小区，共3位居民" in (await staff.send(tomorrow(), replies=2))[1]
    (scheduled,) = await choose(staff, "发送通知")
    assert "通知已安排" in scheduled
    await asyncio.sleep(1)  # sweeps pass: not yet its time
    assert await received(telegram, residents + others, "定时通知") == {}
    await shift_schedule(db, await due_in(db))  # its time comes
    await wait_until_delivered(db)
    got = await received(telegram, residents + others, "定时通知")
    assert got == dict.fromkeys(residents, 1)


def tomorrow() -> str:
    """This minute tomorrow, as staff type a time."""
    return (utcnow() + timedelta(days=1)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def due_in(db) -> timedelta:
    """How long until the one notice fires next."""
    async with db.session() as session:
        (next_at,) = (await session.exec(select(Notice.next_at))).all()
    return next_at - utcnow()


async def shift_schedule(db, earlier: timedelta) -> None:
    """Move the one notice's times ``earlier``: as if that much time had passed."""
    async with db.session() as session:
        (notice,) = (await session.exec(select(Notice))).all()
        for moment in ("first_at", "next_at", "until"):
            if getattr(notice, moment) is not None:
                setattr(notice, moment, getattr(notice, moment) - earlier)
        session.add(notice)


async def test_bad_input_while_composing_changes_nothing(db, tmp_path, telegram, person):
    await crowd(db, telegram, tmp_path, "南溪小区", 3, 100_000)
    await crowd(db, telegram, tmp_path, "运南新村", 3, 200_000)
    await staff_of(db, "南溪小区")
    resident = person(100_000, "居民")
    assert "只供工作人员使用" in await resident.say("/notice")
    staff = person(STAFF, "社工")
    assert "通知内容" in await staff.say("/notice")
    assert "太长" in await staff.say("长" * 4001)
    await staff.say("正常的通知")
    message = await staff.last_message()
    foreign = await registry_id(db, "运南新村")
    for data in [f"v1:ntc:c:{foreign}", "v1:ntc:all:0", "v1:ntc:c:x", "v1:ntc:go:0", "v1:ntc"]:
        assert "按钮已失效" in (await staff.press_answer(message, data))["text"]
    await choose(staff, "南溪小区")
    await choose(staff, "定时发送")
    assert "看不懂这个时间" in await staff.say("明天早上")
    assert "只能读取文字" in await staff.say(None, sticker={"emoji": "🙂"})
    assert "请用上面的按钮" in await staff.say(None, photo_b64=PNG)
    assert "已取消" in await staff.say("/cancel")
    async with db.session() as session:
        assert (await session.exec(select(Notice))).all() == []


async def registry_id(db, name: str) -> int:
    async with db.session() as session:
        return (await registry.community_named(session, name)).id


async def test_failed_deliveries_can_be_retried_from_the_report(db, tmp_path, telegram, person):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 3, 100_000)
    lost = await crowd(db, telegram, tmp_path, "运南新村", 1, 300_000, started=False)
    blocker, *reached = residents
    await telegram.block(blocker, True)
    await staff_of(db, role=Role.ADMIN)
    staff = person(STAFF, "管理员")
    await compose(staff, "需要重发的通知")
    await choose(staff, "全部居民（所有小区）")
    await choose(staff, "立即发送")
    await choose(staff, "发送通知")
    await wait_until_delivered(db)
    report = await telegram.wait_for(
        STAFF,
        after=0,
        kind=None,
        predicate=lambda e: "发送完毕" in ((e.get("message") or {}).get("text") or ""),
    )
    assert "共4人，已送达2，对方已屏蔽机器人1，失败1" in report["message"]["text"]
    assert "Chat not found" in report["message"]["text"]

    await telegram.add_users([{"id": lost[0], "first_name": "迟到的居民"}])  # now reachable
    message = report["message"]
    (retrying,) = await staff.press(message, buttons(message)["重发失败的"])
    assert "正在重发1条" in retrying  # the failed one, not the one who blocked the bot
    await wait_until_delivered(db)
    got = await received(telegram, residents + lost, "需要重发的通知")
    assert set(got) == set(reached + lost) and set(got.values()) == {1}
    # The button is spent: pressing it again retries nothing.
    assert (
        "按钮已失效" in (await staff.press_answer(message, buttons(message)["重发失败的"]))["text"]
    )


async def fired(db, times: int) -> None:
    """Wait until the scheduler has fired the one notice ``times`` times."""
    async for _ in ticks(every=DB_POLL):
        async with db.session() as session:
            if (await session.exec(select(Notice.fired))).one() >= times:
                return
    raise AssertionError(f"the notice was not fired {times} times")


async def test_a_weekly_notice_goes_out_each_week_until_its_end(db, tmp_path, telegram, person):
    """A week passes by moving the notice's times a week back in the database, which is
    where the schedule lives. The first firing is typed ten minutes ahead, so that it is
    still ahead when the last step is pressed however slow the machine (a minute typed is
    refused once it is past), and its time then comes the same way."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 3, 100_000)
    others = await crowd(db, telegram, tmp_path, "运南新村", 2, 200_000)
    await staff_of(db, "南溪小区")
    staff = person(STAFF, "社工")
    await compose(staff, "每周一例会：请到社区活动室")
    await choose(staff, "南溪小区")
    await choose(staff, "每周重复")
    ahead = timedelta(minutes=10)
    first = (utcnow() + ahead).astimezone(SHANGHAI)
    assert "截止时间" in await staff.say(first.strftime("%Y-%m-%d %H:%M"))
    last = first + timedelta(days=15)
    assert (
        "发给南溪小区，共3位居民"
        in (await staff.send(last.strftime("%Y-%m-%d %H:%M"), replies=2))[1]
    )
    (scheduled,) = await choose(staff, "发送通知")
    assert "通知已安排" in scheduled
    await shift_schedule(db, ahead)

    for week in (1, 2, 3):
        await fired(db, times=week)
        await wait_until_delivered(db)
        got = await received(telegram, residents + others, "每周一例会：请到社区活动室")
        assert set(got) == set(residents) and set(got.values()) == {week}
        if week < 3:
            await shift_schedule(db, timedelta(days=7))
    async with db.session() as session:
        (notice,) = (await session.exec(select(Notice))).all()
    assert notice.next_at is None and notice.fired == 3  # the fourth week is past the end


async def test_the_author_watches_one_message_count_up_to_the_report(
    db, tmp_path, telegram, person
):
    """150 recipients at the sender's 25 a second take about six seconds: the progress
    message is edited along the way, with the achieved rate, and ends as the report."""
    await crowd(db, telegram, tmp_path, "南溪小区", 150, 100_000)
    await staff_of(db, "南溪小区")
    staff = person(STAFF, "社工")
    await compose(staff, "楼道杂物清理通知")
    await choose(staff, "南溪小区")
    await choose(staff, "立即发送")
    await choose(staff, "发送通知")
    await wait_until_delivered(db)
    report = await telegram.wait_for(
        STAFF,
        after=0,
        kind="edit",
        predicate=lambda e: "发送完毕" in e["message"]["text"],
    )
    edits = [
        e["message"]["text"]
        for e in await telegram.events(chat_id=STAFF)
        if e["kind"] == "edit" and e["message"]["message_id"] == report["message"]["message_id"]
    ]
    counting = [text for text in edits if text.startswith("正在发送通知")]
    assert len(counting) >= 2, edits
    done = [int(text.split("：")[1].split("/")[0]) for text in counting]
    assert done == sorted(done) and done[-1] < 150
    rates = [int(text.split("每秒约")[1].split("条")[0]) for text in counting]
    assert all(0 < rate <= 30 for rate in rates), rates  # what went out, never above the pace
    assert "共150人，已送达150" in edits[-1]


async def test_a_notice_to_several_communities_then_to_one_building(db, tmp_path, telegram, person):
    nanxi = await crowd(db, telegram, tmp_path, "南溪小区", 120, 100_000)  # buildings 1 and 2
    yunnan = await crowd(db, telegram, tmp_path, "运南新村", 3, 200_000)
    meiwan = await crowd(db, telegram, tmp_path, "梅湾花园", 2, 300_000)
    await staff_of(db, "南溪小区", "运南新村")
    staff = person(STAFF, "社工")
    await compose(staff, "周六上午停水，请提前储水")
    await choose(staff, "几个小区……")
    assert "没有找到这些小区" in await staff.say("南溪小区、梅湾花园")  # not theirs
    await staff.say("南溪小区、运南新村")
    _, preview = await choose(staff, "立即发送", replies=2)
    assert "发给南溪小区、运南新村，共123位居民" in preview
    await choose(staff, "发送通知")
    await wait_until_delivered(db)
    everybody = nanxi + yunnan + meiwan
    got = await received(telegram, everybody, "周六上午停水")
    assert got == dict.fromkeys(nanxi + yunnan, 1)

    await compose(staff, "2幢电梯周一检修")
    await choose(staff, "按楼栋……")
    assert "没有找到这些楼栋" in await staff.say("梅湾花园 1")
    await staff.say("南溪小区 2")
    _, preview = await choose(staff, "立即发送", replies=2)
    assert "发给南溪小区2幢，共20位居民" in preview
    await choose(staff, "发送通知")
    await wait_until_delivered(db)
    assert await received(telegram, everybody, "2幢电梯周一检修") == dict.fromkeys(nanxi[100:], 1)


async def test_a_document_notice_reaches_the_residents_with_its_caption(
    db, tmp_path, telegram, person
):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 3, 100_000)
    await staff_of(db, "南溪小区")
    staff = person(STAFF, "社工")
    plan = b"%PDF-1.4 renovation plan"
    document = base64.b64encode(plan).decode()
    await compose(staff, document_b64=document, file_name="改造方案.pdf", caption="改造方案公示")
    await choose(staff, "南溪小区")
    await choose(staff, "立即发送")
    await choose(staff, "发送通知")
    await wait_until_delivered(db)
    for resident in residents:
        (sent,) = [m for m in await telegram.history(resident) if m.get("document")]
        assert "改造方案公示" in sent["caption"]
        assert await telegram.file_bytes(sent["document"]["file_id"]) == plan


async def test_a_notice_to_unanswered_households_ends_when_the_consultation_closes(
    db, tmp_path, telegram, person, caplog
):
    """Scheduled to chase the households that have not voted, but the consultation closes
    first: when its time comes nobody gets it, it never fires again, and its English-speaking
    author is told why, once, in English."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 4, 100_000)
    await staff_of(db, "南溪小区")
    async with db.session() as session:
        community = await registry.community_named(session, "南溪小区")
        opened = await consultation.open_round1(
            session, community.id, "改造意愿征询", "同意吗？", utcnow() + timedelta(days=3), CLI
        )
        await consultation.cast(session, opened.id, residents[0], "agree", Actor(residents[0]))
    staff = person(STAFF, "Staff", language_code="en")
    assert "Send the notice" in await staff.say("/notice")
    await staff.send("Please vote by Friday")
    await choose(staff, "南溪小区: households that have not answered")
    await choose(staff, "At a time")
    draft, preview = await staff.send(tomorrow(), replies=2)
    assert draft == "[Community notice]\nPlease vote by Friday"
    assert (
        "goes to the households of 南溪小区 “改造意愿征询” that have not answered, 3 residents"
        in preview
    )
    (scheduled,) = await choose(staff, "Send the notice")
    assert "scheduled" in scheduled
    async with db.session() as session:
        await consultation.close(session, opened.id, CLI)
    await shift_schedule(db, await due_in(db))  # its time comes

    def about_the_end(event: dict) -> bool:
        return "has closed" in ((event.get("message") or {}).get("text") or "")

    told = await telegram.wait_for(STAFF, after=0, kind=None, predicate=about_the_end)
    text = told["message"]["text"]
    assert "Please vote by Friday" in text and "改造意愿征询" in text
    await asyncio.sleep(1.5)  # three more sweeps: nothing is tried again
    assert [e for e in await telegram.events(chat_id=STAFF) if about_the_end(e)] == [told]
    assert await received(telegram, residents, "Please vote by Friday") == {}
    async with db.session() as session:
        (notice,) = (await session.exec(select(Notice))).all()
    assert notice.next_at is None and notice.fired == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize(
    ("late", "sent"), [(timedelta(minutes=10), True), (timedelta(hours=2), False)]
)
async def test_weekly_firings_missed_while_the_bot_was_down_go_out_once_or_are_reported(
    db, tmp_path, telegram, person, late, sent
):
    """Three weekly firings passed, the last ``late`` ago: within the grace time the residents
    get it once; beyond, the author is told it was skipped. Either way it goes on next week."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 3, 100_000)
    await staff_of(db, "南溪小区")
    staff = person(STAFF, "社工")
    await compose(staff, "每周一例会：请到社区活动室")
    await choose(staff, "南溪小区")
    await choose(staff, "每周重复")
    assert "截止时间" in await staff.say(tomorrow())
    until = (utcnow() + timedelta(days=60)).astimezone(SHANGHAI)
    assert (
        "发给南溪小区，共3位居民"
        in (await staff.send(until.strftime("%Y-%m-%d %H:%M"), replies=2))[1]
    )
    await choose(staff, "发送通知")
    await shift_schedule(db, await due_in(db) + 2 * WEEK + late)

    def skipped(event: dict) -> bool:
        return "已跳过" in ((event.get("message") or {}).get("text") or "")

    if sent:
        await fired(db, times=1)
        await wait_until_delivered(db)
    else:
        await telegram.wait_for(STAFF, after=0, kind=None, predicate=skipped)
    await asyncio.sleep(1)  # more sweeps: the missed firings are not sent one by one
    got = await received(telegram, residents, "每周一例会")
    assert got == (dict.fromkeys(residents, 1) if sent else {})
    assert abs(await due_in(db) - (WEEK - late)) < timedelta(minutes=1)  # a week after the last
    reports = [e["message"]["text"] for e in await telegram.events(chat_id=STAFF) if skipped(e)]
    if sent:
        assert reports == []
    else:
        async with db.session() as session:
            (next_at,) = (await session.exec(select(Notice.next_at))).all()
        (report,) = reports
        assert f"{(next_at - WEEK).astimezone(SHANGHAI):%Y-%m-%d %H:%M}" in report  # the last
        assert "每周一例会" in report
