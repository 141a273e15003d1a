"""``linli run`` and ``linli db``: start the bot, migrate the database."""

from __future__ import annotations

import asyncio
import logging

import typer
from telegram.error import InvalidToken, NetworkError

from bot.cli.base import CommandError, app, settings_of
from bot.config import Settings, SettingsError, require_token
from storage import migrate

db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def run(context: typer.Context) -> None:
    """Start the bot (polling or webhook, as configured); Ctrl-C stops it."""
    from telegram import Update

    from bot.app import build_application

    settings = settings_of(context)
    require_token(settings)
    telegram = settings.telegram
    if telegram.mode == "webhook" and not telegram.webhook_url:
        raise SettingsError("setting telegram.webhook_url is required when mode is webhook")
    if telegram.mode == "webhook" and telegram.webhook_secret is None:
        raise SettingsError("setting telegram.webhook_secret is required when mode is webhook")
    migrate.upgrade(settings.database.url)
    asyncio.run(_reach_bot_api(settings))
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


async def _reach_bot_api(settings: Settings) -> None:
    """Ask the Bot API who the bot is before starting, so that a wrong token or address
    ends in one line (once running, python-telegram-bot retries network errors itself)."""
    from telegram import Bot

    telegram = settings.telegram
    bot = Bot(require_token(settings), base_url=telegram.api_base_url)
    try:
        async with bot:
            pass  # initialising asks getMe
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
    return str(error).replace(require_token(settings), "<token>")


@db_app.command("upgrade")
def db_upgrade(context: typer.Context) -> None:
    """Create the database or bring it to the newest schema."""
    settings = settings_of(context)
    migrate.upgrade(settings.database.url)
    typer.echo("database is up to date")
