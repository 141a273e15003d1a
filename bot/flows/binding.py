"""Binding a Telegram user to a household with an invite code, moving, unbinding.

Each call returns an outcome that the handler turns into words; nothing here
knows about Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import BindingSettings
from bot.flows import dialogues
from bot.flows.audit import Actor, record
from bot.flows.invites import household_of_code, normalise
from bot.flows.registry import Address, address_of, residents_of
from storage.models import Household, Resident, WrongCode
from storage.types import utcnow

MOVE_DIALOGUE = "confirm_move"


@dataclass(frozen=True)
class Limits:
    residents_per_household: int = 5
    wrong_codes_allowed: int = 5
    wrong_code_window: timedelta = timedelta(hours=1)

    @classmethod
    def of(cls, settings: BindingSettings) -> Limits:
        return cls(
            residents_per_household=settings.residents_per_household,
            wrong_codes_allowed=settings.wrong_codes_allowed,
            wrong_code_window=timedelta(minutes=settings.wrong_code_window_minutes),
        )


@dataclass(frozen=True)
class Bound:
    address: Address


@dataclass(frozen=True)
class AlreadyBound:
    address: Address


@dataclass(frozen=True)
class ConfirmMove:
    current: Address
    new: Address


@dataclass(frozen=True)
class NotACode:
    """The text cannot be an invite code of ours at all."""


@dataclass(frozen=True)
class WrongCodeGiven:
    tries_left: int


@dataclass(frozen=True)
class RevokedCode:
    tries_left: int


@dataclass(frozen=True)
class LockedOut:
    until: datetime


@dataclass(frozen=True)
class HouseholdFull:
    limit: int


@dataclass(frozen=True)
class NothingToConfirm:
    """A move button pressed without a pending move for that household."""


BindOutcome = (
    Bound
    | AlreadyBound
    | ConfirmMove
    | NotACode
    | WrongCodeGiven
    | RevokedCode
    | LockedOut
    | HouseholdFull
)


async def household_of(session: AsyncSession, telegram_id: int) -> int | None:
    statement = select(Resident.household_id).where(Resident.telegram_id == telegram_id)
    return (await session.exec(statement)).first()


async def binding_of(session: AsyncSession, telegram_id: int) -> Address | None:
    household_id = await household_of(session, telegram_id)
    return None if household_id is None else await address_of(session, household_id)


async def _lockout_end(session: AsyncSession, telegram_id: int, limits: Limits) -> datetime | None:
    since = utcnow() - limits.wrong_code_window
    times = (
        await session.exec(
            select(WrongCode.at)
            .where(WrongCode.telegram_id == telegram_id, WrongCode.at > since)
            .order_by(col(WrongCode.at).desc())
            .limit(limits.wrong_codes_allowed)
        )
    ).all()
    if len(times) < limits.wrong_codes_allowed:
        return None
    return times[-1] + limits.wrong_code_window


async def _wrong_try(
    session: AsyncSession,
    telegram_id: int,
    limits: Limits,
    outcome: type[WrongCodeGiven] | type[RevokedCode],
) -> WrongCodeGiven | RevokedCode | LockedOut:
    """Record a wrong code: the tries left, or, after the last one, until when the user is
    locked out (not "0 tries left")."""
    session.add(WrongCode(telegram_id=telegram_id))
    await session.flush()
    locked_until = await _lockout_end(session, telegram_id, limits)
    if locked_until is not None:
        return LockedOut(locked_until)
    since = utcnow() - limits.wrong_code_window
    count = (
        await session.exec(
            select(func.count()).where(WrongCode.telegram_id == telegram_id, WrongCode.at > since)
        )
    ).one()
    return outcome(limits.wrong_codes_allowed - count)


async def _household_full(session: AsyncSession, household_id: int, limits: Limits) -> bool:
    """Whether the household has its limit of residents, counted under a lock on its row:
    two people binding to it at once are counted one after the other."""
    await session.exec(select(Household.id).where(Household.id == household_id).with_for_update())
    return await residents_of(session, household_id) >= limits.residents_per_household


async def bind(
    session: AsyncSession, telegram_id: int, text: str, limits: Limits, actor: Actor
) -> BindOutcome:
    """Bind the user to the household whose invite code ``text`` is."""
    locked_until = await _lockout_end(session, telegram_id, limits)
    if locked_until is not None:
        return LockedOut(locked_until)
    code = normalise(text)
    if code is None:
        return NotACode()
    found = await household_of_code(session, code)
    if found is None:
        return await _wrong_try(session, telegram_id, limits, WrongCodeGiven)
    household_id, active = found
    if not active:
        return await _wrong_try(session, telegram_id, limits, RevokedCode)

    current = await household_of(session, telegram_id)
    new_address = await address_of(session, household_id)
    if current == household_id:
        return AlreadyBound(new_address)
    if await _household_full(session, household_id, limits):
        return HouseholdFull(limits.residents_per_household)
    if current is not None:
        await dialogues.start(session, telegram_id, MOVE_DIALOGUE, household_id=household_id)
        return ConfirmMove(await address_of(session, current), new_address)

    session.add(Resident(telegram_id=telegram_id, household_id=household_id))
    await dialogues.finish(session, telegram_id)
    record(session, actor, "resident/bind", f"household:{household_id}")
    return Bound(new_address)


async def confirm_move(
    session: AsyncSession, telegram_id: int, household_id: int, limits: Limits, actor: Actor
) -> Bound | HouseholdFull | NothingToConfirm:
    """Move the user to the household they were asked about, if that is still pending."""
    pending = await dialogues.current(session, telegram_id)
    if (
        pending is None
        or pending.kind != MOVE_DIALOGUE
        or pending.data.get("household_id") != household_id
    ):
        return NothingToConfirm()
    await dialogues.finish(session, telegram_id)
    if await _household_full(session, household_id, limits):
        return HouseholdFull(limits.residents_per_household)
    resident = (
        await session.exec(select(Resident).where(Resident.telegram_id == telegram_id))
    ).one()
    previous = resident.household_id
    resident.household_id = household_id
    resident.bound_at = utcnow()
    record(session, actor, "resident/move", f"household:{household_id}", previous=previous)
    return Bound(await address_of(session, household_id))


async def unbind(session: AsyncSession, telegram_id: int, actor: Actor) -> Address | None:
    """Undo the user's binding; returns the address they left, None if they had none."""
    address = await binding_of(session, telegram_id)
    if address is None:
        return None
    await session.exec(delete(Resident).where(col(Resident.telegram_id) == telegram_id))
    record(session, actor, "resident/unbind", f"household:{address.household_id}")
    return address
