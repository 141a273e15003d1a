"""The registry: communities, households and their addresses, staff and their roles."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.audit import Actor, record
from bot.i18n import Told, text
from storage.models import (
    Building,
    Community,
    Household,
    InviteCode,
    Resident,
    Role,
    Staff,
    StaffCommunity,
    User,
)


class RegistryError(Told):
    """A request the registry refuses; the message says why."""


@dataclass(frozen=True)
class Address:
    """Where a household lives, for greeting and printing."""

    household_id: int
    community: str
    building: str
    unit: str
    room: str
    building_spelling: str | None = None  # the registry's own, as Building.spelling


def building_text(language: str, name: str, spelling: str | None) -> str:
    """A building as its people know it: the registry's own spelling (3号楼) in Chinese,
    else the bot's 3幢; the number in English (building 3)."""
    if language != "zh_Hans":
        return name
    return spelling or f"{name}幢"


def address_text(language: str, address: Address) -> str:
    """A household's community, building, unit and room, as ``language`` writes them."""
    key = "address.with_unit" if address.unit else "address.without_unit"
    return text(
        language,
        key,
        community=address.community,
        building=building_text(language, address.building, address.building_spelling),
        unit=address.unit,
        room=address.room,
    )


@dataclass(frozen=True)
class StaffMember:
    telegram_id: int
    role: Role
    community_ids: frozenset[int]

    def serves(self, community_id: int) -> bool:
        return self.role is Role.ADMIN or community_id in self.community_ids


def _address(household: Household, community: str, building: str, spelling: str | None) -> Address:
    assert household.id is not None  # a stored row's
    return Address(household.id, community, building, household.unit, household.room, spelling)


def _address_query():
    return (
        select(Household, Community.name, Building.name, Building.spelling)
        .join(Building, col(Household.building_id) == Building.id)
        .join(Community, col(Building.community_id) == Community.id)
    )


async def address_of(session: AsyncSession, household_id: int) -> Address:
    row = (await session.exec(_address_query().where(Household.id == household_id))).one()
    return _address(*row)


async def addresses_in(session: AsyncSession, community_id: int) -> list[Address]:
    """Every household of a community, in building, unit, room order."""
    rows = await session.exec(
        _address_query()
        .where(Community.id == community_id)
        .order_by(Building.name, Household.unit, Household.room)
    )
    return [_address(*row) for row in rows]


async def community_named(session: AsyncSession, name: str) -> Community:
    community = await community_or_none(session, name)
    if community is None:
        raise RegistryError("no community named {name!r}", name=name)
    return community


async def community_or_none(session: AsyncSession, name: str) -> Community | None:
    return (await session.exec(select(Community).where(Community.name == name))).first()


async def community_names(session: AsyncSession) -> list[str]:
    return list(await session.exec(select(Community.name).order_by(Community.name)))


async def communities_served(session: AsyncSession, member: StaffMember) -> list[Community]:
    """The communities a staff member serves (every one, for an admin), by name."""
    statement = select(Community).order_by(Community.name)
    if member.role is not Role.ADMIN:
        statement = statement.where(col(Community.id).in_(member.community_ids))
    return list(await session.exec(statement))


async def building_ids(session: AsyncSession, community_id: int, names: list[str]) -> list[int]:
    """The ids of a community's buildings with these names (numbers), those that exist."""
    statement = select(Building.id).where(
        Building.community_id == community_id, col(Building.name).in_(names)
    )
    return list(await session.exec(statement))


async def residents_of(session: AsyncSession, household_id: int) -> int:
    statement = select(func.count()).where(Resident.household_id == household_id)
    return (await session.exec(statement)).one()


@dataclass(frozen=True)
class StaffListing:
    """A staff member or admin as the shell lists them."""

    telegram_id: int
    name: str  # their Telegram first name, empty until they write to the bot
    role: Role
    communities: tuple[str, ...]


async def staff_listing(session: AsyncSession) -> list[StaffListing]:
    """Everyone with a role, admins first, with the communities they were named for."""
    named: dict[int, list[str]] = {}
    served = select(StaffCommunity.staff_telegram_id, Community.name).join(
        Community, col(StaffCommunity.community_id) == col(Community.id)
    )
    for telegram_id, community in await session.exec(served.order_by(Community.name)):
        named.setdefault(telegram_id, []).append(community)
    rows = await session.exec(
        select(Staff.telegram_id, Staff.role, User.first_name)
        .join(User, col(Staff.telegram_id) == col(User.telegram_id), isouter=True)
        .order_by(col(Staff.role), col(Staff.telegram_id))
    )
    return [
        StaffListing(telegram_id, name or "", Role(role), tuple(named.get(telegram_id, ())))
        for telegram_id, role, name in rows
    ]


@dataclass(frozen=True)
class HouseholdListing:
    """A household as the shell lists it: who is bound, whether a code can still bind."""

    address: Address
    residents: int
    active_code: bool


def _in_community(statement, table: type[Resident] | type[InviteCode], community_id: int):
    """``statement`` over ``table``'s rows of the households of a community."""
    return (
        statement.join(Household, col(table.household_id) == col(Household.id))
        .join(Building, col(Household.building_id) == col(Building.id))
        .where(Building.community_id == community_id)
    )


async def household_listing(session: AsyncSession, community_id: int) -> list[HouseholdListing]:
    """The community's households in address order."""
    addresses = await addresses_in(session, community_id)
    counted = await session.exec(
        _in_community(select(Resident.household_id, func.count()), Resident, community_id).group_by(
            Resident.household_id
        )
    )
    residents = dict(counted.all())  # the Result itself would pass for a mapping
    with_code = set(
        await session.exec(
            _in_community(select(InviteCode.household_id), InviteCode, community_id).where(
                col(InviteCode.revoked_at).is_(None)
            )
        )
    )
    return [
        HouseholdListing(a, residents.get(a.household_id, 0), a.household_id in with_code)
        for a in addresses
    ]


async def staff_member(session: AsyncSession, telegram_id: int) -> StaffMember | None:
    staff = await session.get(Staff, telegram_id)
    if staff is None:
        return None
    return await member_in_role(session, telegram_id, Role(staff.role))


async def member_in_role(session: AsyncSession, telegram_id: int, role: Role) -> StaffMember:
    """A staff member whose role is known already, with the communities they serve."""
    communities = await session.exec(
        select(StaffCommunity.community_id).where(StaffCommunity.staff_telegram_id == telegram_id)
    )
    return StaffMember(telegram_id, role, frozenset(communities))


async def add_staff(
    session: AsyncSession, telegram_id: int, role: Role, community_names: list[str], actor: Actor
) -> StaffMember:
    """Make someone staff (of the named communities) or an admin (of all)."""
    if role is Role.STAFF and not community_names:
        raise RegistryError("staff need at least one --community; admins serve all")
    communities = [await community_named(session, name) for name in community_names]
    staff = await session.get(Staff, telegram_id)
    if staff is None:
        session.add(Staff(telegram_id=telegram_id, role=role))
    else:
        staff.role = role
    await session.flush()
    for community in communities:
        key = (telegram_id, community.id)
        if await session.get(StaffCommunity, key) is None:
            session.add(StaffCommunity(staff_telegram_id=telegram_id, community_id=community.id))
    record(
        session,
        actor,
        "staff/add",
        f"staff:{telegram_id}",
        role=role.value,
        communities=community_names,
    )
    await session.flush()
    member = await staff_member(session, telegram_id)
    assert member is not None
    return member


async def remove_staff(session: AsyncSession, telegram_id: int, actor: Actor) -> None:
    if await session.get(Staff, telegram_id) is None:
        raise RegistryError("{telegram_id} is not staff", telegram_id=telegram_id)
    await session.exec(
        delete(StaffCommunity).where(col(StaffCommunity.staff_telegram_id) == telegram_id)
    )
    await session.exec(delete(Staff).where(col(Staff.telegram_id) == telegram_id))
    record(session, actor, "staff/remove", f"staff:{telegram_id}")
