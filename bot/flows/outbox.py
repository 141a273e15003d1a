"""The delivery outbox: one row per broadcast and recipient, claimed, sent, marked.

A sender claims due rows (``pending`` -> ``sending``), sends them and marks
each ``sent``, ``blocked`` or ``failed``, or puts it back for later. A sender
that dies leaves its claimed rows in ``sending``; once they are older than
the stale-claim time they are pending again. So nobody is skipped, and at
most the rows a sender had in flight when it died can arrive twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import mark_for_commit
from storage.models import Broadcast, Delivery, DeliveryState, User
from storage.types import utcnow

# Marks a transaction that queued messages: its commit wakes this process's sender.
QUEUED = "outbox/queued"
# On PostgreSQL a trigger NOTIFYs here when a commit left deliveries pending (migration
# 0018): the leader hears of what other processes queued.
CHANNEL = "linli_outbox"


@dataclass(frozen=True)
class Button:
    """An inline button: its label's catalogue key and its callback data."""

    label_key: str
    data: str


def in_language(values: dict[str, Any], language: str) -> dict[str, Any]:
    """A message's values for one reader: a value given per language
    (``{"zh_Hans": ..., "en": ...}``) becomes the one in ``language``."""
    return {
        name: value.get(language, next(iter(value.values()), ""))
        if isinstance(value, dict)
        else value
        for name, value in values.items()
    }


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery with what the sender needs to render and send it."""

    delivery_id: int
    broadcast_id: int
    telegram_id: int
    attempts: int  # tries that met network trouble so far
    unreachable: bool  # blocked the bot since this was queued
    language: str | None
    telegram_language: str | None
    message_key: str
    values: dict[str, Any]
    buttons: list[list[Button]]
    photo: bytes | None
    photo_file_id: str | None
    document_file_id: str | None
    parse_mode: str | None


async def enqueue(
    session: AsyncSession,
    kind: str,
    recipients: Iterable[int],
    message_key: str,
    *,
    subject: str = "",
    values: dict[str, Any] | None = None,
    buttons: list[list[Button]] | None = None,
    photo: bytes | None = None,
    photo_file_id: str | None = None,
    document_file_id: str | None = None,
    parse_mode: str | None = None,
    created_by: int | None = None,
) -> Broadcast:
    """Queue a message for every recipient; users who blocked the bot are marked at once."""
    broadcast = Broadcast(
        kind=kind,
        subject=subject,
        message_key=message_key,
        values=values or {},
        buttons=[[[b.label_key, b.data] for b in row] for row in buttons or []],
        photo=photo,
        photo_file_id=photo_file_id,
        document_file_id=document_file_id,
        parse_mode=parse_mode,
        created_by=created_by,
    )
    session.add(broadcast)
    await session.flush()
    recipients = sorted(set(recipients))
    if recipients:
        blocked = set(
            await session.exec(
                select(User.telegram_id).where(
                    col(User.telegram_id).in_(recipients), col(User.unreachable_since).is_not(None)
                )
            )
        )
        now = utcnow()
        await session.exec(
            insert(Delivery),
            params=[
                {
                    "broadcast_id": broadcast.id,
                    "telegram_id": telegram_id,
                    "state": DeliveryState.BLOCKED
                    if telegram_id in blocked
                    else DeliveryState.PENDING,
                    "not_before": now,
                    "attempts": 0,
                    "error": "",
                }
                for telegram_id in recipients
            ],
        )
        mark_for_commit(session, QUEUED)
    return broadcast


async def release_stale_claims(session: AsyncSession, older_than: timedelta) -> int:
    """Claims older than ``older_than`` belong to a sender that died: make them pending again."""
    result = await session.exec(
        update(Delivery)
        .where(
            Delivery.state == DeliveryState.SENDING,
            Delivery.claimed_at < utcnow() - older_than,
        )
        .values(state=DeliveryState.PENDING)
    )
    return result.rowcount


def _first_of_its_chat():
    """Nothing queued to the same chat before this delivery is still to go: a household
    reads a repair's changes in the order they happened."""
    earlier = aliased(Delivery)
    return ~(
        select(earlier.id)
        .where(
            earlier.telegram_id == Delivery.telegram_id,
            earlier.id < Delivery.id,
            col(earlier.state).in_([DeliveryState.PENDING, DeliveryState.SENDING]),
        )
        .exists()
    )


async def next_due(session: AsyncSession, now: datetime | None = None) -> datetime | None:
    """When the next delivery a claim would take falls due: ``now`` if one is due already,
    None if none waits. The first read is cheap however long the queue; the second runs
    only when every chat's next message waits its turn, a few of them."""
    now = now or utcnow()
    waiting = (col(Delivery.state) == DeliveryState.PENDING, _first_of_its_chat())
    due = select(Delivery.id).where(*waiting, Delivery.not_before <= now).limit(1)
    if (await session.exec(due)).first() is not None:
        return now
    return (await session.exec(select(func.min(Delivery.not_before)).where(*waiting))).one()


async def claim(
    session: AsyncSession,
    limit: int,
    now: datetime | None = None,
    *,
    lane: int = 0,
    lanes: int = 1,
) -> list[Outgoing]:
    """Claim up to ``limit`` due deliveries, oldest first: of ``lane``'s chats, when a
    sender runs ``lanes``.

    A chat's message is due only once every message queued to it before has
    been sent or given up: one put back to wait (a second after the last, or
    a backoff) holds back those behind it. A batch therefore holds at most one
    message per chat.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several senders claim side
    by side without taking the same row; SQLite's write lock does the same.
    """
    now = now or utcnow()
    due = select(Delivery.id).where(
        Delivery.state == DeliveryState.PENDING, Delivery.not_before <= now, _first_of_its_chat()
    )
    if lanes > 1:
        due = due.where(func.abs(Delivery.telegram_id) % lanes == lane)
    ids = (
        await session.exec(due.order_by(Delivery.id).limit(limit).with_for_update(skip_locked=True))
    ).all()
    if not ids:
        return []
    await session.exec(
        update(Delivery)
        .where(col(Delivery.id).in_(ids))
        .values(state=DeliveryState.SENDING, claimed_at=now)
    )
    rows = await session.exec(
        select(Delivery, Broadcast, User.language, User.telegram_language, User.unreachable_since)
        .join(Broadcast, Delivery.broadcast_id == Broadcast.id)
        .outerjoin(User, User.telegram_id == Delivery.telegram_id)
        .where(col(Delivery.id).in_(ids))
        .order_by(Delivery.id)
    )
    return [
        Outgoing(
            delivery_id=delivery.id,
            broadcast_id=broadcast.id,
            telegram_id=delivery.telegram_id,
            attempts=delivery.attempts,
            unreachable=unreachable_since is not None,
            language=language,
            telegram_language=telegram_language,
            message_key=broadcast.message_key,
            values=broadcast.values,
            buttons=[[Button(*pair) for pair in row] for row in broadcast.buttons],
            photo=broadcast.photo,
            photo_file_id=broadcast.photo_file_id,
            document_file_id=broadcast.document_file_id,
            parse_mode=broadcast.parse_mode,
        )
        for delivery, broadcast, language, telegram_language, unreachable_since in rows
    ]


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed delivery."""

    delivery_id: int
    broadcast_id: int
    telegram_id: int
    state: DeliveryState  # SENT, BLOCKED, FAILED, or PENDING to try again
    attempts: int  # tries that met network trouble, this one included
    message_id: int | None = None
    error: str = ""
    retry_in: timedelta = timedelta(0)
    photo_file_id: str | None = None


async def record_outcomes(session: AsyncSession, outcomes: list[Outcome]) -> None:
    """Mark a batch of deliveries in one transaction.

    Users who blocked the bot are marked unreachable until they write again; a
    photo's first Telegram file id is kept so later sends need not upload it.
    """
    if not outcomes:
        return
    now = utcnow()
    await session.exec(
        update(Delivery),
        params=[
            {
                "id": o.delivery_id,
                "state": o.state,
                "attempts": o.attempts,
                "message_id": o.message_id,
                "error": o.error[:200],
                "sent_at": now if o.state == DeliveryState.SENT else None,
                "not_before": now + o.retry_in,
            }
            for o in outcomes
        ],
    )
    blocked = [o.telegram_id for o in outcomes if o.state == DeliveryState.BLOCKED]
    if blocked:
        await session.exec(
            update(User)
            .where(col(User.telegram_id).in_(blocked), col(User.unreachable_since).is_(None))
            .values(unreachable_since=now)
        )
    for o in outcomes:
        if o.photo_file_id:
            broadcast = await session.get(Broadcast, o.broadcast_id)
            if broadcast.photo_file_id is None:
                broadcast.photo_file_id = o.photo_file_id


async def progress(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    """How many deliveries of a broadcast are in each state."""
    rows = await session.exec(
        select(Delivery.state, func.count())
        .where(Delivery.broadcast_id == broadcast_id)
        .group_by(Delivery.state)
    )
    counts = {state.value: 0 for state in DeliveryState}
    counts.update(dict(rows.all()))
    return counts


@dataclass(frozen=True)
class Report:
    """A broadcast whose author is following it, with its counts by state."""

    broadcast_id: int
    author: int
    progress_message_id: int | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> bool:
        return self.counts[DeliveryState.PENDING] + self.counts[DeliveryState.SENDING] == 0


async def reports_due(session: AsyncSession) -> list[Report]:
    """Authored broadcasts not yet reported as finished."""
    broadcasts = (
        await session.exec(
            select(Broadcast).where(
                col(Broadcast.created_by).is_not(None),
                col(Broadcast.reported_at).is_(None),
                col(Broadcast.kind).startswith("notice."),
            )
        )
    ).all()
    return [
        Report(b.id, b.created_by, b.progress_message_id, await progress(session, b.id))
        for b in broadcasts
    ]


async def note_progress_message(session: AsyncSession, broadcast_id: int, message_id: int):
    broadcast = await session.get(Broadcast, broadcast_id)
    broadcast.progress_message_id = message_id


async def mark_reported(session: AsyncSession, broadcast_id: int) -> None:
    broadcast = await session.get(Broadcast, broadcast_id)
    broadcast.reported_at = utcnow()


async def failures(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    """Why deliveries of a broadcast failed, with how many each."""
    rows = await session.exec(
        select(Delivery.error, func.count())
        .where(Delivery.broadcast_id == broadcast_id, Delivery.state == DeliveryState.FAILED)
        .group_by(Delivery.error)
    )
    return dict(rows.all())


async def retry_failed(session: AsyncSession, broadcast_id: int) -> int:
    """Queue the failed deliveries of a broadcast again; the report follows it anew."""
    result = await session.exec(
        update(Delivery)
        .where(Delivery.broadcast_id == broadcast_id, Delivery.state == DeliveryState.FAILED)
        .values(state=DeliveryState.PENDING, not_before=utcnow(), attempts=0)
    )
    if result.rowcount:
        broadcast = await session.get(Broadcast, broadcast_id)
        broadcast.reported_at, broadcast.progress_message_id = None, None
        mark_for_commit(session, QUEUED)
    return result.rowcount
