"""/help and the command menus Telegram shows: each person sees the commands they may use.

The default menus (one per app language) are a plain resident's, the most common
person. Everyone else (unbound people, supervisors, staff, admins, who chose a
language other than their app's) gets a menu of their own, scoped to their chat,
set whenever their roles change; staff's also at every start, since the command
line changes them.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import BadRequest, Forbidden
from telegram.ext import Application, BaseHandler, CommandHandler

from bot.flows.roles import Roles, roles_of, staff_past_and_present
from bot.handlers.common import reply
from bot.handlers.context import LinliContext
from bot.i18n import language_of, text
from storage.models import Role

log = logging.getLogger(__name__)

START = ("start",)  # binds; for staff it only greets
STAFF = (
    *("staff", "queue", "inbox", "supervisors", "notice", "project", "results", "missing"),
    "web",
)
ADMIN = ("ranking", "fundreport")
RESIDENT = ("vote", "repair", "myrequests", "ask", "progress", "settings", "unbind")
SUPERVISOR = ("inspect",)
EVERYONE = ("me", "lang", "cancel", "help")
PLAIN_RESIDENT = (*START, *RESIDENT, *EVERYONE)
TELEGRAM_LANGUAGE_CODES = {"zh_Hans": "zh", "en": "en"}


def commands_for(roles: Roles) -> tuple[str, ...]:
    """The commands this person may use, their work first."""
    names = {None: START, Role.STAFF: STAFF, Role.ADMIN: STAFF + ADMIN}[roles.staff]
    if roles.bound:
        names += RESIDENT
    if roles.supervisor:
        names += SUPERVISOR
    return names + EVERYONE


def _help_key(roles: Roles) -> str:
    if roles.staff is not None:
        return "help.staff"
    return "help.resident" if roles.bound else "help.unbound"


def _commands(language: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(name, text(language, f"command.{name}")) for name in names]


def _listing(context: LinliContext, names: tuple[str, ...]) -> str:
    return "\n".join(f"/{name} — {context.t(f'command.{name}')}" for name in names)


def _app_menu_language(telegram_language: str | None, default: str) -> str:
    """The language of the default menu Telegram shows to this app."""
    for language, code in TELEGRAM_LANGUAGE_CODES.items():
        if telegram_language and telegram_language.lower().startswith(code):
            return language
    return default


async def _set_menu(bot: Bot, telegram_id: int, roles: Roles, default: str) -> None:
    """Give the chat its own menu, or delete it where the default one is already right."""
    names = commands_for(roles)
    language = language_of(roles.telegram_language, roles.language, default)
    app_language = _app_menu_language(roles.telegram_language, default)
    scope = BotCommandScopeChat(telegram_id)
    try:
        if names != PLAIN_RESIDENT or language != app_language:
            await bot.set_my_commands(_commands(language, names), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except (BadRequest, Forbidden) as error:
        # Someone who never wrote to the bot (staff added by the command line) has no chat yet.
        log.info("no command menu for chat %s: %s", telegram_id, error.message)


async def refresh_commands(application: Application, *telegram_ids: int) -> None:
    """Make these people's menus follow their current roles and language."""
    default = application.bot_data["settings"].default_language
    async with application.bot_data["db"].session() as session:
        people = {telegram_id: await roles_of(session, telegram_id) for telegram_id in telegram_ids}
    for telegram_id, roles in people.items():
        await _set_menu(application.bot, telegram_id, roles, default)


async def help_command(update: Update, context: LinliContext) -> None:
    user_id = update.effective_user.id
    async with context.session() as session:
        roles = await roles_of(session, user_id)
    await _set_menu(context.bot, user_id, roles, context.settings.default_language)
    await reply(update, context, _help_key(roles), commands=_listing(context, commands_for(roles)))


async def register_commands(application: Application) -> None:
    """Tell Telegram the menus: a plain resident's by default and per app language, and
    their own to staff and former staff, whom the command line may have changed while the
    bot was down. Telegram keeps everyone else's from when their roles last changed."""
    bot = application.bot
    default = application.bot_data["settings"].default_language
    await bot.set_my_commands(_commands(default, PLAIN_RESIDENT))
    for language, code in TELEGRAM_LANGUAGE_CODES.items():
        await bot.set_my_commands(_commands(language, PLAIN_RESIDENT), language_code=code)
    async with application.bot_data["db"].session() as session:
        people = await staff_past_and_present(session)
    await refresh_commands(application, *sorted(people))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("help", help_command)]
