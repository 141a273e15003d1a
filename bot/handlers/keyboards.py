"""Inline keyboards from the buttons flows describe (a label key and callback data)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.flows.outbox import Button
from bot.i18n import text


def inline_keyboard(language: str, rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text(language, b.label_key), callback_data=b.data) for b in row]
            for row in rows
        ]
    )
