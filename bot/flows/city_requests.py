"""Repair requests as city systems see them: Open311 GeoReport v2 over the repair flow.

Nothing here decides anything the repair flow decides: categories are its
services, its routes the agency responsible, its states open or closed, its
intake files a hotline's request. What this adds is the translation, and
what leaves: an address down to the building and unit only, never the
room, a name or a Telegram id.

A hotline request names the caller's household (community, and building-unit-room
as staff type it: ``3-1-101``), whether it concerns the household's own flat or a
common part (then where: the building by default) and whether it is urgent, as the
bot asks a resident. The household is how the request reaches the right staff and
how its residents hear of its progress in the bot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import RepairSettings
from bot.flows import offline, repair
from bot.flows.api_keys import Caller
from bot.flows.audit import Actor, record
from bot.flows.refusal import Refusal
from bot.flows.registry import building_text
from bot.i18n import text
from storage.models import Building, Community, Household, RepairRequest, RepairRoute, RepairState

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Closed: the work is done (awaiting the household's word or not), or the request ended.
CLOSED = {*repair.FINISHED, RepairState.DONE}
# The services' groups, for a city system's menu; every category is in one.
GROUPS = {
    "leaks": ("roof_leak", "wall_seepage"),
    "utilities": ("water_pipe", "drainage", "power", "gas"),
    "facilities": ("lift", "fire_equipment", "stairwell", "fall_hazard"),
    "other": ("other",),
}
GROUP_OF = {category: group for group, categories in GROUPS.items() for category in categories}
# The spec's default span of a search without dates.
DEFAULT_DAYS = 90
TRUE, FALSE = "true", "false"


class CityError(Refusal):
    """A city system's call refused; ``reason`` is a catalogue key (``open311.*`` or a
    flow's own), and nothing was changed."""


def services(language: str) -> list[dict[str, Any]]:
    """The repair categories as Open311 services, in the flow's order."""
    return [
        {
            "service_code": category,
            "service_name": text(language, f"repair.category_{category}"),
            "description": text(
                language, "open311.service", name=text(language, f"repair.category_{category}")
            ),
            "metadata": True,  # each has the attributes of a report
            "type": "realtime",  # filed at once, numbered in the answer
            "keywords": text(language, f"open311.group_{GROUP_OF[category]}"),
            "group": text(language, f"open311.group_{GROUP_OF[category]}"),
        }
        for category in repair.CATEGORIES
    ]


def _known_service(code: str) -> str:
    if code not in repair.CATEGORIES:
        raise CityError("open311.unknown_service", code=code)
    return code


async def service_definition(session: AsyncSession, code: str, language: str) -> dict[str, Any]:
    """What a request for ``code`` needs beside its description: what the bot asks."""
    communities = list(await session.exec(select(Community.name).order_by(col(Community.name))))

    def attribute(order: int, code: str, datatype: str, required: bool, values=None) -> dict:
        return {
            "variable": True,
            "code": code,
            "datatype": datatype,
            "required": required,
            "datatype_description": text(language, f"open311.attribute_{code}_format"),
            "order": order,
            "description": text(language, f"open311.attribute_{code}"),
            "values": [{"key": key, "name": name} for key, name in values or []],
        }

    yes_no = [(TRUE, text(language, "open311.yes")), (FALSE, text(language, "open311.no"))]
    return {
        "service_code": _known_service(code),
        "attributes": [
            attribute(1, "community", "singlevaluelist", True, [(n, n) for n in communities]),
            attribute(2, "household", "string", True),
            attribute(3, "common_part", "singlevaluelist", True, yes_no),
            attribute(4, "place", "string", False),
            attribute(5, "urgent", "singlevaluelist", False, yes_no),
        ],
    }


# Reading requests


@dataclass(frozen=True)
class Search:
    """A GET requests query, read and checked."""

    start: datetime | None = None
    end: datetime | None = None
    closed: bool | None = None  # None: open and closed
    service_codes: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    page: int = 1
    page_size: int = 1000


def moment(typed: str, zone: tzinfo) -> datetime:
    """A w3 datetime with its offset (``2026-12-01T00:00:00+08:00``, ``...Z``), or a day
    (its midnight on the city's clock)."""
    # An offset's "+" left unescaped in a query string arrives as a space.
    typed = typed.strip().replace(" ", "+")
    try:
        if len(typed) == 10:
            return datetime.combine(datetime.fromisoformat(typed).date(), time(), tzinfo=zone)
        found = datetime.fromisoformat(typed)
    except ValueError:
        raise CityError("open311.bad_date", typed=typed) from None
    if found.tzinfo is None:  # the spec wants the offset: a guess could be hours out
        raise CityError("open311.bad_date", typed=typed)
    return found


def _whole(typed: str, name: str, most: int) -> int:
    if not typed.isdigit() or not 1 <= int(typed) <= most:
        raise CityError("open311.bad_number", name=name, most=most)
    return int(typed)


def search_of(query: Mapping[str, str], zone: tzinfo, page_size: int) -> Search:
    """The search a GET requests query asks for; anything malformed is refused."""
    statuses = set(filter(None, query.get("status", "").split(",")))
    if not statuses <= {"open", "closed"}:
        raise CityError("open311.bad_status", typed=query["status"])
    codes = tuple(filter(None, query.get("service_code", "").split(",")))
    for code in codes:
        _known_service(code)
    start, end = (
        moment(query[k], zone) if k in query else None for k in ("start_date", "end_date")
    )
    if start is not None and end is not None and end < start:
        raise CityError("open311.dates_reversed")
    return Search(
        start=start,
        end=end,
        closed=None if len(statuses) != 1 else statuses == {"closed"},
        service_codes=codes,
        numbers=tuple(filter(None, query.get("service_request_id", "").split(","))),
        page=_whole(query.get("page", "1"), "page", 10**6),
        page_size=_whole(query.get("page_size", str(page_size)), "page_size", page_size),
    )


@dataclass(frozen=True)
class Context:
    """What rendering a request needs beyond the request."""

    language: str
    zone: tzinfo
    rules: RepairSettings
    media_base: str  # the address under which a request's first photo is served


async def find(session: AsyncSession, search: Search, context: Context) -> list[dict[str, Any]]:
    """The requests the search selects, newest first, one page of them."""
    statement = select(RepairRequest)
    if search.numbers:
        statement = statement.where(col(RepairRequest.number).in_(search.numbers))
    elif search.start is None and search.end is None:
        since = datetime.now(context.zone) - timedelta(days=DEFAULT_DAYS)
        statement = statement.where(col(RepairRequest.created_at) >= since)
    if search.start is not None:
        statement = statement.where(col(RepairRequest.created_at) >= search.start)
    if search.end is not None:
        # Times are shown to the second: an end_date copied from one includes it.
        until = search.end.replace(microsecond=0) + timedelta(seconds=1)
        statement = statement.where(col(RepairRequest.created_at) < until)
    if search.closed is not None:
        states = col(RepairRequest.state)
        statement = statement.where(states.in_(CLOSED) if search.closed else states.not_in(CLOSED))
    if search.service_codes:
        statement = statement.where(col(RepairRequest.category).in_(search.service_codes))
    statement = (
        statement.order_by(col(RepairRequest.id).desc())
        .offset((search.page - 1) * search.page_size)
        .limit(search.page_size)
    )
    return await _records(session, list(await session.exec(statement)), context)


async def one(session: AsyncSession, number: str, context: Context) -> dict[str, Any]:
    """The request numbered ``number`` (``JX-2026-000123``)."""
    request = (
        await session.exec(select(RepairRequest).where(RepairRequest.number == number))
    ).first()
    if request is None:
        raise CityError("open311.unknown_request", number=number)
    return (await _records(session, [request], context))[0]


async def _records(
    session: AsyncSession, requests: list[RepairRequest], context: Context
) -> list[dict[str, Any]]:
    """The requests in Open311's fields; their places read in one statement."""
    places = {
        household_id: (community, building, unit)
        for household_id, unit, community, building in await session.exec(
            select(Household.id, Household.unit, Community, Building)
            .join(Building, col(Building.id) == Household.building_id)
            .join(Community, col(Community.id) == Building.community_id)
            .where(col(Household.id).in_({request.household_id for request in requests}))
        )
    }
    return [_record(request, *places[request.household_id], context) for request in requests]


def _record(
    request: RepairRequest, community: Community, building: Building, unit: str, context: Context
) -> dict[str, Any]:
    language, zone = context.language, context.zone
    agency = agency_of(request, community, language)
    # The building and unit only: the room would name the household.
    where = {
        "community": community.name,
        "building": building_text(language, building.name, building.spelling),
        "unit": unit,
    }
    address = text(language, "address.building_unit" if unit else "address.building", **where)
    return {
        "service_request_id": request.number,
        "status": "closed" if request.state in CLOSED else "open",
        "status_notes": text(language, f"repair.state_{request.state}"),
        "service_name": text(language, f"repair.category_{request.category}"),
        "service_code": request.category,
        "description": request.description,
        "agency_responsible": agency,
        "service_notice": text(language, "open311.notice", agency=agency),
        "requested_datetime": _shown(request.created_at, zone),
        "updated_datetime": _shown(request.updated_at, zone),
        "expected_datetime": _shown(expected(request, context.rules), zone),
        "address": address,
        "lat": request.latitude,
        "long": request.longitude,
        "media_url": f"{context.media_base}/{request.number}" if request.photos else None,
    }


def agency_of(request: RepairRequest, community: Community, language: str) -> str:
    """Who takes the request by its route: the fund, the community's property manager (by
    the name registered), or the ordinary channel."""
    if request.route == RepairRoute.PROPERTY and community.property_manager:
        return community.property_manager
    return text(language, f"repair.route_{request.route}")


def expected(request: RepairRequest, rules: RepairSettings) -> datetime | None:
    """By when staff are to act: an urgent request not yet accepted is chased after
    ``triage_reminder_hours`` (the flow's one deadline); none otherwise."""
    if request.urgent and request.state == RepairState.SUBMITTED:
        return request.created_at + timedelta(hours=rules.triage_reminder_hours)
    return None


def _shown(moment: datetime | None, zone: tzinfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


# Filing a hotline's request


def _yes_no(form: Mapping[str, str], name: str, default: str | None = None) -> bool:
    typed = form.get(f"attribute[{name}]", default)
    if typed not in (TRUE, FALSE):
        raise CityError("open311.bad_attribute", name=name, values=f"{TRUE}, {FALSE}")
    return typed == TRUE


def _coordinate(form: Mapping[str, str], name: str, most: float) -> float | None:
    typed = form.get(name)
    if typed is None:
        return None
    try:
        value = float(typed)
    except ValueError:
        value = float("nan")
    if not -most <= value <= most:  # also refuses nan
        raise CityError("open311.bad_coordinate", name=name)
    return value


async def file_from(
    session: AsyncSession, caller: Caller, form: Mapping[str, str], context: Context
) -> dict[str, Any]:
    """File a city system's request into the repair flow, as a resident's report is filed:
    the same numbering, routing and staff queue. Every field is checked before anything is
    written."""
    code = form.get("service_code", "")
    if code not in repair.CATEGORIES:
        raise CityError("open311.unknown_service", code=code)
    description = repair.checked_description(form.get("description", ""))
    community_name = form.get("attribute[community]", "")
    community = (
        await session.exec(select(Community).where(Community.name == community_name))
    ).first()
    if community is None or community.id is None:
        raise CityError("open311.unknown_community", name=community_name)
    if not caller.may_file_for(community.id):
        raise CityError("open311.community_not_allowed", name=community_name)
    typed_household = form.get("attribute[household]", "")
    household_id = await offline.household_at(session, community.id, typed_household)
    if household_id is None:
        raise CityError("open311.unknown_household", typed=typed_household, name=community_name)
    common_part = _yes_no(form, "common_part")
    household, building = (
        await session.exec(
            select(Household, Building)
            .join(Building, col(Building.id) == Household.building_id)
            .where(Household.id == household_id)
        )
    ).one()
    place = repair.place_of(building, household, common_part)
    if common_part and form.get("attribute[place]", "").strip():
        place = repair.checked_spot(form["attribute[place]"])
    report = repair.Report(
        category=code,
        common_part=common_part,
        place=place,
        urgent=_yes_no(form, "urgent", FALSE),
        description=description,
        latitude=_coordinate(form, "lat", 90),
        longitude=_coordinate(form, "long", 180),
    )
    actor = Actor(via="open311")
    request = await repair.file_report(
        session, household_id, report, actor, context.rules, context.zone
    )
    # Under the key, not the request: the request's own history is its moves.
    record(session, actor, "open311/filed", f"apikey:{caller.key_id}", number=request.number)
    agency = agency_of(request, community, context.language)
    return {
        "service_request_id": request.number,
        "service_notice": text(context.language, "open311.notice", agency=agency),
        "account_id": None,
    }


async def first_photo(session: AsyncSession, number: str) -> str:
    """The Telegram file id of the request's first photo."""
    photos = (
        await session.exec(select(RepairRequest.photos).where(RepairRequest.number == number))
    ).first()
    if not photos:
        raise CityError("open311.no_media", number=number)
    return photos[0]
