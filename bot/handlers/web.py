"""/web: staff get a one-time link that logs their browser in to the officials' pages."""

from __future__ import annotations

from telegram import LinkPreviewOptions, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import web_login
from bot.handlers.context import LinliContext
from bot.handlers.staff import staff_of


async def login_link(update: Update, context: LinliContext) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    minutes = context.settings.web.login_link_minutes
    async with context.session() as session:
        token = await web_login.issue_link(session, member, minutes)
    url = f"{context.settings.web.public_url}/officials/login/{token}"
    # To the member's own chat, also when asked in a group: the link is theirs alone.
    await context.bot.send_message(
        member.telegram_id,
        context.t("web.link", url=url, minutes=minutes),
        # A preview would have Telegram's servers fetch the link before its owner does.
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


def handlers() -> list[BaseHandler]:
    return [CommandHandler("web", login_link)]
