"""The delivery outbox: one row per broadcast and recipient, claimed, sent, marked.

A sender claims due rows (``pending`` -> ``sending``), sends them and marks
each ``sent``, ``blocked`` or ``failed``, or puts it back for later. A sender
that dies leaves its claimed rows in ``sending``; after ``STALE_CLAIM`` they
are pending again. So nobody is skipped, and at most the rows a sender had in
flight when it died can arrive twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Broadcast, Delivery, DeliveryState, User
from storage.types import utcnow

STALE_CLAIM = timedelta(seconds=60)


@dataclass(frozen=True)
class Button:
    """An inline button: its label's catalogue key and its callback data."""

    label_key: str
    data: str


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery with what the sender needs to render and send it."""

    delivery_id: int
    broadcast_id: int
    telegram_id: int
    attempts: int
    language: str | None
    telegram_language: str | None
    message_key: str
    values: dict[str, Any]
    buttons: list[list[Button]]
    photo: bytes | None
    photo_file_id: str | None


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
    return broadcast


async def release_stale_claims(session: AsyncSession, now: datetime | None = None) -> int:
    """Claims older than STALE_CLAIM belong to a sender that died: make them pending again."""
    now = now or utcnow()
    result = await session.exec(
        update(Delivery)
        .where(Delivery.state == DeliveryState.SENDING, Delivery.claimed_at < now - STALE_CLAIM)
        .values(state=DeliveryState.PENDING)
    )
    return result.rowcount


async def claim(session: AsyncSession, limit: int, now: datetime | None = None) -> list[Outgoing]:
    """Claim up to ``limit`` due deliveries, oldest first.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several senders claim side
    by side without taking the same row; SQLite's write lock does the same.
    """
    now = now or utcnow()
    ids = (
        await session.exec(
            select(Delivery.id)
            .where(Delivery.state == DeliveryState.PENDING, Delivery.not_before <= now)
            .order_by(Delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not ids:
        return []
    await session.exec(
        update(Delivery)
        .where(col(Delivery.id).in_(ids))
        .values(state=DeliveryState.SENDING, claimed_at=now, attempts=Delivery.attempts + 1)
    )
    rows = await session.exec(
        select(Delivery, Broadcast, User.language, User.telegram_language)
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
            language=language,
            telegram_language=telegram_language,
            message_key=broadcast.message_key,
            values=broadcast.values,
            buttons=[[Button(*pair) for pair in row] for row in broadcast.buttons],
            photo=broadcast.photo,
            photo_file_id=broadcast.photo_file_id,
        )
        for delivery, broadcast, language, telegram_language in rows
    ]


async def mark_sent(
    session: AsyncSession, delivery_id: int, message_id: int, photo_file_id: str | None = None
) -> None:
    delivery = await session.get(Delivery, delivery_id)
    delivery.state, delivery.sent_at, delivery.message_id = DeliveryState.SENT, utcnow(), message_id
    if photo_file_id:
        broadcast = await session.get(Broadcast, delivery.broadcast_id)
        if broadcast.photo_file_id is None:
            broadcast.photo_file_id = photo_file_id


async def mark_blocked(session: AsyncSession, delivery_id: int) -> None:
    """The user blocked the bot: mark them unreachable until they write again."""
    delivery = await session.get(Delivery, delivery_id)
    delivery.state, delivery.error = DeliveryState.BLOCKED, "blocked by the user"
    user = await session.get(User, delivery.telegram_id)
    if user is not None and user.unreachable_since is None:
        user.unreachable_since = utcnow()


async def mark_failed(session: AsyncSession, delivery_id: int, reason: str) -> None:
    delivery = await session.get(Delivery, delivery_id)
    delivery.state, delivery.error = DeliveryState.FAILED, reason[:200]


async def retry_later(session: AsyncSession, delivery_id: int, delay: timedelta, reason: str):
    delivery = await session.get(Delivery, delivery_id)
    delivery.state, delivery.error = DeliveryState.PENDING, reason[:200]
    delivery.not_before = utcnow() + delay


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
