"""The outbox sender: sends queued messages at a pace Telegram accepts.

It keeps below the configured rate (Telegram allows about 30 messages a
second in all; the default of 25 leaves room for interactive replies, which
never wait in this queue), sends at most one message a second to any chat,
waits out a 429's ``retry_after``, marks users who blocked the bot, and backs
off on network errors. Every process runs one; claims keep them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.flows import outbox
from bot.flows.outbox import Outgoing
from bot.handlers.keyboards import inline_keyboard
from bot.i18n import language_of, text
from storage.db import Database

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


class Pacer:
    """Spaces sends evenly at ``rate`` per second; a 429 pushes everything back."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = time.monotonic()

    async def wait_turn(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        self._next = max(self._next, time.monotonic() + seconds)


class OutboxSender:
    """Claims due deliveries and sends them, until stopped."""

    def __init__(
        self,
        application: Application,
        db: Database,
        *,
        rate: float,
        per_chat_interval: float = 1.0,
        concurrency: int = 16,
        idle_wait: float = 1.0,
        default_language: str,
    ) -> None:
        self.application = application
        self.db = db
        self.pacer = Pacer(rate)
        self.batch = max(1, int(rate))
        self.per_chat_interval = per_chat_interval
        self.idle_wait = idle_wait
        self.default_language = default_language
        self._in_flight = asyncio.Semaphore(concurrency)
        self._last_sent: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def poke(self) -> None:
        """Something was queued: look now instead of at the next idle tick."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        async with self.db.session() as session:
            await outbox.release_stale_claims(session)
        while True:
            try:
                sent = await self.send_due()
            except Exception:  # keep sending whatever one bad batch did
                log.exception("outbox batch failed")
                sent = 0
            if sent == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_wait)

    async def send_due(self) -> int:
        """Claim one batch and send it; returns how many were claimed."""
        async with self.db.session() as session:
            claimed = await outbox.claim(session, self.batch)
        tasks = []
        for outgoing in claimed:
            await self.pacer.wait_turn()
            await self._in_flight.acquire()
            tasks.append(asyncio.create_task(self._send_one(outgoing)))
        await asyncio.gather(*tasks)
        return len(claimed)

    def _render(self, outgoing: Outgoing) -> tuple[str, InlineKeyboardMarkup | None]:
        language = language_of(outgoing.telegram_language, outgoing.language, self.default_language)
        body = text(language, outgoing.message_key, **outgoing.values)
        return body, inline_keyboard(language, outgoing.buttons)

    async def _send_one(self, outgoing: Outgoing) -> None:
        try:
            await self._deliver(outgoing)
        finally:
            self._in_flight.release()

    async def _deliver(self, outgoing: Outgoing) -> None:
        chat = outgoing.telegram_id
        since_last = time.monotonic() - self._last_sent.get(chat, -1e9)
        if since_last < self.per_chat_interval:
            delay = timedelta(seconds=self.per_chat_interval - since_last)
            async with self.db.session() as session:
                await outbox.retry_later(session, outgoing.delivery_id, delay, "")
            return
        self._last_sent[chat] = time.monotonic()
        body, markup = self._render(outgoing)
        bot = self.application.bot
        try:
            if outgoing.photo is not None:
                message = await bot.send_photo(
                    chat,
                    outgoing.photo_file_id or outgoing.photo,
                    caption=body[:1024],
                    reply_markup=markup,
                )
                file_id = message.photo[-1].file_id if message.photo else None
            else:
                message = await bot.send_message(chat, body, reply_markup=markup)
                file_id = None
        except RetryAfter as error:
            seconds = error.retry_after
            wait = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
            self.pacer.pause(wait)
            async with self.db.session() as session:
                await outbox.retry_later(
                    session, outgoing.delivery_id, timedelta(seconds=wait), "429"
                )
            return
        except Forbidden:
            async with self.db.session() as session:
                await outbox.mark_blocked(session, outgoing.delivery_id)
            return
        except BadRequest as error:
            async with self.db.session() as session:
                await outbox.mark_failed(session, outgoing.delivery_id, error.message)
            return
        except (NetworkError, TelegramError) as error:
            await self._back_off(outgoing, str(error))
            return
        async with self.db.session() as session:
            await outbox.mark_sent(session, outgoing.delivery_id, message.message_id, file_id)

    async def _back_off(self, outgoing: Outgoing, reason: str) -> None:
        async with self.db.session() as session:
            if outgoing.attempts >= MAX_ATTEMPTS:
                await outbox.mark_failed(session, outgoing.delivery_id, reason)
            else:
                delay = timedelta(seconds=min(2**outgoing.attempts, 300))
                await outbox.retry_later(session, outgoing.delivery_id, delay, reason)
