"""The outbox sender: sends queued messages at a pace Telegram accepts.

It keeps below the configured rate (Telegram allows about 30 messages a
second in all; the default of 25 leaves room for interactive replies, which
never wait in this queue), sends at most one message a second to any chat,
waits out a 429's ``retry_after``, marks users who blocked the bot, and backs
off on network errors. Telegram's limits are per bot, not per process, so of
several processes only the leader sends (``may_send``); claims would keep them
apart regardless.

Recipients are people in their private chats with the bot (it serves no groups),
so Telegram's limit of 20 messages a minute to a group never comes into play.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application

from bot.flows import outbox
from bot.flows.outbox import Outcome, Outgoing
from bot.handlers.keyboards import inline_keyboard
from bot.i18n import language_of, text
from bot.progress import ProgressReports
from storage.db import Database, FileChanges, sqlite_file
from storage.models import DeliveryState
from storage.types import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
# The messages claimed but not yet marked at any moment: what a kill can send twice.
MAX_BATCH = 50
# Lanes each claim, send and mark a batch of their own: while one waits for the
# database, the other sends. Together they hold at most MAX_BATCH. A chat belongs
# to one lane; the claim keeps its messages in the order they were queued.
LANES = 2
# While deliveries are due, the watch looks again this often, in case the lanes missed one.
BUSY_LOOK = 1.0


class Pacer:
    """Spaces sends evenly at ``rate`` per second; a 429 pushes everything back."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.interval = 1.0 / rate
        self._next = time.monotonic()
        self._turns = asyncio.Lock()

    async def wait_turn(self) -> None:
        """Wait until at least ``interval`` after the previous turn was actually given.

        Counting from when a turn is given, not from when it was due, keeps a
        late turn from bunching up with the next one: the server counts
        messages in any one-second window.
        """
        async with self._turns:  # one turn at a time, whichever lane asks
            wait = self._next - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next = time.monotonic() + self.interval

    def pause(self, seconds: float) -> None:
        """A 429 said to wait: nobody gets a turn until then."""
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
        stale_claim: float = 30.0,
        concurrency: int = 16,
        look_every: float = 30.0,
        default_language: str,
        may_send: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.application = application
        self.db = db
        self.pacer = Pacer(rate)
        self.batch = max(1, min(int(rate), MAX_BATCH // LANES))
        self.per_chat_interval = per_chat_interval
        self.stale_claim = timedelta(seconds=stale_claim)
        self.progress = ProgressReports(application, db)
        self.look_every = look_every
        self.default_language = default_language
        self.may_send = may_send
        self._in_flight = asyncio.Semaphore(concurrency)
        self._last_sent: dict[int, float] = {}
        # Idle, the lanes wait to be woken, housekeeping for news, the watch to hear from
        # elsewhere or for its next look (on SQLite it stats the database once a second).
        self._wake = [asyncio.Event() for _ in range(LANES)]
        self._news = asyncio.Event()
        self._heard = asyncio.Event()
        database = sqlite_file(db.url)
        self._files = FileChanges(database) if database else None
        self._released = -1e9
        self._tasks: list[asyncio.Task] = []

    def poke(self) -> None:
        """Something was queued: look now instead of at the next watch."""
        for lane in self._wake:
            lane.set()
        self._news.set()

    def hear(self) -> None:
        """Another process may have queued something: the watch looks now."""
        self._heard.set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._keep_house(), name="outbox-housekeeping"),
            asyncio.create_task(self._watch(), name="outbox-watch"),
        ]
        self._tasks += [
            asyncio.create_task(self._lane(n), name=f"outbox-lane-{n}") for n in range(LANES)
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _watch(self) -> None:
        """Wake the lanes when something is due that nobody poked about: queued by another
        process (the command line, another bot process), put back to wait its turn, or
        left claimed by a sender that died.

        Between looks it sleeps until the next delivery falls due, another process is heard
        of or ``look_every`` passes, so an idle bot asks the database nothing in between.
        """
        while True:
            self._heard.clear()  # before looking, so that news meanwhile is not lost
            try:
                wait = await self._look()
            except Exception:  # the next look tries again
                log.exception("outbox watch failed")
                wait = BUSY_LOOK
            await self._until_heard(min(wait, self.look_every))

    async def _look(self) -> float:
        """Free a dead sender's claims now and then and wake the lanes if something is due;
        the seconds until the next delivery falls due."""
        if self.may_send is not None and not await self.may_send():
            return self.look_every
        async with self.db.session() as session:
            if time.monotonic() - self._released > self.stale_claim.total_seconds() / 2:
                await outbox.release_stale_claims(session, self.stale_claim)
                self._released = time.monotonic()
            due = await outbox.next_due(session)
        if due is None:
            return self.look_every
        wait = (due - utcnow()).total_seconds()
        if wait > 0:
            return wait
        self.poke()
        return BUSY_LOOK  # the lanes may be busy with other chats: look again soon

    async def _until_heard(self, seconds: float) -> None:
        """Sleep ``seconds`` or until another process is heard of: on PostgreSQL by its
        NOTIFY; on SQLite by the database's files, a stat a second."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, 1.0) if self._files else left):
                    await self._heard.wait()
                return
            if self._files and self._files.changed():
                return

    async def _keep_house(self) -> None:
        """Keep the authors' progress shown as batches go out."""
        while True:
            await self._news.wait()
            self._news.clear()
            try:
                await self.progress.update(self.pacer.rate)
            except Exception:  # the next news tries again
                log.exception("outbox progress failed")

    async def _lane(self, lane: int) -> None:
        wake = self._wake[lane]
        while True:
            wake.clear()  # before claiming, so that a poke meanwhile is not lost
            try:
                leads = self.may_send is None or await self.may_send()
                sent = await self.send_due(lane) if leads else 0
            except Exception:  # one bad batch must not stop the sending
                log.exception("outbox batch failed")
                sent = 0
            if sent:
                self._news.set()
            else:
                await wake.wait()

    async def send_due(self, lane: int) -> int:
        """Claim one batch, send it, and mark it in one transaction; returns its size.

        A batch is marked only when all of it is sent, so a process killed in
        the middle leaves its lanes' batches claimed but unmarked: after
        STALE_CLAIM they are sent again, and those recipients may get it twice.
        That is the duplicate bound: LANES batches, at most MAX_BATCH messages.
        """
        async with self.db.session() as session:
            claimed = await outbox.claim(session, self.batch, lane=lane, lanes=LANES)
        tasks = []
        for outgoing in claimed:
            await self.pacer.wait_turn()
            await self._in_flight.acquire()
            tasks.append(asyncio.create_task(self._send_one(outgoing)))
        outcomes = await asyncio.gather(*tasks)
        async with self.db.session() as session:
            await outbox.record_outcomes(session, outcomes)
        return len(claimed)

    def _render(self, outgoing: Outgoing) -> tuple[str, InlineKeyboardMarkup | None]:
        language = language_of(outgoing.telegram_language, outgoing.language, self.default_language)
        values = outbox.in_language(outgoing.values, language)
        body = text(language, outgoing.message_key, **values)
        return body, inline_keyboard(language, outgoing.buttons)

    async def _send_one(self, outgoing: Outgoing) -> Outcome:
        try:
            return await self._deliver(outgoing)
        except Exception as error:  # our fault, not Telegram's: this one fails, not the batch
            log.exception("delivery %s could not be sent", outgoing.delivery_id)
            return _outcome(outgoing, DeliveryState.FAILED, error=type(error).__name__)
        finally:
            self._in_flight.release()

    async def _deliver(self, outgoing: Outgoing) -> Outcome:
        def outcome(state: DeliveryState, **details) -> Outcome:
            return _outcome(outgoing, state, **details)

        chat = outgoing.telegram_id
        if outgoing.unreachable:  # no need to hear Telegram say 403 again
            return outcome(DeliveryState.BLOCKED, error="blocked by the user")
        since_last = time.monotonic() - self._last_sent.get(chat, -1e9)
        if since_last < self.per_chat_interval:
            wait = timedelta(seconds=self.per_chat_interval - since_last)
            return outcome(DeliveryState.PENDING, retry_in=wait)
        self._last_sent[chat] = time.monotonic()
        body, markup = self._render(outgoing)
        bot = self.application.bot
        parse_mode = outgoing.parse_mode
        try:
            if outgoing.photo is not None or outgoing.photo_file_id is not None:
                message = await bot.send_photo(
                    chat,
                    outgoing.photo_file_id or outgoing.photo,
                    caption=body,
                    parse_mode=parse_mode,
                    reply_markup=markup,
                )
                return outcome(
                    DeliveryState.SENT,
                    message_id=message.message_id,
                    photo_file_id=message.photo[-1].file_id,
                )
            if outgoing.document_file_id is not None:
                message = await bot.send_document(
                    chat,
                    outgoing.document_file_id,
                    caption=body,
                    parse_mode=parse_mode,
                    reply_markup=markup,
                )
            else:
                message = await bot.send_message(
                    chat, body, parse_mode=parse_mode, reply_markup=markup
                )
            return outcome(DeliveryState.SENT, message_id=message.message_id)
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            self.pacer.pause(seconds)
            return outcome(DeliveryState.PENDING, error="429", retry_in=timedelta(seconds=seconds))
        except Forbidden:
            return outcome(DeliveryState.BLOCKED, error="blocked by the user")
        except BadRequest as error:
            return outcome(DeliveryState.FAILED, error=error.message)
        except TelegramError as error:  # network trouble and the like: back off and retry
            tries = outgoing.attempts + 1
            if tries >= MAX_ATTEMPTS:
                return outcome(DeliveryState.FAILED, error=str(error), attempts=tries)
            delay = timedelta(seconds=min(2**outgoing.attempts, 300))
            return outcome(DeliveryState.PENDING, error=str(error), retry_in=delay, attempts=tries)


def _outcome(outgoing: Outgoing, state: DeliveryState, **details) -> Outcome:
    """What became of ``outgoing``; a wait for its turn or a 429 is not a failed try."""
    details.setdefault("attempts", outgoing.attempts)
    return Outcome(
        outgoing.delivery_id, outgoing.broadcast_id, outgoing.telegram_id, state, **details
    )
