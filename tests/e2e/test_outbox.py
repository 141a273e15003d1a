"""The delivery outbox through the local Bot API server: right audience, limits, blocks, load."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bench.crowd import crowd
from bot.app import build_application
from bot.flows import notices, outbox
from bot.flows.audit import Actor
from sandbox.client import SandboxClient
from sandbox.server import run_sandbox
from storage.db import is_sqlite
from storage.models import Delivery, DeliveryState, Notice, User
from storage.types import utcnow
from tests.e2e.conftest import DB_POLL, EVENT_WAIT, TOKEN, ticks

LINLI = [sys.executable, "-c", "from bot.cli import main; main()"]


async def received(telegram, chat_ids: list[int], contains: str) -> Counter:
    """How many messages containing ``contains`` each chat got from the bot."""
    counts: Counter = Counter()
    for chat_id in chat_ids:
        for message in await telegram.history(chat_id):
            if message["from_bot"] and contains in (message.get("text") or ""):
                counts[chat_id] += 1
    return counts


async def wait_until_delivered(
    db, timeout: float = 2 * EVENT_WAIT, *, some: bool = True
) -> dict[str, int]:
    """Wait until deliveries exist (unless ``some`` is False: there may be none at all) and
    none is pending or being sent; the counts by state."""
    states: Counter = Counter()
    async for _ in ticks(timeout, every=DB_POLL):
        async with db.session() as session:
            states = Counter((await session.exec(select(Delivery.state))).all())
        if (
            (states or not some)
            and not states[DeliveryState.PENDING]
            and not states[DeliveryState.SENDING]
        ):
            return dict(states)
    raise TimeoutError(f"deliveries still open: {states}")


async def send_notice(db, body: str, community_ids: list[int] | None = None, author=None):
    audience = (
        {"kind": "communities", "ids": community_ids} if community_ids else {"kind": "everyone"}
    )
    async with db.session() as session:
        notice = await notices.create(session, Actor(author), body, audience)
        await notices.fire(session, notice.id, timedelta(minutes=1))
    return notice


async def community_id(db, name: str) -> int:
    from bot.flows.registry import community_named

    async with db.session() as session:
        return (await community_named(session, name)).id


async def notice_from_the_command_line(
    tmp_path, database_url: str, community: str, body: str, *options: str
) -> str:
    """``linli notice send`` in a process of its own, as staff at a shell would; its output."""
    (tmp_path / "notice.txt").write_text(body, encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        *LINLI,
        "notice",
        "send",
        "--community",
        community,
        "--text-file",
        str(tmp_path / "notice.txt"),
        *options,
        env={**os.environ, "LINLI_DATABASE__URL": database_url},
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_cli_notice_reaches_its_community_only(
    db, tmp_path, telegram, running_bot, database_url
):
    inside = await crowd(db, telegram, tmp_path, "南溪小区", 30, 100_000)
    outside = await crowd(db, telegram, tmp_path, "运南新村", 10, 200_000)
    out = await notice_from_the_command_line(
        tmp_path, database_url, "南溪小区", "明天上午 9 点停水，请提前储水。<b>不是标签</b>"
    )
    assert "to 30 residents" in out
    states = await wait_until_delivered(db)
    assert states == {DeliveryState.SENT: 30}
    got = await received(telegram, inside + outside, "明天上午 9 点停水")
    assert set(got) == set(inside) and set(got.values()) == {1}
    sample = [m for m in await telegram.history(inside[0]) if m["from_bot"]][-1]
    assert "<b>不是标签</b>" in sample["text"]  # plain text from a file stays plain


async def test_rate_limit_answers_are_waited_out_and_nobody_is_missed(
    db, tmp_path, telegram, running_bot
):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 60, 100_000)
    await telegram.set_limits(enabled=True, per_second=10)
    running_bot.bot_data["sender"].pacer.interval = 1 / 40  # faster than the server allows
    await send_notice(db, "限速测试")
    running_bot.bot_data["sender"].poke()
    states = await wait_until_delivered(db)
    assert states == {DeliveryState.SENT: 60}
    assert (await telegram.stats())["too_many_requests"] > 0
    got = await received(telegram, residents, "限速测试")
    assert set(got) == set(residents) and set(got.values()) == {1}


async def test_blocked_users_are_marked_and_reached_again_after_writing(
    db, tmp_path, telegram, running_bot, person
):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 5, 100_000)
    blocker = residents[0]
    await telegram.block(blocker, True)
    await send_notice(db, "第一次通知")
    states = await wait_until_delivered(db)
    assert states == {DeliveryState.SENT: 4, DeliveryState.BLOCKED: 1}
    async with db.session() as session:
        assert (await session.get(User, blocker)).unreachable_since is not None

    await send_notice(db, "第二次通知")  # still blocked: not even tried
    await wait_until_delivered(db)
    # Five tries the first time (one answered 403), four the second.
    assert (await telegram.stats())["calls"].get("sendMessage", 0) == 5 + 4

    await telegram.block(blocker, False)
    writer = person(blocker, f"居民{blocker}")
    await writer.say("/me")
    async with db.session() as session:
        assert (await session.get(User, blocker)).unreachable_since is None
    await send_notice(db, "第三次通知")
    await wait_until_delivered(db)
    assert (await received(telegram, [blocker], "第三次通知"))[blocker] == 1


async def test_a_resident_is_answered_while_a_big_broadcast_goes_out(
    db, tmp_path, telegram, running_bot, person
):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 10_000, 100_000)
    await send_notice(db, "大范围通知")
    running_bot.bot_data["sender"].poke()
    await telegram.wait_for(residents[0], after=0)  # the broadcast has begun
    resident = person(residents[5000], "居民")
    answer = await resident.say("/me")
    assert "您家：" in answer
    async with db.session() as session:
        pending = (
            await session.exec(select(Delivery.id).where(Delivery.state == DeliveryState.PENDING))
        ).all()
    assert len(pending) > 5000  # answered long before the broadcast is through


async def test_a_message_that_cannot_be_made_fails_alone(db, tmp_path, telegram, running_bot):
    """A fault of the bot's own in one message (here a text missing from the catalogue)
    marks that delivery failed; the rest of its batch is sent and marked once."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 4, 100_000)
    async with db.session() as session:
        await outbox.enqueue(session, "notice.general", residents[:1], "no.such.message")
        await outbox.enqueue(
            session, "notice.general", residents[1:], "notice.text", values={"body": "今晚停电"}
        )
    running_bot.bot_data["sender"].poke()
    assert await wait_until_delivered(db) == {
        DeliveryState.SENT: 3,
        DeliveryState.FAILED: 1,
    }
    async with db.session() as session:
        failed = (
            await session.exec(select(Delivery).where(Delivery.state == DeliveryState.FAILED))
        ).one()
    assert (failed.telegram_id, failed.error) == (residents[0], "KeyError")
    assert await received(telegram, residents, "今晚停电") == dict.fromkeys(residents[1:], 1)


async def test_network_trouble_is_waited_out_and_nobody_gets_it_twice(
    db, tmp_path, telegram, running_bot
):
    """The Bot API answers 502 Bad Gateway for a while: those messages wait (one second,
    then two, doubling) and go out once it is back."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 3, 100_000)
    await telegram.outage(calls=2)
    await send_notice(db, "网络波动后的通知")
    running_bot.bot_data["sender"].poke()
    assert await wait_until_delivered(db) == {DeliveryState.SENT: 3}
    assert await received(telegram, residents, "网络波动后的通知") == dict.fromkeys(residents, 1)
    async with db.session() as session:
        attempts = sorted((await session.exec(select(Delivery.attempts))).all())
    assert sum(attempts) >= 2  # the two that met the outage were tried again


async def test_one_chat_gets_at_most_one_message_a_second(db, tmp_path, telegram, running_bot):
    """Three notices at once to the same residents: the server's one-a-second limit per
    chat is on, and the sender spaces them so that it never answers 429."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 2, 100_000)
    await telegram.set_limits(enabled=True, per_second=1000, per_chat_per_second=1)
    for n in range(3):
        await send_notice(db, f"第{n + 1}条通知")
    running_bot.bot_data["sender"].poke()
    await wait_until_delivered(db)
    for n in range(3):
        assert await received(telegram, residents, f"第{n + 1}条通知") == dict.fromkeys(
            residents, 1
        )
    assert (await telegram.stats())["too_many_requests"] == 0


async def test_cli_notice_at_a_time_waits_for_it(db, tmp_path, telegram, running_bot, database_url):
    """``--at`` a minute or two ahead: stored, not sent; when the time comes, it is sent."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 3, 100_000)
    at = (utcnow() + timedelta(minutes=2)).astimezone(ZoneInfo("Asia/Shanghai"))
    local = at.strftime("%Y-%m-%d %H:%M")
    body = "下周一起更换楼道灯"
    out = await notice_from_the_command_line(
        tmp_path, database_url, "南溪小区", body, "--at", local
    )
    assert local in out
    await asyncio.sleep(1)  # sweeps pass: not yet its time
    assert await received(telegram, residents, body) == {}
    async with db.session() as session:  # the minute comes (the schedule lives in the table)
        (notice,) = (await session.exec(select(Notice))).all()
        notice.first_at = notice.next_at = utcnow()
        session.add(notice)
    await asyncio.sleep(0.6)
    await wait_until_delivered(db)
    assert await received(telegram, residents, body) == dict.fromkeys(residents, 1)


async def test_one_chats_messages_arrive_in_the_order_they_were_queued(
    db, tmp_path, telegram, running_bot
):
    """Messages queued one after another (a repair's state changes) reach each household in
    that order, though each waits a second for the one before, and more are queued than
    one batch holds."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 30, 100_000)
    async with db.session() as session:
        for step in range(1, 4):
            await outbox.enqueue(
                session, "notice.general", residents, "notice.text", values={"body": f"第{step}步"}
            )
    running_bot.bot_data["sender"].poke()
    await wait_until_delivered(db)
    for resident in residents:
        texts = [m["text"] for m in await telegram.history(resident) if m["from_bot"]]
        assert texts == [f"【社区通知】\n第{step}步" for step in range(1, 4)], resident


async def test_a_message_waiting_after_network_trouble_is_not_overtaken(
    db, tmp_path, telegram, running_bot
):
    """A household's first message meets a 502 and waits its backoff; the one queued after it
    waits too, so the household still reads them in order."""
    (resident,) = await crowd(db, telegram, tmp_path, "南溪小区", 1, 100_000)
    await telegram.outage(calls=1)
    async with db.session() as session:
        await outbox.enqueue(
            session, "notice.general", [resident], "notice.text", values={"body": "先：报修已受理"}
        )
    running_bot.bot_data["sender"].poke()
    async for _ in ticks(every=0.05):  # until the first has met the outage and been put back
        async with db.session() as session:
            (first,) = (await session.exec(select(Delivery))).all()
        if first.attempts and first.state == DeliveryState.PENDING:
            break
    assert first.error
    async with db.session() as session:
        await outbox.enqueue(
            session, "notice.general", [resident], "notice.text", values={"body": "后：已派工"}
        )
    running_bot.bot_data["sender"].poke()
    await wait_until_delivered(db)
    texts = [m["text"] for m in await telegram.history(resident) if m["from_bot"]]
    assert texts == ["【社区通知】\n先：报修已受理", "【社区通知】\n后：已派工"]


async def test_messages_queued_before_a_block_are_not_tried_after_it(
    db, tmp_path, telegram, running_bot
):
    """Three messages wait for a resident who has just blocked the bot: the first meets the
    403, the other two are marked blocked without asking Telegram again."""
    (blocker,) = await crowd(db, telegram, tmp_path, "南溪小区", 1, 100_000)
    await telegram.block(blocker, True)
    async with db.session() as session:
        for step in range(3):
            await outbox.enqueue(
                session, "notice.general", [blocker], "notice.text", values={"body": f"第{step}条"}
            )
    running_bot.bot_data["sender"].poke()
    assert await wait_until_delivered(db) == {DeliveryState.BLOCKED: 3}
    assert (await telegram.stats())["calls"].get("sendMessage", 0) == 1


async def test_waiting_its_turn_is_not_a_failed_try(db, tmp_path, telegram, running_bot):
    """Messages that wait a second for the one before them (one chat, one a second) count
    no failed tries: those are kept for network trouble, which gives up after a while."""
    (resident,) = await crowd(db, telegram, tmp_path, "南溪小区", 1, 100_000)
    async with db.session() as session:
        for step in range(3):
            await outbox.enqueue(
                session, "notice.general", [resident], "notice.text", values={"body": f"第{step}条"}
            )
    running_bot.bot_data["sender"].poke()
    assert await wait_until_delivered(db) == {DeliveryState.SENT: 3}
    async with db.session() as session:
        assert set((await session.exec(select(Delivery.attempts))).all()) == {0}


async def test_of_several_processes_only_the_leader_sends(db, tmp_path, telegram, running_bot):
    """Telegram's limits are per bot: a second process on the same PostgreSQL database
    (here pointed at a Bot API server of its own, to see what it would send) sends nothing
    while the first leads."""
    if is_sqlite(db.url):
        pytest.skip("SQLite serves one process")
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 80, 100_000)  # > two batches
    settings = running_bot.bot_data["settings"]
    async with run_sandbox() as other_server:
        other = build_application(
            settings.model_copy(
                update={
                    "telegram": settings.telegram.model_copy(
                        update={"api_base_url": other_server.bot_api_url}
                    )
                }
            )
        )
        async with other, SandboxClient(other_server.base_url, TOKEN) as other_telegram:
            await other.post_init(other)  # its sender and schedule start, as run_webhook's do
            try:
                await send_notice(db, "只由一个进程发送")
                running_bot.bot_data["sender"].poke()
                other.bot_data["sender"].poke()
                assert await wait_until_delivered(db) == {DeliveryState.SENT: 80}
                assert (await other_telegram.stats())["calls"].get("sendMessage", 0) == 0
            finally:
                await other.post_stop(other)
    assert await received(telegram, residents, "只由一个进程发送") == dict.fromkeys(residents, 1)
