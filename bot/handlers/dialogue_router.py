"""Messages outside commands go to the dialogue the user is in; each feature names its steps.

Two routers share the idea: one for plain text, one for media (photos,
documents, location pins). A feature registers, per dialogue kind, the step
that takes the message; without an open dialogue of such a kind, ``otherwise``
answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.handlers.context import LinliContext
from storage.models import Dialogue

Step = Callable[[Update, LinliContext, Dialogue], Awaitable[None]]
Otherwise = Callable[[Update, LinliContext], Awaitable[None]]
MEDIA = filters.PHOTO | filters.Document.ALL | filters.LOCATION


def dialogue_router(
    message_filter: filters.BaseFilter, steps: dict[str, Step], otherwise: Otherwise
) -> BaseHandler:
    """One handler for every message that ``message_filter`` lets through."""

    async def route(update: Update, context: LinliContext) -> None:
        dialogue = context.dialogue  # read by the gate
        step = steps.get(dialogue.kind) if dialogue is not None else None
        if step is None:
            await otherwise(update, context)
        else:
            await step(update, context, dialogue)

    return MessageHandler(message_filter, route)


def text_router(steps: dict[str, Step], otherwise: Otherwise) -> BaseHandler:
    return dialogue_router(filters.TEXT & ~filters.COMMAND, steps, otherwise)


def media_router(steps: dict[str, Step], otherwise: Otherwise) -> BaseHandler:
    return dialogue_router(MEDIA, steps, otherwise)
