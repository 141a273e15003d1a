"""Concurrent update processing: each chat's updates in order, each update a unit of work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from weakref import WeakValueDictionary

from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
TRIES = 3
PAUSE_BETWEEN_TRIES = (0.2, 1.0)  # seconds after the first and the second failure


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Many chats at once, one update at a time within a chat, a failed update tried again.

    A resident's second message must not overtake their first (a dialogue
    step, a double press), but one slow resident must not hold up the others.
    An update whose handling fails before anything of it was committed is
    tried again, up to ``TRIES`` times (a lock that timed out, a connection
    that dropped); after the last failure the error handler records it as
    skipped, and the chat's next update goes on.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: WeakValueDictionary[int, asyncio.Lock] = WeakValueDictionary()
        self.application: Application | None = None  # set once the application is built

    async def do_process_update(self, update: object, coroutine: Awaitable) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await self._tries(update, coroutine)
            return
        lock = self._locks.get(chat.id)
        if lock is None:
            lock = self._locks[chat.id] = asyncio.Lock()
        async with lock:
            await self._tries(update, coroutine)

    async def _tries(self, update: object, coroutine: Awaitable) -> None:
        application = self.application
        if application is None:
            raise RuntimeError("the processor's application was never set")
        db = application.bot_data["db"]
        for attempt in range(1, TRIES + 1):
            async with UnitOfWork(db, attempt=attempt, tries=TRIES).running() as work:
                await (coroutine if attempt == 1 else application.process_update(update))
            if work.failure is None or not work.may_try_again:
                return
            log.warning(
                "update %s failed (%s); try %d of %d next",
                getattr(update, "update_id", "?"),
                type(work.failure).__name__,
                attempt + 1,
                TRIES,
            )
            await asyncio.sleep(PAUSE_BETWEEN_TRIES[attempt - 1])

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
