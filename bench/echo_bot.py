"""The baseline bot: python-telegram-bot with nothing behind it.

It echoes every text and, for every button press, answers the query and
sends the data back, so it does what linli does per update (one or two Bot
API calls) without a database or a catalogue.

Usage: python -m bench.echo_bot BASE_URL TOKEN [--webhook-port PORT]
"""

from __future__ import annotations

import argparse

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await context.bot.send_message(update.effective_chat.id, update.effective_message.text)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    await context.bot.send_message(update.effective_chat.id, query.data)


def build(base_url: str, token: str) -> Application:
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{base_url}/bot")
        .base_file_url(f"{base_url}/file/bot")
        .concurrent_updates(True)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(pressed))
    return application


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("--webhook-port", type=int)
    options = parser.parse_args()
    application = build(options.base_url, options.token)
    if options.webhook_port is None:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    else:
        application.run_webhook(
            listen="127.0.0.1",
            port=options.webhook_port,
            url_path="telegram",
            webhook_url=f"http://127.0.0.1:{options.webhook_port}/telegram",
            allowed_updates=Update.ALL_TYPES,
        )


if __name__ == "__main__":
    main()
