"""Fifty residents pressing their vote buttons at once, by polling and by webhook.

Every press is answered, none with an error, and the tally holds exactly one
ballot per household, the one pressed last, with one audit event per change:
no press lost, none counted twice. On SQLite this is where writers used to
fail with "database is locked".
"""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import func, select
from telegram import Update

from bot.app import build_application
from bot.flows import importing
from bot.flows.audit import CLI
from storage.db import Database
from storage.models import AuditEvent, Ballot
from tests.e2e.conftest import Person, buttons
from tests.e2e.test_outbox import wait_until_delivered
from tests.e2e.test_run import free_port
from tests.test_consultation import bind_all, open_round

RESIDENTS = 50
PRESSES = ("同意", "不同意", "同意", "不同意")  # each resident changes their mind thrice
INTERNAL_ERROR = "出了点问题"


async def import_community(db, folder, name: str, households: int) -> None:
    (folder / "c.csv").write_text(f"小区,交付年份\n{name},1995\n", encoding="utf-8")
    rows = ["小区,楼栋,单元,室"] + [
        f"{name},{n // 10 + 1},1,{n % 10 + 101}" for n in range(households)
    ]
    (folder / "h.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    async with db.session() as session:
        await importing.import_communities(session, folder / "c.csv", CLI)
        await importing.import_households(session, folder / "h.csv", CLI)


async def press(resident: Person, ballot: dict, label: str) -> dict:
    """Press and wait for the answer, however long a storm on a busy machine takes."""
    after = await resident.client.last_seq()
    await resident.client.press(resident.user, ballot["message_id"], buttons(ballot)[label])
    return await resident.client.wait_for(
        resident.id, after=after, kind="callback_answer", timeout=600
    )


@pytest.fixture(params=["polling", "webhook"])
async def storm_bot(request, bot_settings, db, telegram):
    """The real bot, taking its updates as ``request.param`` says."""
    database = Database(bot_settings.database.url)
    application = build_application(bot_settings, database)
    async with application:
        await application.post_init(application)
        await application.start()
        if request.param == "polling":
            await application.updater.start_polling(
                poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES
            )
        else:
            port = free_port()
            await application.updater.start_webhook(
                listen="127.0.0.1",
                port=port,
                url_path="telegram",
                webhook_url=f"http://127.0.0.1:{port}/telegram",
                secret_token="storm-secret",
                allowed_updates=Update.ALL_TYPES,
            )
        yield application
        await application.updater.stop()
        await application.stop()
        await application.post_stop(application)
    await database.dispose()


async def test_fifty_residents_pressing_at_once_lose_nothing(db, tmp_path, telegram, storm_bot):
    await import_community(db, tmp_path, "暴雨小区", RESIDENTS)
    ids = await bind_all(db, "暴雨小区")
    residents = [Person(telegram, telegram_id, key) for key, telegram_id in ids.items()]
    await telegram.add_users([r.user for r in residents])
    await open_round(db, "暴雨小区")
    await wait_until_delivered(db, timeout=300)
    ballots = {}
    for resident in residents:
        history = await telegram.history(resident.id)
        ballots[resident.id] = next(m for m in history if m["from_bot"] and buttons(m))

    for label in PRESSES:
        answers = await asyncio.gather(*(press(r, ballots[r.id], label) for r in residents))
        assert all(answer["text"] for answer in answers)  # "recorded", never silence

    async with db.session() as session:
        stored = (await session.exec(select(Ballot))).all()
        changes = (
            await session.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "ballot/cast")
            )
        ).one()
    assert len(stored) == RESIDENTS
    assert {ballot.choice for ballot in stored} == {"disagree"}
    assert changes == RESIDENTS * len(PRESSES)
    for resident in residents:
        texts = [m.get("text", "") for m in await telegram.history(resident.id) if m["from_bot"]]
        assert not any(INTERNAL_ERROR in text for text in texts)
