"""One PTB handler per kind of button: it takes the presses whose data unpacks as its kind.

The callback gets the unpacked, typed button, so no handler splits strings; a
press that is no kind at all (stale, forged, from an older version) falls
through to ``fallback``'s answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.flows.callback_data import CallbackData
from bot.handlers.context import LinliContext

B = TypeVar("B", bound=CallbackData)
Press = Callable[[Update, LinliContext, B], Awaitable[None]]


class ButtonHandler(CallbackQueryHandler[LinliContext, None], Generic[B]):
    def __init__(self, kind: type[B], callback: Press[B]) -> None:
        super().__init__(self._pressed)
        self.kind, self.press = kind, callback

    def check_update(self, update: object) -> B | None:
        if not isinstance(update, Update) or update.callback_query is None:
            return None
        return self.kind.unpack(update.callback_query.data)

    def collect_additional_context(
        self, context: LinliContext, update: Update, application: Application, check_result: Any
    ) -> None:
        context.button = check_result
        assert update.callback_query is not None  # checked by check_update
        context.query = update.callback_query

    async def _pressed(self, update: Update, context: LinliContext) -> None:
        button = context.button
        assert isinstance(button, self.kind)  # set by collect_additional_context
        await self.press(update, context, button)
