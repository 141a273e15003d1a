"""Notices staff send to residents: audiences, schedules, and their firing through the outbox.

An audience is data: ``{"kind": "communities", "ids": [...]}``, ``buildings``,
``unanswered`` (households that have not answered an open consultation),
``supervisors`` (the communities' quality supervisors) or ``everyone``. A notice
fires at ``next_at``; a repeating one then moves on by ``repeat_days`` until
``until``. Firing moves ``next_at`` with a conditional update, so two
schedulers (or one that restarts) fire it once. A firing missed
by more than the grace time (the bot was down) is skipped and its author told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows import outbox
from bot.flows.audit import Actor, record
from bot.flows.consultation import unanswered_residents
from storage.models import (
    Broadcast,
    Building,
    Community,
    Consultation,
    ConsultationStatus,
    Household,
    Mute,
    Notice,
    NoticeKind,
    Resident,
    Supervisor,
)
from storage.types import utcnow

AUDIENCE_KINDS = ("communities", "buildings", "unanswered", "supervisors", "everyone")
BODY_LIMIT = 4000
CAPTION_LIMIT = 1000  # Telegram allows 1024 under a photo or document


class NoticeError(Exception):
    """A notice that cannot be sent as asked; ``reason`` is a catalogue key."""

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


@dataclass(frozen=True)
class Firing:
    """What one scheduler pass did with a due notice."""

    notice_id: int
    author: int | None
    broadcast: Broadcast | None  # None when the firing was skipped
    due_at: datetime


async def recipients(
    session: AsyncSession, audience: dict[str, Any], kind: str = NoticeKind.GENERAL
) -> list[int]:
    """The residents an audience reaches, less those who muted this kind of notice."""
    kind_of_audience, ids = audience.get("kind"), list(audience.get("ids", []))
    statement = select(Resident.telegram_id).join(Household, Resident.household_id == Household.id)
    if kind_of_audience == "communities":
        statement = statement.join(Building, Household.building_id == Building.id).where(
            col(Building.community_id).in_(ids)
        )
    elif kind_of_audience == "buildings":
        statement = statement.where(col(Household.building_id).in_(ids))
    elif kind_of_audience == "unanswered":
        found = await session.get(Consultation, ids[0]) if ids else None
        if found is None or found.status != ConsultationStatus.OPEN:
            raise NoticeError("notice.no_open_consultation")
        reached = set(await unanswered_residents(session, found))
        statement = statement.where(col(Resident.telegram_id).in_(reached))
    elif kind_of_audience == "supervisors":
        appointed = select(Supervisor.telegram_id).where(col(Supervisor.community_id).in_(ids))
        statement = statement.where(col(Resident.telegram_id).in_(appointed))
    elif kind_of_audience != "everyone":
        raise NoticeError("notice.bad_audience")
    muted = select(Mute.telegram_id).where(Mute.kind == kind)
    statement = statement.where(col(Resident.telegram_id).not_in(muted))
    return sorted(set(await session.exec(statement)))


async def audience_communities(session: AsyncSession, audience: dict[str, Any]) -> set[int] | None:
    """The communities an audience touches (None for everyone), to check who may address it."""
    kind, ids = audience.get("kind"), list(audience.get("ids", []))
    if kind in ("communities", "supervisors"):
        return set(ids)
    if kind == "buildings":
        return set(
            await session.exec(select(Building.community_id).where(col(Building.id).in_(ids)))
        )
    if kind == "unanswered":
        found = await session.get(Consultation, ids[0]) if ids else None
        return {found.community_id} if found else set()
    return None


async def community_ids_named(session: AsyncSession, names: list[str]) -> list[int]:
    found = dict(
        (
            await session.exec(
                select(Community.name, Community.id).where(col(Community.name).in_(names))
            )
        ).all()
    )
    missing = [name for name in names if name not in found]
    if missing:
        raise NoticeError("notice.unknown_community", community=missing[0])
    return [found[name] for name in names]


async def create(
    session: AsyncSession,
    actor: Actor,
    body: str,
    audience: dict[str, Any],
    *,
    at: datetime | None = None,
    repeat_days: int | None = None,
    until: datetime | None = None,
    kind: str = NoticeKind.GENERAL,
    photo: bytes | None = None,
    photo_file_id: str | None = None,
    document_file_id: str | None = None,
) -> Notice:
    """Store a notice; it fires at ``at`` (now when None) through the scheduler or ``fire_due``."""
    now = utcnow()
    if not body.strip():
        raise NoticeError("notice.empty")
    if len(body) > BODY_LIMIT:
        raise NoticeError("notice.too_long", limit=BODY_LIMIT)
    first_at = at or now
    if at is not None and at < now - timedelta(minutes=1):
        raise NoticeError("notice.in_past")
    if repeat_days is not None and (repeat_days < 1 or until is None or until <= first_at):
        raise NoticeError("notice.bad_repeat")
    if (photo or photo_file_id or document_file_id) and len(body) > CAPTION_LIMIT:
        raise NoticeError("notice.too_long", limit=CAPTION_LIMIT)
    await recipients(session, audience, kind)  # refuses a bad audience now, not when it fires
    notice = Notice(
        author_telegram_id=actor.telegram_id,
        kind=kind,
        body=body,
        photo=photo,
        photo_file_id=photo_file_id,
        document_file_id=document_file_id,
        audience=audience,
        first_at=first_at,
        repeat_days=repeat_days,
        until=until,
        next_at=first_at,
    )
    session.add(notice)
    await session.flush()
    record(
        session,
        actor,
        "notice/create",
        f"notice:{notice.id}",
        audience=audience,
        at=first_at.isoformat(),
        repeat_days=repeat_days,
    )
    return notice


def _following(notice: Notice, due_at: datetime, now: datetime) -> datetime | None:
    """The next firing after ``due_at`` that is not already in the past, or None when done."""
    if notice.repeat_days is None:
        return None
    step = timedelta(days=notice.repeat_days)
    following = due_at + step
    while following <= now:
        following += step
    return following if notice.until is None or following <= notice.until else None


async def scheduled(session: AsyncSession) -> list[tuple[int, datetime]]:
    """Every notice still to fire, with when."""
    statement = select(Notice.id, Notice.next_at).where(col(Notice.next_at).is_not(None))
    return list(await session.exec(statement))


async def fire(
    session: AsyncSession,
    notice_id: int,
    grace: timedelta,
    zone: tzinfo = UTC,
    now: datetime | None = None,
) -> Firing | None:
    """Send a due notice (or skip it if it is later than ``grace``); None if not due any more."""
    now = now or utcnow()
    notice = await session.get(Notice, notice_id)
    if notice is None or notice.next_at is None or notice.next_at > now:
        return None
    due_at = notice.next_at
    claimed = await session.exec(
        update(Notice)
        .where(Notice.id == notice_id, Notice.next_at == due_at)
        .values(next_at=_following(notice, due_at, now))
    )
    if claimed.rowcount != 1:
        return None  # another scheduler fired it meanwhile
    if now - due_at > grace:
        notice.skipped += 1
        record(
            session,
            Actor(via="scheduler"),
            "notice/skip",
            f"notice:{notice_id}",
            due_at=due_at.isoformat(),
        )
        if notice.author_telegram_id is not None:
            await outbox.enqueue(
                session,
                "notice.skipped",
                [notice.author_telegram_id],
                "notice.skipped",
                subject=f"notice:{notice_id}:{due_at.isoformat()}",
                values={"due_at": f"{due_at.astimezone(zone):%Y-%m-%d %H:%M}", "notice": notice_id},
            )
        return Firing(notice_id, notice.author_telegram_id, None, due_at)
    notice.fired += 1
    broadcast = await outbox.enqueue(
        session,
        f"notice.{notice.kind}",
        await recipients(session, notice.audience, notice.kind),
        "notice.text",
        subject=f"notice:{notice_id}:{due_at.isoformat()}",
        values={"body": notice.body},
        photo=notice.photo,
        created_by=notice.author_telegram_id,
        parse_mode="HTML",
        photo_file_id=notice.photo_file_id,
        document_file_id=notice.document_file_id,
    )
    record(
        session,
        Actor(via="scheduler"),
        "notice/fire",
        f"notice:{notice_id}",
        broadcast=broadcast.id,
    )
    return Firing(notice_id, notice.author_telegram_id, broadcast, due_at)
