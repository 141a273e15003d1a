"""A person's roles read together: what decides which commands they may use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.binding import household_of
from bot.flows.supervision import communities_supervised
from storage.models import AuditEvent, Role, Staff, User

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


async def staff_past_and_present(session: AsyncSession) -> set[int]:
    """Staff and admins, and former staff: the people whose roles the command line changes
    (``linli staff add/remove``), perhaps while the bot was down. Everyone else's roles
    change through the bot, which refreshes their menu there and then."""
    staff = await session.exec(select(Staff.telegram_id))
    removed = await session.exec(
        select(AuditEvent.subject).where(AuditEvent.action == "staff/remove")
    )
    former = {int(subject.removeprefix(STAFF_SUBJECT)) for subject in removed}
    return {*staff, *former}
