"""Who has answered and who is still missing, by building and unit, and by channel.

The list of missing households is the grid workers' door-knocking sheet: a
household with no bound resident will only answer if someone knocks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows import registry
from bot.flows.registry import Address
from storage.choices import Choice
from storage.models import Ballot, Building, Consultation, Household, Resident


@dataclass(frozen=True)
class Missing:
    address: Address
    residents: int  # bound to the household; 0: it must be visited


@dataclass(frozen=True)
class BuildingTurnout:
    building: str
    households: int
    answered: int
    agree: int = 0  # round 1's answers; round 2 has only answered
    disagree: int = 0


async def registered_later(session: AsyncSession, consultation: Consultation) -> set[int]:
    """The community's households registered after the round opened: not among the
    households it counts (its frozen total), so not in its turnout or its missing."""
    statement = (
        select(Household.id)
        .join(Building, col(Building.id) == Household.building_id)
        .where(
            Building.community_id == consultation.community_id,
            col(Household.registered_at) > consultation.opened_at,
        )
    )
    return {household_id for household_id in await session.exec(statement) if household_id}


async def answered_ids(session: AsyncSession, consultation_id: int) -> set[int]:
    statement = select(Ballot.household_id).where(Ballot.consultation_id == consultation_id)
    return set(await session.exec(statement))


async def missing(session: AsyncSession, consultation: Consultation) -> list[Missing]:
    """The round's households without an answer, in building, unit, room order."""
    skipped = await answered_ids(session, consultation.id) | await registered_later(
        session, consultation
    )
    bound = dict(
        (
            await session.exec(
                select(Resident.household_id, func.count())
                .join(Household, col(Household.id) == Resident.household_id)
                .join(Building, col(Building.id) == Household.building_id)
                .where(Building.community_id == consultation.community_id)
                .group_by(Resident.household_id)
            )
        ).all()
    )
    return [
        Missing(address, bound.get(address.household_id, 0))
        for address in await registry.addresses_in(session, consultation.community_id)
        if address.household_id not in skipped
    ]


async def by_building(session: AsyncSession, consultation: Consultation) -> list[BuildingTurnout]:
    """Per building: the round's households, how many of them have answered, and how."""
    statement = select(Ballot.household_id, Ballot.choice).where(
        Ballot.consultation_id == consultation.id
    )
    choices = dict((await session.exec(statement)).all())
    later = await registered_later(session, consultation)
    counts: dict[str, Counter[str]] = {}
    for address in await registry.addresses_in(session, consultation.community_id):
        if address.household_id in later:
            continue
        count = counts.setdefault(address.building, Counter())
        count["households"] += 1
        if address.household_id in choices:
            count["answered"] += 1
            count[choices[address.household_id]] += 1
    return [
        BuildingTurnout(name, c["households"], c["answered"], c[Choice.AGREE], c[Choice.DISAGREE])
        for name, c in counts.items()
    ]


async def by_channel(session: AsyncSession, consultation_id: int) -> dict[str, int]:
    """How many households' answers came through each channel (bot, paper, proxy)."""
    return (await channels_of(session, [consultation_id])).get(consultation_id, {})


async def channels_of(
    session: AsyncSession, consultation_ids: list[int]
) -> dict[int, dict[str, int]]:
    """``by_channel`` of several rounds at once: consultation id -> channel -> households."""
    statement = (
        select(Ballot.consultation_id, Ballot.channel, func.count())
        .where(col(Ballot.consultation_id).in_(consultation_ids))
        .group_by(col(Ballot.consultation_id), col(Ballot.channel))
    )
    counts: dict[int, dict[str, int]] = {}
    for consultation_id, channel, households in await session.exec(statement):
        counts.setdefault(consultation_id, {})[channel] = households
    return counts
