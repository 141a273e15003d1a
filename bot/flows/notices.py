"""Notices staff send to residents: audiences, schedules, and their firing through the outbox.

An audience is data: ``{"kind": "communities", "ids": [...]}``, ``buildings``,
``unanswered`` (households that have not answered an open consultation),
``supervisors`` (the communities' quality supervisors) or ``everyone``. A notice
fires at ``next_at``; a repeating one then moves on by ``repeat_days`` until
``until``. Firing moves ``next_at`` with a conditional update, so two
schedulers (or one that restarts) fire it once. Occurrences missed while the
bot was down coalesce into the latest one due: it is sent once if it is within
the grace time, else skipped and its author told. A notice to the households
that have not answered a consultation ends, its author told, once that
consultation has closed: its audience is gone.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows import outbox
from bot.flows.audit import Actor, record
from bot.flows.consultation import unanswered_residents
from bot.flows.refusal import Refusal
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
SCHEDULER = Actor(via="scheduler")
CAPTION_LIMIT = 1000  # Telegram allows 1024 under a photo or document
EXCERPT_LIMIT = 30
TAG = re.compile(r"<[^>]*>")


class NoticeError(Refusal):
    """A notice that cannot be sent as asked; ``reason`` is a catalogue key."""


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


async def audience_names(session: AsyncSession, audience: dict[str, Any]) -> list[tuple[str, str]]:
    """What an audience names, for the author's preview, as (community, detail) pairs: its
    communities (no detail), its buildings, or the round whose silent households it reaches."""
    kind, ids = audience.get("kind"), list(audience.get("ids", []))
    if kind in ("communities", "supervisors"):
        statement = select(Community.name).where(col(Community.id).in_(ids))
        return [(name, "") for name in sorted(await session.exec(statement))]
    if kind == "buildings":
        rows = await session.exec(
            select(Community.name, Building.name)
            .join(Community, col(Community.id) == Building.community_id)
            .where(col(Building.id).in_(ids))
            .order_by(Community.name, Building.name)
        )
        return [(community, building) for community, building in rows]
    if kind == "unanswered":
        found = await session.get(Consultation, ids[0]) if ids else None
        community = await session.get(Community, found.community_id) if found else None
        return [(community.name, found.title)] if found and community else []
    return []


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


def excerpt(body: str) -> str:
    """The start of a notice's text, plain, to name the notice to its author."""
    text = " ".join(html.unescape(TAG.sub("", body)).split())
    return text if len(text) <= EXCERPT_LIMIT else text[: EXCERPT_LIMIT - 1] + "…"


def _latest_due(notice: Notice, now: datetime) -> datetime:
    """The latest occurrence due by ``now``: the missed ones before it coalesce into it."""
    if notice.repeat_days is None:
        return notice.next_at
    step = timedelta(days=notice.repeat_days)
    last = now if notice.until is None else min(now, notice.until)
    return notice.next_at + (last - notice.next_at) // step * step


def _following(notice: Notice, due_at: datetime) -> datetime | None:
    """The occurrence after ``due_at``, or None when the notice is done."""
    if notice.repeat_days is None:
        return None
    following = due_at + timedelta(days=notice.repeat_days)
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
    """Fire a due notice once, however many of its occurrences were missed: send it, skip it
    (later than ``grace``) or end it (its consultation closed); None if not due any more."""
    now = now or utcnow()
    notice = await session.get(Notice, notice_id)
    if notice is None or notice.next_at is None or notice.next_at > now:
        return None
    due_at = _latest_due(notice, now)
    closed = await _closed_consultation(session, notice.audience)
    if not await _claim(session, notice, None if closed else _following(notice, due_at)):
        return None  # another scheduler fired it meanwhile
    if closed is not None:
        return await _end_for_closed_consultation(session, notice, due_at, closed, zone)
    if now - due_at > grace:
        return await _skip(session, notice, due_at, zone)
    return await _send(session, notice, due_at)


async def _closed_consultation(
    session: AsyncSession, audience: dict[str, Any]
) -> Consultation | None:
    """The consultation an "unanswered" audience is drawn from, once it is no longer open."""
    ids = list(audience.get("ids", []))
    if audience.get("kind") != "unanswered" or not ids:
        return None
    found = await session.get(Consultation, ids[0])
    return found if found is not None and found.status != ConsultationStatus.OPEN else None


async def _claim(session: AsyncSession, notice: Notice, following: datetime | None) -> bool:
    """Move ``next_at`` on, only if no one else has since it was read: then the firing is ours."""
    claimed = await session.exec(
        update(Notice)
        .where(Notice.id == notice.id, Notice.next_at == notice.next_at)
        .values(next_at=following)
    )
    return claimed.rowcount == 1


async def _tell_author(
    session: AsyncSession,
    notice: Notice,
    due_at: datetime,
    zone: tzinfo,
    message_key: str,
    **values: object,
) -> None:
    """Tell the author (if one) what became of this firing, naming the notice."""
    if notice.author_telegram_id is None:
        return
    await outbox.enqueue(
        session,
        message_key,
        [notice.author_telegram_id],
        message_key,
        subject=f"notice:{notice.id}:{due_at.isoformat()}",
        values={
            "due_at": f"{due_at.astimezone(zone):%Y-%m-%d %H:%M}",
            "notice": notice.id,
            "excerpt": excerpt(notice.body),
            **values,
        },
    )


async def _end_for_closed_consultation(
    session: AsyncSession,
    notice: Notice,
    due_at: datetime,
    closed: Consultation,
    zone: tzinfo,
) -> Firing:
    """End the schedule unsent: the households it was to reach are no longer asked."""
    record(
        session,
        SCHEDULER,
        "notice/end",
        f"notice:{notice.id}",
        due_at=due_at.isoformat(),
        consultation_closed=closed.id,
    )
    await _tell_author(
        session, notice, due_at, zone, "notice.consultation_closed", consultation=closed.title
    )
    return Firing(notice.id, notice.author_telegram_id, None, due_at)


async def _skip(session: AsyncSession, notice: Notice, due_at: datetime, zone: tzinfo) -> Firing:
    """Send nothing this time: it is too late to be of use, so the author hears instead."""
    notice.skipped += 1
    record(session, SCHEDULER, "notice/skip", f"notice:{notice.id}", due_at=due_at.isoformat())
    await _tell_author(session, notice, due_at, zone, "notice.skipped")
    return Firing(notice.id, notice.author_telegram_id, None, due_at)


async def _send(session: AsyncSession, notice: Notice, due_at: datetime) -> Firing:
    """Queue the notice for its audience as it is now."""
    notice.fired += 1
    broadcast = await outbox.enqueue(
        session,
        f"notice.{notice.kind}",
        await recipients(session, notice.audience, notice.kind),
        "notice.text",
        subject=f"notice:{notice.id}:{due_at.isoformat()}",
        values={"body": notice.body},
        photo=notice.photo,
        created_by=notice.author_telegram_id,
        parse_mode="HTML",
        photo_file_id=notice.photo_file_id,
        document_file_id=notice.document_file_id,
    )
    record(session, SCHEDULER, "notice/fire", f"notice:{notice.id}", broadcast=broadcast.id)
    return Firing(notice.id, notice.author_telegram_id, broadcast, due_at)
