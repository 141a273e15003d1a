"""The idle sender hears at once of what other processes queue.

The bot here sweeps, and so looks in the outbox on its own, only once an hour:
whatever it sends within a test it sent because it was told. On PostgreSQL
the commit that queued NOTIFYs the leader; on SQLite the database's files
change; a delivery put back to wait its turn is sent when its turn comes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text as sql
from sqlmodel import col, select

from bench.crowd import crowd
from bot.config import Settings
from bot.flows import notices
from bot.flows.audit import Actor
from storage.db import is_sqlite
from storage.models import Broadcast, Delivery, DeliveryState
from storage.types import utcnow
from tests.e2e.conftest import DB_POLL, ticks
from tests.e2e.test_outbox import (
    community_id,
    notice_from_the_command_line,
    received,
    wait_until_delivered,
)

HOUR = 3600


# One message to a chat every five seconds: of two messages queued at once, the second
# surely waits its turn, however slow the machine.
TURN = 5.0


@pytest.fixture
def bot_settings(bot_settings: Settings) -> Settings:
    hourly = bot_settings.scheduler.model_copy(update={"sweep_seconds": HOUR})
    spaced = bot_settings.delivery.model_copy(update={"per_chat_interval_seconds": TURN})
    return bot_settings.model_copy(update={"scheduler": hourly, "delivery": spaced})


async def test_a_notice_sent_from_the_command_line_goes_out_without_waiting_for_the_sweep(
    db, tmp_path, telegram, running_bot, database_url
):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 5, 100_000)
    await notice_from_the_command_line(tmp_path, database_url, "南溪小区", "今晚八点停电检修。")

    assert await wait_until_delivered(db) == {DeliveryState.SENT: 5}
    got = await received(telegram, residents, "今晚八点停电检修")
    assert set(got) == set(residents) and set(got.values()) == {1}


async def test_a_message_put_back_for_its_chats_turn_goes_out_when_the_turn_comes(
    db, tmp_path, telegram, running_bot
):
    """Two notices queued at once: each chat's second is put back until its turn, then goes."""
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 3, 100_000)
    audience = {"kind": "communities", "ids": [await community_id(db, "南溪小区")]}
    async with db.session() as session:
        for body in ("第一条：明天停水。", "第二条：后天恢复供水。"):
            notice = await notices.create(session, Actor(), body, audience)
            assert notice.id is not None
            await notices.fire(session, notice.id, timedelta(minutes=1))

    assert await wait_until_delivered(db) == {DeliveryState.SENT: 6}
    for part in ("第一条", "第二条"):
        got = await received(telegram, residents, part)
        assert set(got) == set(residents) and set(got.values()) == {1}
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Delivery.broadcast_id, Delivery.not_before, Broadcast.created_at).join(
                    Broadcast, col(Delivery.broadcast_id) == Broadcast.id
                )
            )
        ).all()
    second = max(broadcast for broadcast, _, _ in rows)
    waited = [(due - queued).total_seconds() for b, due, queued in rows if b == second]
    assert len(waited) == 3 and min(waited) > 1  # each was put back for its turn


async def test_the_leader_listens_again_after_the_database_dropped_its_connections(
    db, tmp_path, telegram, running_bot, database_url
):
    """As after a restart of PostgreSQL: the leader's lock and LISTEN went with its
    connection; it takes them again at once and hears the next notice."""
    if is_sqlite(db.url):
        pytest.skip("a server's connections")
    residents = await crowd(db, telegram, tmp_path, "南溪小区", 3, 100_000)
    listening = sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND query LIKE 'LISTEN%'"
    )
    (sweep,) = running_bot.job_queue.get_jobs_by_name("sweep")
    async for _ in ticks(every=DB_POLL):  # the leader listens; the first sweep has come
        async with db.session() as session:
            leader = (await session.exec(listening)).all()
        if leader and sweep.next_t > utcnow() + timedelta(seconds=HOUR / 2):
            break
    else:
        raise AssertionError(f"no leader listening ({leader}) or no sweep yet")
    (cut,) = leader[0]
    async with db.session() as session:
        await session.exec(sql("SELECT pg_terminate_backend(:pid)"), params={"pid": cut})
    async for _ in ticks(every=DB_POLL):  # listening again, on a connection of its own
        async with db.session() as session:
            leader = (await session.exec(listening)).all()
        if leader and cut not in {pid for (pid,) in leader}:
            break
    else:
        raise AssertionError("the leader did not listen again")
    assert len(leader) == 1
    await notice_from_the_command_line(tmp_path, database_url, "南溪小区", "电梯今天维保。")

    assert await wait_until_delivered(db) == {DeliveryState.SENT: 3}
    got = await received(telegram, residents, "电梯今天维保")
    assert set(got) == set(residents) and set(got.values()) == {1}
