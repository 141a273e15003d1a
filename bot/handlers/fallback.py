"""Answers for whatever no feature took: unknown commands, stray text, media, stale buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.flows import invites
from bot.handlers.common import refuse_button, reply
from bot.handlers.context import LinliContext
from bot.handlers.start import try_code


async def unknown_command(update: Update, context: LinliContext) -> None:
    command = update.effective_message.text.split()[0][:64]
    await reply(update, context, "fallback.unknown_command", command=command)


async def stray_text(update: Update, context: LinliContext) -> None:
    """Text outside any dialogue: an invite code from an unbound user, else a pointer to /help."""
    principal = context.principal
    if principal.household_id is not None or principal.staff is not None:
        await reply(update, context, "fallback.text")
    elif invites.normalise(update.effective_message.text) is not None:
        await try_code(update, context, update.effective_message.text)
    else:
        await reply(update, context, "fallback.unbound")


async def media(update: Update, context: LinliContext) -> None:
    await reply(update, context, "fallback.media")


async def stale_button(update: Update, context: LinliContext) -> None:
    await refuse_button(update.callback_query, context)


def handlers() -> list[BaseHandler]:
    """Registered after every feature, so they only see what nobody else wanted."""
    return [
        MessageHandler(filters.COMMAND, unknown_command),
        MessageHandler(~filters.TEXT, media),
        CallbackQueryHandler(stale_button),
    ]
