"""What every ``linli`` command shares: the root command, settings, the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from bot.config import Settings, SettingsError, load_settings
from bot.flows.registry import RegistryError
from bot.flows.tables import TableError
from bot.i18n import text
from storage import migrate
from storage.db import Database

app = typer.Typer(
    help="linli (邻里): a Telegram bot for residents of old communities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")


class CommandError(Exception):
    """A mistake on the command line, in the operator's words."""


EXPECTED_ERRORS = (SettingsError, RegistryError, TableError, CommandError)


@app.callback()
def main_options(
    context: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (default ./config.toml)")
    ] = None,
) -> None:
    context.obj = config


def settings_of(context: typer.Context) -> Settings:
    return load_settings(context.find_root().obj)


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against the database, brought to the newest schema first."""
    migrate.upgrade(settings.database.url)

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
    return CommandError(text("en", error.reason, **error.values))
