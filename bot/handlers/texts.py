"""Free text goes to the dialogue the user is in; each feature names its steps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.flows import dialogues
from bot.handlers.context import LinliContext
from storage.models import Dialogue

Step = Callable[[Update, LinliContext, Dialogue], Awaitable[None]]
Otherwise = Callable[[Update, LinliContext], Awaitable[None]]


def text_router(steps: dict[str, Step], otherwise: Otherwise) -> BaseHandler:
    """One handler for all plain text: the open dialogue's step, else ``otherwise``."""

    async def route(update: Update, context: LinliContext) -> None:
        async with context.db.session() as session:
            dialogue = await dialogues.current(session, update.effective_user.id)
        step = steps.get(dialogue.kind) if dialogue is not None else None
        if step is None:
            await otherwise(update, context)
        else:
            await step(update, context, dialogue)

    return MessageHandler(filters.TEXT & ~filters.COMMAND, route)
