"""An update is one unit of work: what fails is tried again, what fails every time is skipped.

A feature that fails before it replied leaves nothing behind, not even the
update's claim, so the update is handled again; one that fails on every try
is recorded as skipped and the resident is told once; an update the library
cannot read is skipped and the updates after it flow on. The failing features
here are added to the real bot for the test: nothing of linli fails on purpose.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text as sql
from sqlmodel import func, select
from telegram.ext import CommandHandler

from bot.app import build_application
from bot.flows import people
from bot.flows.refusal import Refusal
from bot.i18n import text
from storage.db import Database, is_sqlite
from storage.models import ProcessedUpdate, SkippedUpdate, User
from tests.e2e.conftest import Person
from tests.e2e.test_repair import press
from tests.e2e.test_run import free_port
from tests.registry import import_sample_registry, issue_codes

RESIDENT = 7301
INTERNAL_ERROR = "出了点问题"  # error.internal in zh_Hans


def add_feature(application, command: str, callback) -> None:
    """Put a feature first in the features' group, ahead of the unknown-command answer."""
    application.handlers[0].insert(0, CommandHandler(command, callback))


async def language_of(db, telegram_id: int) -> str | None:
    async with db.session() as session:
        return (await session.get(User, telegram_id)).language


async def test_a_feature_that_fails_once_is_tried_again_and_done_once(
    running_bot, person, telegram, db
):
    tries = []

    async def flaky(update, context):
        async with context.session() as session:
            await people.choose_language(session, update.effective_user.id, "en")
            tries.append(update.update_id)
            if len(tries) == 1:
                raise ConnectionError("the database went away")
        await context.bot.send_message(update.effective_chat.id, f"done after {len(tries)}")

    add_feature(running_bot, "flaky", flaky)
    resident = person(RESIDENT, "李明")
    assert await resident.say("/flaky") == "done after 2"
    assert len(set(tries)) == 1  # the same update, handled twice: the first claim rolled back
    assert await language_of(db, RESIDENT) == "en"
    assert await resident.say("/help")  # the chat goes on
    texts = [m.get("text", "") for m in await telegram.history(RESIDENT) if m["from_bot"]]
    assert texts.count("done after 2") == 1 and not any(INTERNAL_ERROR in t for t in texts)


async def test_a_feature_that_always_fails_is_skipped_once_and_nothing_is_kept(
    running_bot, person, telegram, db, caplog
):
    async def broken(update, context):
        async with context.session() as session:
            await people.choose_language(session, update.effective_user.id, "en")
            raise ValueError("a bug")

    add_feature(running_bot, "broken", broken)
    resident = person(RESIDENT, "李明")
    await resident.say("/lang")  # the resident exists, in Chinese
    with caplog.at_level(logging.WARNING):
        after = await telegram.last_seq()
        sent = await telegram.send(resident.user, "/broken")
        answer = await telegram.wait_for(RESIDENT, after=after)
    assert INTERNAL_ERROR in answer["message"]["text"]
    async with db.session() as session:
        skipped = await session.get(SkippedUpdate, sent["update_id"])
        claimed = await session.get(ProcessedUpdate, sent["update_id"])
    assert skipped is not None and skipped.tries == 3 and skipped.reason == "failed: ValueError"
    assert skipped.payload["message"]["text"] == "/broken"
    assert claimed is not None  # a redelivery of it is dropped
    assert await language_of(db, RESIDENT) is None  # the failed writes were not kept
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR and "failed" in r.msg]
    assert len(failures) == 1  # logged once, with its traceback; the tries before are one line
    await telegram.redeliver(sent["update_id"])
    assert "/lang" in await resident.say("/help")  # answered; the redelivery changed nothing
    texts = [m.get("text", "") for m in await telegram.history(RESIDENT) if m["from_bot"]]
    assert sum(INTERNAL_ERROR in t for t in texts) == 1


@pytest.mark.parametrize(
    "unreadable",
    [
        {"poll_answer": {"poll_id": "1"}},  # no user, no option_ids
        {"message": {"message_id": "one", "chat": {"id": "x"}}},  # no date, no chat type
    ],
    ids=["poll_answer", "message"],
)
async def test_an_update_the_library_cannot_read_is_skipped_and_the_others_flow(
    running_bot, person, telegram, db, caplog, unreadable
):
    resident = person(RESIDENT, "李明")
    with caplog.at_level(logging.WARNING):
        injected = await telegram.inject(unreadable)
        assert "/lang" in await resident.say("/help")
        assert "/lang" in await resident.say("/help")
    async with db.session() as session:
        skipped = await session.get(SkippedUpdate, injected["update_id"])
        processed = (await session.exec(select(func.count()).select_from(ProcessedUpdate))).one()
    assert skipped is not None and skipped.reason.startswith("unreadable: ")
    assert skipped.payload == {"update_id": injected["update_id"], **unreadable}
    assert processed == 3
    warnings = [r for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(warnings) == 1


async def test_replies_refused_by_flood_control_are_sent_once_each_in_order(db, person, telegram):
    """A resident writing faster than Telegram lets a bot write to one chat (once a
    second): each reply waits out its 429 and arrives once, in order, none as an error."""
    await import_sample_registry(db)
    codes = await issue_codes(db, "南溪小区")
    resident = person(RESIDENT, "李明")
    await resident.say(f"/start {codes['1-1-101']}")
    await telegram.set_limits(True, per_chat_per_second=1)
    # Each step waits for its prompt, so they follow each other at machine speed.
    assert "是什么问题" in await resident.say("/repair")
    (where,) = await press(resident, "屋面漏水")
    assert "公共部位" in where
    resident.seen = await telegram.last_seq()
    for command in ("/me", "/help", "/me"):  # three at once
        await telegram.send(resident.user, command)
    me, help_, me_again = [e["message"]["text"] for e in await resident._replies(3)]
    assert "1幢" in me and "/repair" in help_ and me_again == me
    texts = [m.get("text", "") for m in await telegram.history(RESIDENT) if m["from_bot"]]
    assert not any(INTERNAL_ERROR in t for t in texts)
    assert (await telegram.stats())["too_many_requests"] > 0  # refused, yet nothing lost


async def test_by_webhook_an_unreadable_update_is_acknowledged_and_the_others_flow(
    db, bot_settings, telegram
):
    """Telegram delivers webhook updates in order and repeats one refused: refusing the
    unreadable one would stall every update behind it."""
    port = free_port()
    application = build_application(bot_settings, Database(bot_settings.database.url))
    async with application:
        await application.start()
        await application.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="telegram",
            webhook_url=f"http://127.0.0.1:{port}/telegram",
            secret_token="webhook-secret",
        )
        try:
            injected = await telegram.inject({"poll_answer": {"poll_id": "1"}})
            resident = Person(telegram, RESIDENT, "李明")
            assert "/lang" in await resident.say("/help")
            assert (await telegram.stats())["pending_updates"] == 0
        finally:
            await application.updater.stop()
            await application.stop()
    async with db.session() as session:
        skipped = await session.get(SkippedUpdate, injected["update_id"])
    assert skipped is not None and skipped.reason.startswith("unreadable: ")


async def test_a_refusal_undoes_its_step_keeps_the_claim_and_is_answered_in_words(
    running_bot, person, telegram, db
):
    async def refused(update, context):
        async with context.session() as session:
            await people.choose_language(session, update.effective_user.id, "en")
            raise Refusal("vote.closed")

    add_feature(running_bot, "refused", refused)
    resident = person(RESIDENT, "李明")
    await resident.say("/lang")
    after = await telegram.last_seq()
    sent = await telegram.send(resident.user, "/refused")
    answer = await telegram.wait_for(RESIDENT, after=after)
    assert answer["message"]["text"] == text("zh_Hans", "vote.closed")
    assert await language_of(db, RESIDENT) is None  # the step's write was undone
    async with db.session() as session:
        assert await session.get(ProcessedUpdate, sent["update_id"]) is not None
        assert await session.get(SkippedUpdate, sent["update_id"]) is None


async def test_connections_the_database_dropped_lose_no_update(running_bot, person, db):
    """As after a restart of PostgreSQL: every connection the bot holds is cut, and the
    next message is answered all the same (its first try fails and is tried again)."""
    if is_sqlite(db.url):
        pytest.skip("a server's connections")
    resident = person(RESIDENT, "李明")
    asked = await resident.say("/language")  # the pool holds connections now
    async with db.session() as session:
        cut = await session.exec(
            sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        assert cut.one()[0] > 0
    await db.dispose()  # the test's own connections were cut too
    assert await resident.say("/language") == asked
