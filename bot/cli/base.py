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

from bot.i18n import Told

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.flows.refusal import Refusal
    from storage.db import Database

app = typer.Typer(
    help="linli (邻里): a Telegram bot for residents of old communities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: importing rich would take longer than the rest
)

T = TypeVar("T")


class CommandError(Told):
    """A mistake on the command line, in the operator's words (an English template and its
    values, told in the shell's language)."""


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


def with_database(
    settings: Settings, work: Callable[[Database], Awaitable[T]], *, create: bool = False
) -> T:
    """Run ``work`` against the database, brought to the newest schema first (and made,
    if ``create``: only the commands that fill or serve one make it)."""
    import asyncio

    from storage.db import Database

    prepare_database(settings, create=create)

    async def run() -> T:
        db = Database(settings.database.url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def prepare_database(settings: Settings, *, create: bool) -> None:
    """Bring the configured database to the newest schema, or say in one line why not:
    it cannot be reached or opened, or (unless ``create``) it has not been made yet, which
    in the wrong folder would otherwise leave an empty ``linli.db`` behind."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import DBAPIError

    from bot.i18n import text
    from storage import migrate
    from storage.db import sqlite_file

    url, language = settings.database.url, settings.default_language
    file = sqlite_file(url)
    place = str(file) if file else make_url(url).render_as_string(hide_password=True)
    missing = CommandError(text(language, "shell.no_database", place=place))
    if file and not create and not file.exists():
        raise missing
    failures: tuple[type[Exception], ...] = (OSError, DBAPIError)
    try:
        if file:
            # sqlite3 only here: a bot on PostgreSQL would keep it (1 MiB) for nothing.
            import sqlite3

            failures += (sqlite3.Error,)
            # Tried without the async driver first: aiosqlite's thread reports a failed
            # open to an event loop already closed, with a traceback of its own.
            mode = "rwc" if create else "rw"
            sqlite3.connect(f"{file.as_uri()}?mode={mode}", uri=True).close()
        revision = migrate.current_revision(url)
    except failures as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise CommandError(
            text(language, "shell.database_unreachable", place=place, reason=reason)
        ) from None
    if revision is None and not create:
        raise missing
    if revision != migrate.newest_revision():
        migrate.upgrade(url)


def local_time(settings: Settings, typed: str) -> datetime:
    """A local time typed on the command line, as an aware datetime."""
    try:
        naive = datetime.strptime(typed, "%Y-%m-%d %H:%M")
    except ValueError:
        raise CommandError(
            'time {typed!r}: write it like "2026-12-20 18:00"', typed=typed
        ) from None
    return naive.replace(tzinfo=settings.zone)


def refusal(error: Refusal) -> CommandError:
    """A flow's refusal, told in the operator's words and language."""
    return CommandError("{refusal}", refusal=error)


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
            "cannot reach the Bot API at {url} ({reason}): check the network and setting"
            " telegram.api_base_url; to try linli without Telegram, run 'linli demo'",
            url=telegram.api_base_url,
            reason=reason,
        ) from None


def _without_token(error: Exception, settings: Settings) -> str:
    from bot.config import require_token

    return str(error).replace(require_token(settings), "<token>")
