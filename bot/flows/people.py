"""The people who write to the bot: who they are, their language, redelivered updates."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.registry import StaffMember, staff_member
from storage.models import GroupChat, Mute, ProcessedUpdate, Resident, SkippedUpdate, Staff, User
from storage.upsert import insert_if_absent


@dataclass(frozen=True)
class Principal:
    """Who an update comes from, as it began: their row, the household they are bound to
    and their staff role. Read once per update, so features need not ask again."""

    user: User
    household_id: int | None
    staff: StaffMember | None


async def claim_update(session: AsyncSession, update_id: int) -> bool:
    """True the first time an update id is seen, False when Telegram delivers it again."""
    return await insert_if_absent(session, ProcessedUpdate, update_id=update_id)


async def skip_update(
    session: AsyncSession, update_id: int, reason: str, payload: dict, tries: int = 1
) -> None:
    """Keep an update given up on, and why; its claim is the caller's."""
    await insert_if_absent(
        session,
        SkippedUpdate,
        update_id=update_id,
        reason=reason[:300],
        tries=tries,
        payload=payload,
    )


async def skipped_updates(session: AsyncSession, limit: int) -> list[SkippedUpdate]:
    """The updates given up on most recently, newest first."""
    statement = select(SkippedUpdate).order_by(col(SkippedUpdate.skipped_at).desc()).limit(limit)
    return list(await session.exec(statement))


async def first_time_in_group(session: AsyncSession, chat_id: int) -> bool:
    """True only the first time the bot hears from a group chat."""
    return await insert_if_absent(session, GroupChat, chat_id=chat_id)


async def meet(
    session: AsyncSession, telegram_id: int, first_name: str, telegram_language: str | None
) -> Principal:
    """Who is writing: their row (created on first contact and kept current), their
    household and their staff role, in one statement (one more for a staff member's
    communities).

    Writing to the bot also shows the user has not blocked it (any more).
    """
    statement = (
        select(User, Resident.household_id, Staff)
        .outerjoin(Resident, col(Resident.telegram_id) == User.telegram_id)
        .outerjoin(Staff, col(Staff.telegram_id) == User.telegram_id)
        .where(User.telegram_id == telegram_id)
    )
    found = (await session.exec(statement)).first()
    if found is None:  # first contact; read first, as almost every update is from someone known
        await insert_if_absent(session, User, telegram_id=telegram_id)
        found = (await session.exec(statement)).one()
    user, household_id, staff = found
    _keep_current(user, first_name, telegram_language)
    # The staff row is loaded already; staff_member reads only the communities.
    member = None if staff is None else await staff_member(session, telegram_id)
    return Principal(user, household_id, member)


def _keep_current(user: User, first_name: str, telegram_language: str | None) -> None:
    current = {
        "first_name": first_name.replace("\x00", "")[:200],  # PostgreSQL cannot store NUL
        "telegram_language": (telegram_language or "")[:20] or None,
        "unreachable_since": None,
    }
    for name, value in current.items():
        if getattr(user, name) != value:
            setattr(user, name, value)


async def choose_language(session: AsyncSession, telegram_id: int, language: str) -> None:
    user = await session.get(User, telegram_id)
    if user is not None:
        user.language = language


async def muted_kinds(session: AsyncSession, telegram_id: int) -> set[str]:
    return set(await session.exec(select(Mute.kind).where(Mute.telegram_id == telegram_id)))


async def set_muted(session: AsyncSession, telegram_id: int, kind: str, muted: bool) -> None:
    """Mute or unmute a kind of notice for a user (only kinds that may be muted)."""
    if muted:
        await insert_if_absent(session, Mute, telegram_id=telegram_id, kind=kind)
    else:
        await session.exec(
            delete(Mute).where(col(Mute.telegram_id) == telegram_id, col(Mute.kind) == kind)
        )
