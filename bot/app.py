"""Builds the python-telegram-bot Application: handlers, context, error handler."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot import timetable, unit_of_work
from bot.config import Settings, require_token
from bot.delivery import OutboxSender
from bot.flows import faq, outbox, people
from bot.flows.refusal import Refusal
from bot.handlers import (
    account,
    ask,
    consult,
    fallback,
    gate,
    help,
    inspect,
    menu,
    notice,
    offline,
    plan,
    project,
    queue,
    repair,
    start,
    supervisors,
    vote,
    web,
)
from bot.handlers.common import refuse
from bot.handlers.context import LinliContext
from bot.handlers.dialogue_router import media_router, text_router
from bot.requests import LinliBot, ReplyLimiter
from bot.transport import AiohttpRequest
from bot.updates import PerChatUpdateProcessor
from bot.webhook import LinliUpdater
from storage.db import Database
from storage.leader import Leadership

log = logging.getLogger(__name__)


async def on_error(update: object, context: LinliContext) -> None:
    """A refusal no handler answered is answered here, in the user's words. A failed try
    is tried again; after the last one the update is logged once, recorded as skipped
    unless part of it was stored, and the user told something went wrong."""
    work = unit_of_work.current()
    # Answered in the user's language: the update's own context knows it.
    answering = work.context if work is not None and work.context is not None else context
    if isinstance(context.error, Refusal) and isinstance(update, Update):
        await refuse(update, answering, context.error)
        return
    if work is not None:
        work.failure = context.error
        if work.may_try_again:
            return
    log.error("update %s failed", getattr(update, "update_id", "?"), exc_info=context.error)
    if not isinstance(update, Update):
        return
    if work is not None and not work.committed:
        await work.rollback()
        async with work.step() as session:
            await people.claim_update(session, update.update_id)
            reason = f"failed: {type(context.error).__name__}"
            await people.skip_update(
                session, update.update_id, reason, update.to_dict(), work.tries
            )
    if update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, answering.t("error.internal"))


async def _index_faq(db: Database) -> None:
    """Build the FAQ's index now, while nobody asks, not at the first question."""
    try:
        async with db.session() as session:
            await faq.INDEX.refresh(session)
    except Exception:  # the first question builds it then
        log.exception("the FAQ index could not be built at start-up")


async def _post_init(application: Application) -> None:
    """Once the bot is up: its command menu, the starter FAQ and its index (behind the
    first poll), the outbox sender, the schedule (the last two in the leading process
    only, when there are several), and the web side when it is served here."""
    await help.register_commands(application)
    settings: Settings = application.bot_data["settings"]
    async with application.bot_data["db"].session() as session:
        await faq.ensure_starter(session)
    application.bot_data["faq_index"] = asyncio.create_task(
        _index_faq(application.bot_data["db"]), name="faq-index"
    )
    leadership = application.bot_data["leadership"] = Leadership(application.bot_data["db"])
    sender = OutboxSender(
        application,
        application.bot_data["db"],
        rate=settings.delivery.messages_per_second,
        per_chat_interval=settings.delivery.per_chat_interval_seconds,
        stale_claim=settings.delivery.stale_claim_seconds,
        look_every=settings.scheduler.sweep_seconds,
        default_language=settings.default_language,
        may_send=leadership.held,
    )
    application.bot_data["sender"] = sender
    application.bot_data["db"].on_commit(outbox.QUEUED, sender.poke)
    leadership.listen(outbox.CHANNEL, sender.hear)
    sender.start()
    timetable.start(application)
    if settings.web.serve:
        from bot.web.server import WebServer

        application.bot_data["web"] = WebServer(application.bot_data["db"], settings)
        await application.bot_data["web"].start()


async def _post_stop(application: Application) -> None:
    if "web" in application.bot_data:
        await application.bot_data["web"].stop()
    application.bot_data["faq_index"].cancel()
    await application.bot_data["sender"].stop()
    await timetable.stop(application)


async def _post_shutdown(application: Application) -> None:
    await application.bot_data["db"].dispose()


def build_application(settings: Settings, db: Database | None = None) -> Application:
    """The bot, wired to its database; ``db`` is created from the settings if not given."""
    telegram = settings.telegram
    processor = PerChatUpdateProcessor()
    bot = LinliBot(
        require_token(settings),
        base_url=telegram.api_base_url,
        base_file_url=telegram.file_base_url,
        request=AiohttpRequest(connection_pool_size=256),
        get_updates_request=AiohttpRequest(),
        rate_limiter=ReplyLimiter(),
    )
    application = (
        ApplicationBuilder()
        .updater(LinliUpdater(bot, asyncio.Queue()))
        .context_types(ContextTypes(context=LinliContext))
        .concurrent_updates(processor)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    processor.application = application
    application.bot_data["settings"] = settings
    application.bot_data["db"] = db or Database(settings.database.url)

    application.add_handlers(gate.handlers(), group=gate.GROUP)
    application.add_handlers(
        [
            *start.handlers(),
            *account.handlers(),
            *help.handlers(),
            *vote.handlers(),
            *menu.handlers(),
            *plan.handlers(),
            *repair.handlers(),
            *queue.handlers(),
            *ask.handlers(),
            *supervisors.handlers(),
            *inspect.handlers(),
            *consult.handlers(),
            *offline.handlers(),
            *notice.handlers(),
            *project.handlers(),
            *web.handlers(),
            text_router(
                steps={
                    **start.steps(),
                    **consult.steps(),
                    **offline.steps(),
                    **notice.steps(),
                    **plan.steps(),
                    **repair.steps(),
                    **queue.steps(),
                    **ask.steps(),
                    **supervisors.steps(),
                    **inspect.steps(),
                },
                otherwise=ask.free_text,
            ),
            media_router(
                steps={
                    **notice.steps(),
                    **repair.media_steps(),
                    **inspect.media_steps(),
                    **offline.media_steps(),
                },
                otherwise=fallback.media,
            ),
            *fallback.handlers(),
        ]
    )
    application.add_error_handler(on_error)
    return application
