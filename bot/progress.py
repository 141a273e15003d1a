"""Shows staff how their broadcast goes: one message, edited as it goes, then a report."""

from __future__ import annotations

import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application

from bot.flows import outbox
from bot.flows.callback_data import NoticeRetry
from bot.flows.outbox import Report
from bot.i18n import language_of, text
from storage.db import Database
from storage.models import DeliveryState, User

EDIT_EVERY = 2.0  # seconds between edits of one progress message


class ProgressReports:
    def __init__(self, application: Application, db: Database) -> None:
        self.application = application
        self.db = db
        self._edited: dict[int, float] = {}
        self._first_seen: dict[int, tuple[float, int]] = {}  # broadcast -> (when, done then)

    def achieved_rate(self, broadcast_id: int, done: int, planned: float) -> float:
        """Messages a second since this process first saw the broadcast; the planned rate
        until there is a second of sending to measure."""
        since, done_then = self._first_seen.setdefault(broadcast_id, (time.monotonic(), done))
        elapsed = time.monotonic() - since
        if elapsed < 1.0 or done <= done_then:
            return planned
        return (done - done_then) / elapsed

    async def update(self, rate: float) -> None:
        """Refresh every followed broadcast's progress message; report the finished ones.

        ``rate`` is the sender's planned pace, shown until the achieved one can be measured.
        """
        async with self.db.session() as session:
            reports = await outbox.reports_due(session)
        for report in reports:
            if (
                not report.finished
                and time.monotonic() - self._edited.get(report.broadcast_id, -1e9) < EDIT_EVERY
            ):
                continue
            self._edited[report.broadcast_id] = time.monotonic()
            try:
                await self._show(report, rate)
            except TelegramError:
                continue  # the author's chat is out of reach; the broadcast goes on

    async def _language(self, telegram_id: int) -> str:
        async with self.db.session() as session:
            user = await session.get(User, telegram_id)
        default = self.application.bot_data["settings"].default_language
        if user is None:
            return default
        return language_of(user.telegram_language, user.language, default)

    async def _show(self, report: Report, rate: float) -> None:
        language = await self._language(report.author)
        counts, markup = report.counts, None
        if report.finished:
            async with self.db.session() as session:
                reasons = await outbox.failures(session, report.broadcast_id)
            why = "; ".join(f"{reason or '?'} × {n}" for reason, n in reasons.items())
            body = text(
                language,
                "notice.report",
                total=report.total,
                sent=counts[DeliveryState.SENT],
                blocked=counts[DeliveryState.BLOCKED],
                failed=counts[DeliveryState.FAILED],
                reasons=why or "—",
            )
            if counts[DeliveryState.FAILED]:
                markup = InlineKeyboardMarkup(
                    [
                        [
                            InlineKeyboardButton(
                                text(language, "notice.retry_failed"),
                                callback_data=NoticeRetry(report.broadcast_id).pack(),
                            )
                        ]
                    ]
                )
        else:
            left = counts[DeliveryState.PENDING] + counts[DeliveryState.SENDING]
            done = report.total - left
            achieved = self.achieved_rate(report.broadcast_id, done, rate)
            body = text(
                language,
                "notice.progress",
                done=done,
                total=report.total,
                rate=f"{achieved:.0f}",
                eta=f"{left / achieved:.0f}",
            )
        bot = self.application.bot
        if report.progress_message_id is None:
            message = await bot.send_message(report.author, body, reply_markup=markup)
            async with self.db.session() as session:
                await outbox.note_progress_message(session, report.broadcast_id, message.message_id)
        else:
            try:
                await bot.edit_message_text(
                    body, report.author, report.progress_message_id, reply_markup=markup
                )
            except BadRequest as error:
                if "not modified" not in error.message:
                    raise
        if report.finished:
            async with self.db.session() as session:
                await outbox.mark_reported(session, report.broadcast_id)
            self._first_seen.pop(report.broadcast_id, None)
            self._edited.pop(report.broadcast_id, None)
