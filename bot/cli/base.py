"""What every ``linli`` command shares: the root command, settings, the database.

The command modules import only typer and this at the top: settings (pydantic),
the database (SQLAlchemy), python-telegram-bot and the flows are imported by
the commands that use them, so ``linli --help`` starts in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from bot.config import Settings
    from storage.db import Database

app = typer.Typer(
    help="linli (邻里): a Telegram bot for residents of old communities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: importing rich would take longer than the rest
)

T = TypeVar("T")


class CommandError(Exception):
    """A mistake on the command line, in the operator's words."""


def expected(error: Exception) -> bool:
    """Whether ``error`` is a mistake the user can fix (told in one line, not a traceback)."""
    from bot.config import SettingsError
    from bot.flows.registry import RegistryError
    from bot.flows.tables import TableError

    return isinstance(error, SettingsError | RegistryError | TableError | CommandError)


@app.callback()
def main_options(
    context: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (default ./config.toml)")
    ] = None,
) -> None:
    context.obj = config


def settings_of(context: typer.Context) -> Settings:
    from bot.config import load_settings

    return load_settings(context.find_root().obj)


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against the database, brought to the newest schema first."""
    import asyncio

    from storage import migrate
    from storage.db import Database

    migrate.upgrade_if_behind(settings.database.url)

    async def run() -> T:
        db = Database(settings.database.url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def local_time(settings: Settings, typed: str) -> datetime:
    """A local time typed on the command line, as an aware datetime."""
    try:
        naive = datetime.strptime(typed, "%Y-%m-%d %H:%M")
    except ValueError:
        raise CommandError(f'time {typed!r}: write it like "2026-12-20 18:00"') from None
    return naive.replace(tzinfo=settings.zone)


def refusal(error: Exception) -> CommandError:
    """A flow's refusal (``reason`` key and ``values``) in the operator's words."""
    from bot.i18n import text

    return CommandError(text("en", error.reason, **error.values))


async def reach_bot_api(settings: Settings) -> str:
    """Ask the Bot API who the bot is (its username), so that a wrong token or address
    ends in one line (once running, python-telegram-bot retries network errors itself)."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError

    from bot.config import SettingsError, require_token

    telegram = settings.telegram
    bot = Bot(require_token(settings), base_url=telegram.api_base_url)
    try:
        async with bot:  # initialising asks getMe
            return bot.username
    except InvalidToken:
        raise SettingsError(
            "setting telegram.token was refused by the Bot API: copy the token @BotFather "
            "gave you; to try linli without Telegram, run 'linli demo'"
        ) from None
    except NetworkError as error:
        reason = _without_token(error, settings)
        raise CommandError(
            f"cannot reach the Bot API at {telegram.api_base_url} ({reason}):"
            " check the network and setting telegram.api_base_url; to try linli without"
            " Telegram, run 'linli demo'"
        ) from None


def _without_token(error: Exception, settings: Settings) -> str:
    from bot.config import require_token

    return str(error).replace(require_token(settings), "<token>")
