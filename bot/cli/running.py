"""``linli run`` and ``linli db``: start the bot, migrate the database."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from bot.cli.base import app, prepare_database, reach_bot_api, settings_of, with_database

db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def run(context: typer.Context) -> None:
    """Start the bot (polling or webhook, as configured); Ctrl-C stops it."""
    import asyncio

    from telegram import Update

    from bot.app import build_application
    from bot.config import SettingsError, require_token

    settings = settings_of(context)
    require_token(settings)
    telegram = settings.telegram
    if telegram.mode == "webhook" and not telegram.webhook_url:
        raise SettingsError("setting telegram.webhook_url is required when mode is webhook")
    if telegram.mode == "webhook" and telegram.webhook_secret is None:
        raise SettingsError("setting telegram.webhook_secret is required when mode is webhook")
    prepare_database(settings, create=True)
    asyncio.run(reach_bot_api(settings))
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
    )
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    application = build_application(settings)
    if telegram.mode == "polling":
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    else:
        application.run_webhook(
            listen=telegram.webhook_listen,
            port=telegram.webhook_port,
            url_path="telegram",
            webhook_url=telegram.webhook_url,
            secret_token=telegram.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )


@db_app.command("upgrade")
def db_upgrade(context: typer.Context) -> None:
    """Create the database or bring it to the newest schema."""
    prepare_database(settings_of(context), create=True)
    typer.echo("database is up to date")


@db_app.command("skipped")
def db_skipped(
    context: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first")] = 20,
) -> None:
    """The updates given up on (unreadable, or failing every try), and why."""
    from bot.flows import people

    settings = settings_of(context)

    async def read(db):
        async with db.session() as session:
            return await people.skipped_updates(session, limit)

    skipped = with_database(settings, read)
    if not skipped:
        typer.echo("no update was skipped")
    for row in skipped:
        when = row.skipped_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{row.update_id}\t{when}\t{row.tries} tries\t{row.reason}")
