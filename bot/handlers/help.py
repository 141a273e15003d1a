"""/help and the command menu Telegram shows, per language and role."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.ext import Application, BaseHandler, CommandHandler

from bot.flows.binding import household_of
from bot.flows.registry import staff_languages, staff_member
from bot.handlers.common import reply
from bot.handlers.context import LinliContext
from bot.i18n import text

RESIDENT_COMMANDS = (
    "start",
    "vote",
    "repair",
    "myrequests",
    "ask",
    "inspect",
    "progress",
    "settings",
    "me",
    "unbind",
    "lang",
    "cancel",
    "help",
)
STAFF_COMMANDS = (
    "staff",
    "queue",
    "inbox",
    "supervisors",
    "notice",
    "project",
    "results",
    "ranking",
    "fundreport",
    "me",
    "lang",
    "cancel",
    "help",
)
TELEGRAM_LANGUAGE_CODES = {"zh_Hans": "zh", "en": "en"}


def _commands(language: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(name, text(language, f"command.{name}")) for name in names]


def _listing(context: LinliContext, names: tuple[str, ...]) -> str:
    return "\n".join(f"/{name} — {context.t(f'command.{name}')}" for name in names)


async def help_command(update: Update, context: LinliContext) -> None:
    user_id = update.effective_user.id
    async with context.db.session() as session:
        staff = await staff_member(session, user_id)
        bound = await household_of(session, user_id) is not None
    if staff is not None:
        key, names = "help.staff", STAFF_COMMANDS
        await set_chat_menu(context.bot, user_id, context.language, staff=True)
    elif bound:
        key, names = "help.resident", RESIDENT_COMMANDS
    else:
        key, names = "help.unbound", RESIDENT_COMMANDS
    await reply(update, context, key, commands=_listing(context, names))


async def set_chat_menu(bot: Bot, telegram_id: int, language: str, *, staff: bool) -> None:
    """One person's own menu: the staff commands, or the residents' in a language they chose."""
    names = STAFF_COMMANDS if staff else RESIDENT_COMMANDS
    await bot.set_my_commands(_commands(language, names), scope=BotCommandScopeChat(telegram_id))


async def register_commands(application: Application) -> None:
    """Tell Telegram the command menus: the residents' by default and per client
    language, and each staff member's own."""
    bot = application.bot
    default = application.bot_data["settings"].default_language
    await bot.set_my_commands(_commands(default, RESIDENT_COMMANDS))
    for language, code in TELEGRAM_LANGUAGE_CODES.items():
        await bot.set_my_commands(_commands(language, RESIDENT_COMMANDS), language_code=code)
    async with application.bot_data["db"].session() as session:
        staff = await staff_languages(session)
    for telegram_id, language in staff:
        await set_chat_menu(bot, telegram_id, language or default, staff=True)


def handlers() -> list[BaseHandler]:
    return [CommandHandler("help", help_command)]
