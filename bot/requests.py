"""How the bot talks to the Bot API: updates screened as they arrive, replies sent with care.

``LinliBot`` reads each update of a getUpdates batch on its own: one the
library cannot parse would otherwise fail the whole batch, again and again,
and no other update would get through. Such an update is handed on bare (its
id alone), so the offset moves past it, and the gate records it as skipped.

``ReplyLimiter`` sends the requests made while handling an update only after
its unit of work has committed, and waits out a 429's ``retry_after`` (within
a bound) instead of losing the reply. A chat's updates are handled one at a
time, so waiting keeps its replies in order. The outbox sender, which makes
requests outside any update, paces itself and is passed through untouched.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter, ExtBot

from bot import unit_of_work

log = logging.getLogger(__name__)


class LinliBot(ExtBot):
    """PTB's bot, which keeps the updates it could not read for the gate to record."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unreadable: dict[int, tuple[str, dict]] = {}

    async def _do_post(self, endpoint: str, data: dict, **kwargs: Any) -> Any:
        result = await super()._do_post(endpoint, data, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            return [self.screen(raw) for raw in result]
        return result

    def screen(self, raw: dict) -> dict:
        """For a getUpdates batch, which the library reads as a whole: the update as
        received if it can be read, else its id alone."""
        return raw if self._parsed(raw) is not None else {"update_id": raw["update_id"]}

    def read(self, raw: dict) -> Update:
        """The update, or, if the library cannot read it, one with its id alone."""
        update = self._parsed(raw)
        if update is None:
            return Update.de_json({"update_id": raw["update_id"]}, self)
        return update

    def _parsed(self, raw: dict) -> Update | None:
        """The update, or None when the library cannot read it: kept, with why, for the
        gate to record as skipped."""
        try:
            return Update.de_json(raw, self)
        except Exception as error:
            update_id = raw.get("update_id")
            if not isinstance(update_id, int):
                raise  # without an id there is nothing to move past: Telegram never does this
            reason = f"unreadable: {type(error).__name__}: {error}"
            log.warning("update %s cannot be read and is skipped (%s)", update_id, reason)
            self._unreadable[update_id] = (reason, raw)
            return None

    def unreadable(self, update_id: int) -> tuple[str, dict] | None:
        """Why the update with this id could not be read, and what it was; asked once."""
        return self._unreadable.pop(update_id, None)


class ReplyLimiter(BaseRateLimiter):
    """Replies go out after the update's commit, and a 429 is waited out, not lost."""

    def __init__(self, max_wait: float = 60.0) -> None:
        self.max_wait = max_wait

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args) -> Any:
        work = unit_of_work.current()
        if work is None:  # the outbox sender and the schedule: they pace themselves
            return await callback(*args, **kwargs)
        await work.commit()
        waited = 0.0
        while True:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = _seconds(error.retry_after)
                if waited + seconds > self.max_wait:
                    raise
                log.info("%s refused by flood control; trying again in %s s", endpoint, seconds)
                await asyncio.sleep(seconds)
                waited += seconds


def _seconds(wait: int | float | timedelta) -> float:
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
