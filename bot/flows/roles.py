"""A person's roles read together: what decides which commands they may use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.binding import household_of
from bot.flows.supervision import communities_supervised
from storage.models import AuditEvent, Role, Staff, Supervisor, User

STAFF_SUBJECT = "staff:"  # the audit subject of "staff/add" and "staff/remove"


@dataclass(frozen=True)
class Roles:
    """What a person is here, and the languages they read."""

    staff: Role | None  # staff or admin; None for everyone else
    bound: bool  # bound to a household
    supervisor: bool  # a quality supervisor of some community
    language: str | None = None  # chosen with /lang
    telegram_language: str | None = None  # their Telegram app's


async def roles_of(session: AsyncSession, telegram_id: int) -> Roles:
    staff = await session.get(Staff, telegram_id)
    user = await session.get(User, telegram_id)
    return Roles(
        staff=Role(staff.role) if staff is not None else None,
        bound=await household_of(session, telegram_id) is not None,
        supervisor=bool(await communities_supervised(session, telegram_id)),
        language=user.language if user is not None else None,
        telegram_language=user.telegram_language if user is not None else None,
    )


async def people_set_apart(session: AsyncSession) -> set[int]:
    """Everyone whose commands or language may differ from a plain resident's: staff and
    admins, supervisors, who chose a language, and former staff (whose staff commands must go).
    Unbound people are not listed: they are told their commands when they write."""
    staff = await session.exec(select(Staff.telegram_id))
    supervisors = await session.exec(select(Supervisor.telegram_id))
    choosers = await session.exec(select(User.telegram_id).where(col(User.language).is_not(None)))
    removed = await session.exec(
        select(AuditEvent.subject).where(AuditEvent.action == "staff/remove")
    )
    former = {int(subject.removeprefix(STAFF_SUBJECT)) for subject in removed}
    return {*staff, *supervisors, *choosers, *former}
