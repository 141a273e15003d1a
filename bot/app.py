"""Builds the python-telegram-bot Application: handlers, context, error handler."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot import timetable
from bot.config import Settings, require_token
from bot.delivery import OutboxSender
from bot.flows import faq
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
)
from bot.handlers.context import LinliContext
from bot.handlers.dialogue_router import media_router, text_router
from bot.updates import PerChatUpdateProcessor
from storage.db import Database
from storage.leader import Leadership

log = logging.getLogger(__name__)


async def on_error(update: object, context: LinliContext) -> None:
    """Log the failure and tell the user something went wrong; never the details."""
    log.error("update %s failed", getattr(update, "update_id", "?"), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, context.t("error.internal"))


async def _post_init(application: Application) -> None:
    """Once the bot is up: its command menu, the starter FAQ, the outbox sender, the schedule
    (the last two in the leading process only, when there are several)."""
    await help.register_commands(application)
    settings: Settings = application.bot_data["settings"]
    async with application.bot_data["db"].session() as session:
        await faq.ensure_starter(session)
        await faq.INDEX.refresh(session)  # loads the word list now, not at the first question
    leadership = application.bot_data["leadership"] = Leadership(application.bot_data["db"])
    sender = OutboxSender(
        application,
        application.bot_data["db"],
        rate=settings.delivery.messages_per_second,
        per_chat_interval=settings.delivery.per_chat_interval_seconds,
        stale_claim=settings.delivery.stale_claim_seconds,
        default_language=settings.default_language,
        may_send=leadership.held,
    )
    application.bot_data["sender"] = sender
    sender.start()
    timetable.start(application)


async def _post_stop(application: Application) -> None:
    await application.bot_data["sender"].stop()
    await timetable.stop(application)


async def _post_shutdown(application: Application) -> None:
    await application.bot_data["db"].dispose()


def build_application(settings: Settings, db: Database | None = None) -> Application:
    """The bot, wired to its database; ``db`` is created from the settings if not given."""
    telegram = settings.telegram
    application = (
        ApplicationBuilder()
        .token(require_token(settings))
        .base_url(telegram.api_base_url)
        .base_file_url(telegram.file_base_url)
        .context_types(ContextTypes(context=LinliContext))
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
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
