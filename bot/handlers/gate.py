"""What every update passes first: redelivery, who it comes from, their language, chat kind.

Runs in the earliest handler group, inside the update's unit of work: the
claim and the user's row commit with the feature's writes, or not at all. An
update stopped here reaches no feature.
"""

from __future__ import annotations

from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Chat, Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.flows import dialogues, people
from bot.flows.audit import Actor
from bot.handlers.context import LinliContext
from bot.i18n import language_of

GROUP = -1


async def admit(update: Update, context: LinliContext) -> None:
    user, chat = update.effective_user, update.effective_chat
    context.work.context = context
    session = await context.work.session()
    if not await people.claim_update(session, update.update_id):
        raise ApplicationHandlerStop  # handled before: Telegram delivered it again
    context.work.claim = partial(_claim_again, update)
    unreadable = context.bot.unreadable(update.update_id)
    if unreadable is not None:
        reason, payload = unreadable
        await people.skip_update(session, update.update_id, reason, payload)
        raise ApplicationHandlerStop
    if user is not None:
        context.principal = await people.meet(
            session, user.id, user.first_name or "", user.language_code
        )
        context.language = language_of(
            user.language_code, context.principal.language, context.settings.default_language
        )
        context.actor = Actor(user.id, "bot", update.update_id)
        if update.message is not None and context.principal.in_dialogue:
            context.dialogue = await dialogues.current(session, user.id)
    if chat is not None and chat.type != Chat.PRIVATE:
        if await people.first_time_in_group(session, chat.id):
            await context.bot.send_message(chat.id, context.t("chat.private_only"))
        raise ApplicationHandlerStop
    if user is None or chat is None:
        raise ApplicationHandlerStop  # channel posts, polls and the like: not for this bot
    if update.edited_message is not None:
        await context.bot.send_message(chat.id, context.t("chat.edit_ignored"))
        raise ApplicationHandlerStop
    if _unstorable(update):
        await context.bot.send_message(chat.id, context.t("chat.unreadable"))
        raise ApplicationHandlerStop


async def _claim_again(update: Update, session: AsyncSession) -> None:
    """The update's claim and its user's row, stored again after a refusal rolled back
    the transaction that held them."""
    await people.claim_update(session, update.update_id)
    user = update.effective_user
    if user is not None:
        await people.meet(session, user.id, user.first_name or "", user.language_code)


def _unstorable(update: Update) -> bool:
    """Text with a NUL character, which PostgreSQL cannot store or compare."""
    message = update.message
    return message is not None and "\x00" in (message.text or message.caption or "")


def handlers() -> list[BaseHandler]:
    return [TypeHandler(Update, admit)]
