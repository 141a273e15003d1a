"""Small helpers that handlers share: replying in the user's words, addresses, local times."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.flows import registry
from bot.flows.refusal import Refusal
from bot.flows.registry import Address
from bot.handlers.context import LinliContext


async def reply(
    update: Update,
    context: LinliContext,
    key: str,
    /,
    markup: InlineKeyboardMarkup | None = None,
    **values: object,
) -> None:
    """Answer the update's chat with the message ``key`` in the user's language."""
    await send(update, context, context.t(key, **values), markup)


async def send(
    update: Update, context: LinliContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Answer the update's chat with ``text``."""
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


def address_text(context: LinliContext, address: Address) -> str:
    return registry.address_text(context.language, address)


def local_time(context: LinliContext, moment: datetime) -> str:
    """A UTC moment as the user's clock shows it (Asia/Shanghai by default)."""
    return moment.astimezone(context.settings.zone).strftime("%Y-%m-%d %H:%M")


def local_month(context: LinliContext, moment: datetime | None = None) -> str:
    """The month of a UTC moment (by default now) on the city's clock: ``2026-12``."""
    return (moment or datetime.now(UTC)).astimezone(context.settings.zone).strftime("%Y-%m")


def local_day(context: LinliContext) -> str:
    """Today on the city's clock: ``2026-12-03``."""
    return datetime.now(context.settings.zone).strftime("%Y-%m-%d")


def document_name(context: LinliContext, key: str, /, suffix: str = ".xlsx", **values) -> str:
    """A sent file's name that says what it holds, in the user's words:
    ``南溪小区-方案征询-2026-12.xlsx``. Slashes would make it a path, so they go."""
    return context.t(key, **values).replace("/", "-") + suffix


def refusal_words(context: LinliContext, refusal: Refusal) -> str:
    """What a flow's refusal says, in the user's language."""
    return refusal.told(context.language)


async def refuse(update: Update, context: LinliContext, refusal: Refusal) -> None:
    """A flow said no: tell the user why, as an alert on a pressed button or as a message."""
    words = refusal_words(context, refusal)
    if update.callback_query is not None:
        await update.callback_query.answer(words, show_alert=True)
    elif update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, words)


async def refuse_button(query: CallbackQuery, context: LinliContext) -> None:
    """A stale or forged button: say so, change nothing."""
    await query.answer(context.t("button.stale"), show_alert=True)


async def accept_button(query: CallbackQuery) -> None:
    """Acknowledge a press and take the buttons away so they cannot be pressed twice."""
    await query.answer()
    if query.message is not None and query.message.reply_markup is not None:
        await query.edit_message_reply_markup(None)


async def show_in_place(
    context: LinliContext, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the message whose button was pressed to ``text``; send it anew when there is
    no such message to edit (Telegram no longer gives it)."""
    query = context.query
    if query.message is None:
        await context.bot.send_message(query.from_user.id, text, reply_markup=markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as error:  # a repeated press: the message is already like this
        if "not modified" not in error.message:
            raise


MESSAGE_LIMIT = 4000  # Telegram allows 4096 characters; keep a margin


async def send_lines(
    update: Update,
    context: LinliContext,
    lines: list[str],
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Send lines as few messages as Telegram's length limit allows; the last carries
    ``markup``."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > MESSAGE_LIMIT:
            await context.bot.send_message(update.effective_chat.id, "\n".join(chunk))
            chunk, size = [], 0
        chunk.append(line[:MESSAGE_LIMIT])
        size += len(line) + 1
    if chunk:
        await context.bot.send_message(
            update.effective_chat.id, "\n".join(chunk), reply_markup=markup
        )
