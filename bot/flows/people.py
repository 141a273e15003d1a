"""The people who write to the bot: who they are, their language, redelivered updates."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Select, bindparam, delete, update
from sqlalchemy import select as select_columns
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows import repair
from bot.flows.registry import StaffMember, member_in_role
from storage.models import (
    Building,
    Dialogue,
    GroupChat,
    Household,
    Mute,
    ProcessedUpdate,
    RepairRequest,
    Resident,
    Role,
    SkippedUpdate,
    Staff,
    User,
)
from storage.types import utcnow
from storage.upsert import insert_if_absent


@dataclass(frozen=True)
class Principal:
    """Who an update comes from, as it began: their language, the household they are bound
    to and its community, their staff role, whether a dialogue of theirs is open and
    whether staff wait for their household's answer. Read once per update, in one
    statement, so features need not ask again."""

    telegram_id: int
    language: str | None  # chosen with /lang
    household_id: int | None
    community_id: int | None
    staff: StaffMember | None
    in_dialogue: bool = False
    staff_waiting: bool = False


def _principal_statement() -> Select:
    """Everything ``Principal`` holds of one user (``:telegram_id``), with the user's own
    fields to keep current. Built once: an update's hot path only binds the id."""
    waiting = (
        select(RepairRequest.id)
        .where(col(RepairRequest.household_id) == Resident.household_id, repair.awaits_answer())
        .exists()
    )
    return (
        select_columns(
            col(User.first_name),
            col(User.language),
            col(User.telegram_language),
            col(User.unreachable_since),
            col(Resident.household_id),
            col(Building.community_id),
            col(Staff.role),
            col(Dialogue.kind),
            waiting,
        )
        .outerjoin(Resident, col(Resident.telegram_id) == User.telegram_id)
        .outerjoin(Household, col(Household.id) == Resident.household_id)
        .outerjoin(Building, col(Building.id) == Household.building_id)
        .outerjoin(Staff, col(Staff.telegram_id) == User.telegram_id)
        .outerjoin(Dialogue, col(Dialogue.telegram_id) == User.telegram_id)
        .where(col(User.telegram_id) == bindparam("telegram_id"))
    )


PRINCIPAL = _principal_statement()


@functools.cache
def _claim_statement(dialect: str) -> Insert:
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    values: dict[str, Any] = {"update_id": bindparam("update_id"), "processed_at": bindparam("at")}
    return insert(ProcessedUpdate).values(values).on_conflict_do_nothing()


async def claim_update(session: AsyncSession, update_id: int) -> bool:
    """True the first time an update id is seen, False when Telegram delivers it again."""
    connection = await session.connection()
    statement = _claim_statement(connection.dialect.name)
    result = await connection.execute(statement, {"update_id": update_id, "at": utcnow()})
    return result.rowcount == 1


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
    """Who is writing (see ``Principal``), their user row created on first contact and
    kept current; one statement, one more for a staff member's communities.

    Writing to the bot also shows the user has not blocked it (any more).
    """
    connection = await session.connection()
    found = (await connection.execute(PRINCIPAL, {"telegram_id": telegram_id})).first()
    if found is None:  # first contact; read first, as almost every update is from someone known
        await insert_if_absent(session, User, telegram_id=telegram_id)
        found = (await connection.execute(PRINCIPAL, {"telegram_id": telegram_id})).one()
    name, language, app_language, unreachable, household, community, role, dialogue, waiting = found
    current = {
        "first_name": first_name.replace("\x00", "")[:200],  # PostgreSQL cannot store NUL
        "telegram_language": (telegram_language or "")[:20] or None,
        "unreachable_since": None,
    }
    if (name, app_language, unreachable) != tuple(current.values()):
        await connection.execute(
            update(User).where(col(User.telegram_id) == telegram_id).values(current)
        )
    member = None if role is None else await member_in_role(session, telegram_id, Role(role))
    return Principal(
        telegram_id,
        language,
        household,
        community,
        member,
        in_dialogue=dialogue is not None,
        staff_waiting=bool(waiting),
    )


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
