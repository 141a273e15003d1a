"""Repair requests: intake, routing to the emergency repair fund, the state machine, money.

A resident reports a repair in a dialogue held in the database; on submit
the request gets a number (JX-2026-000123) and is routed. The emergency
repair fund (危急维修资金) takes it when all hold: the community was delivered
before the cutoff year, it has no maintenance fund, the request concerns a
common part, and it is urgent or of an emergency category. Everything else
goes to the community's property manager, or to the ordinary channel where
none is registered. The flow records why; staff may override with a reason.

States move only along ``TRANSITIONS``, each made by the party it names,
through the shared engine (``bot.flows.transitions``); anything else, and a
move somebody else made first, is refused with a reason and changes nothing.
Every move is an audit event and a message to the household. The one move
that stays in its state, estimated to estimated, revises the estimate before
the money is approved: the household is told the old and the new figures.
Money is integer fen: the owners' share (with the community's public income) is
rounded half up to the fen and the government's is the rest, so the two
always add up to the cost. The split is made from the estimate, and again
from the final cost when the work is done; the fund report counts the final
cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from babel.dates import format_timedelta
from sqlalchemy import ColumnElement, CompoundSelect, and_, bindparam, union_all, update
from sqlalchemy import select as select_columns
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import RepairSettings
from bot.flows import dialogues, outbox
from bot.flows.audit import Actor, record
from bot.flows.callback_data import RESIDENT_MOVES, QueueShow, RepairAnswer
from bot.flows.outbox import Button
from bot.flows.refusal import Refusal
from bot.flows.registry import (
    Address,
    StaffMember,
    address_of,
    address_text,
    building_text,
    community_or_none,
)
from bot.flows.transitions import Guard, Machine, Party, Transition, clean_note
from bot.i18n import LANGUAGES, text
from storage.models import (
    AuditEvent,
    Building,
    Community,
    Household,
    RepairCounter,
    RepairRequest,
    RepairRoute,
    RepairState,
    Resident,
    Role,
    Staff,
    StaffCommunity,
    User,
)
from storage.types import utcnow
from storage.upsert import insert_if_absent

CATEGORIES = (
    "roof_leak",
    "wall_seepage",
    "water_pipe",
    "drainage",
    "power",
    "gas",
    "lift",
    "fire_equipment",
    "stairwell",
    "fall_hazard",
    "other",
)
MAX_PHOTOS = 5
DIALOGUE = "repair"
# Two characters already say a lot in Chinese: 漏水, 停电.
DESCRIPTION_LENGTH = (2, 2000)
SPOT_LENGTH = 200
ANSWER_DIALOGUE = "repair_answer"


class RepairError(Refusal):
    """A request the repair flow refuses; ``reason`` is a catalogue key."""


S = RepairState
STAFF, RESIDENT = Party.STAFF, Party.RESIDENT
# Estimating and approving are the fund's; outside it work starts once accepted.
FUND = Guard(lambda request: request.route == RepairRoute.FUND, "repair.fund_only")
OUTSIDE_FUND = Guard(
    lambda request: request.route != RepairRoute.FUND, "repair.fund_needs_approval"
)
# Staff's moves are offered in this order on a request's card.
TRANSITIONS = (
    Transition(S.SUBMITTED, S.TRIAGED, STAFF, "acc", "queue.do_acc"),
    Transition(S.SUBMITTED, S.REJECTED, STAFF, "rej", "queue.do_rej", needs_note=True),
    Transition(S.TRIAGED, S.ESTIMATED, STAFF, "est", "queue.do_est", FUND),
    Transition(S.TRIAGED, S.IN_PROGRESS, STAFF, "go", "queue.do_go", OUTSIDE_FUND),
    Transition(S.TRIAGED, S.REJECTED, STAFF, "rej", "queue.do_rej", needs_note=True),
    Transition(S.ESTIMATED, S.APPROVED, STAFF, "ok", "queue.do_ok", FUND),
    # The estimate revised before the money is approved: the state stays.
    Transition(S.ESTIMATED, S.ESTIMATED, STAFF, "est", "queue.do_revise", FUND),
    Transition(S.APPROVED, S.IN_PROGRESS, STAFF, "go", "queue.do_go"),
    # A fund repair is done at its final cost, any other with a press.
    Transition(S.IN_PROGRESS, S.DONE, STAFF, "fin", "queue.do_fin", FUND),
    Transition(S.IN_PROGRESS, S.DONE, STAFF, "done", "queue.do_done", OUTSIDE_FUND),
    Transition(S.DONE, S.CLOSED, STAFF, "close", "queue.do_close"),  # the resident did not answer
    Transition(S.REOPENED, S.IN_PROGRESS, STAFF, "go", "queue.do_go"),
    Transition(S.DONE, S.CONFIRMED, RESIDENT, "ok", "repair.confirm_button"),
    Transition(S.DONE, S.REOPENED, RESIDENT, "re", "repair.reopen_button", needs_note=True),
    Transition(S.SUBMITTED, S.WITHDRAWN, RESIDENT, "wd", "repair.withdraw_button"),
    Transition(S.TRIAGED, S.WITHDRAWN, RESIDENT, "wd", "repair.withdraw_button"),
)
MACHINE = Machine(
    TRANSITIONS,
    refusal=RepairError,
    not_allowed="repair.not_allowed",
    note_needed="repair.reason_needed",
    moved_meanwhile="repair.changed_meanwhile",
    state_label="repair.state_{}",
)
FINISHED = {S.CONFIRMED, S.CLOSED, S.REJECTED, S.WITHDRAWN}
USED_THE_FUND = {S.DONE, S.CONFIRMED, S.CLOSED}
PAGE_SIZE = 20  # lines of a list in one message: enough to scan, short enough to read


# Money


def split(cost_fen: int, owners_percent: int) -> tuple[int, int]:
    """(owners and public income, government) in fen; always adds up to ``cost_fen``."""
    owners = (cost_fen * owners_percent * 2 + 100) // 200  # half up
    return owners, cost_fen - owners


# Routing


@dataclass(frozen=True)
class Routing:
    route: RepairRoute
    reasons: list[str]  # catalogue keys, one per condition that decided it


def route_for(
    community: Community, common_part: bool, urgent: bool, category: str, rules: RepairSettings
) -> Routing:
    """Where a request goes, and why: every condition of the fund when all are met,
    else only those that are not (a met one is no reason against the fund)."""
    old = community.delivery_year is not None and (
        community.delivery_year < rules.fund_delivered_before
    )
    conditions = [  # (met, said when met, said when not)
        (old, "repair.why_old", "repair.why_new"),
        (not community.has_maintenance_fund, "repair.why_no_fund", "repair.why_has_fund"),
        (common_part, "repair.why_common", "repair.why_own"),
        (
            urgent or category in rules.emergency_categories,
            "repair.why_emergency",
            "repair.why_not_emergency",
        ),
    ]
    if all(met for met, _, _ in conditions):
        return Routing(RepairRoute.FUND, [when_met for _, when_met, _ in conditions])
    fallback = RepairRoute.PROPERTY if community.property_manager else RepairRoute.ORDINARY
    return Routing(fallback, [when_not for met, _, when_not in conditions if not met])


# Intake: a dialogue held in the database

NEXT_STEP = {
    "category": "place",
    "spot": "urgent",
    "urgent": "description",
    "description": "photos",
    "photos": "location",
    "location": "confirm",
}


@dataclass(frozen=True)
class Draft:
    step: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def photos(self) -> list[str]:
        return self.data.get("photos", [])


async def _household_of(session: AsyncSession, telegram_id: int) -> int:
    household_id = (
        await session.exec(select(Resident.household_id).where(Resident.telegram_id == telegram_id))
    ).first()
    if household_id is None:
        raise RepairError("repair.unbound")
    return household_id


async def _building_of(session: AsyncSession, household_id: int) -> tuple[Building, Household]:
    household = await session.get(Household, household_id)
    return await session.get(Building, household.building_id), household


async def start_intake(session: AsyncSession, telegram_id: int) -> Draft:
    """Begin a report (replacing any dialogue the resident had open)."""
    await _household_of(session, telegram_id)
    await dialogues.start(session, telegram_id, DIALOGUE, step="category", trail=[])
    return Draft("category", {})


async def draft_of(session: AsyncSession, telegram_id: int) -> Draft:
    dialogue = await dialogues.current(session, telegram_id)
    if dialogue is None or dialogue.kind != DIALOGUE:
        raise RepairError("repair.no_draft")
    return Draft(dialogue.data["step"], dict(dialogue.data))


async def _advance(
    session: AsyncSession, telegram_id: int, expected: str, next_step: str, **changes: Any
) -> Draft:
    current = await draft_of(session, telegram_id)
    if current.step != expected:
        raise RepairError("repair.wrong_step")
    data = {**current.data, **changes, "step": next_step}
    data["trail"] = [*current.data.get("trail", []), expected]
    await dialogues.start(session, telegram_id, DIALOGUE, **data)
    return Draft(next_step, data)


async def choose_category(session: AsyncSession, telegram_id: int, category: str) -> Draft:
    if category not in CATEGORIES:
        raise RepairError("button.stale")
    return await _advance(session, telegram_id, "category", "place", category=category)


async def choose_place(session: AsyncSession, telegram_id: int, common_part: bool) -> Draft:
    """Their own flat, or a common part (where exactly comes next; default their building)."""
    household_id = await _household_of(session, telegram_id)
    building, household = await _building_of(session, household_id)
    place = place_of(building, household, common_part)
    if common_part:
        return await _advance(session, telegram_id, "place", "spot", common_part=True, place=place)
    return await _advance(session, telegram_id, "place", "urgent", common_part=False, place=place)


def place_of(building: Building, household: Household, common_part: bool) -> str:
    """Where a report is by default: the building for a common part, else the flat."""
    # The registry keeps "1" for "1幢"; the place is written as the residents know it.
    name = building_text("zh_Hans", building.name, building.spelling)
    if common_part:
        return name
    return (
        f"{name}{household.unit}-{household.room}" if household.unit else f"{name}{household.room}"
    )


async def set_spot(session: AsyncSession, telegram_id: int, spot: str | None) -> Draft:
    """Where in the common parts; None keeps the default (their building)."""
    current = await draft_of(session, telegram_id)
    place = current.data.get("place", "")
    if spot is not None:
        place = checked_spot(spot)
    return await _advance(session, telegram_id, "spot", "urgent", place=place)


def checked_spot(spot: str) -> str:
    spot = spot.strip()
    if not 0 < len(spot) <= SPOT_LENGTH:
        raise RepairError("repair.spot_length", limit=SPOT_LENGTH)
    return spot


async def choose_urgency(session: AsyncSession, telegram_id: int, urgent: bool) -> Draft:
    return await _advance(session, telegram_id, "urgent", "description", urgent=urgent)


async def set_description(session: AsyncSession, telegram_id: int, text: str) -> Draft:
    text = checked_description(text)
    return await _advance(session, telegram_id, "description", "photos", description=text)


def checked_description(text: str) -> str:
    text = text.strip()
    least, most = DESCRIPTION_LENGTH
    if not least <= len(text) <= most:
        raise RepairError("repair.description_length", least=least, most=most)
    return text


async def add_photo(session: AsyncSession, telegram_id: int, file_id: str) -> Draft:
    current = await draft_of(session, telegram_id)
    if current.step != "photos":
        raise RepairError("repair.wrong_step")
    if len(current.photos) >= MAX_PHOTOS:
        raise RepairError("repair.too_many_photos", most=MAX_PHOTOS)
    data = {**current.data, "photos": [*current.photos, file_id]}
    await dialogues.start(session, telegram_id, DIALOGUE, **data)
    return Draft("photos", data)


async def photos_done(session: AsyncSession, telegram_id: int) -> Draft:
    return await _advance(session, telegram_id, "photos", "location")


async def set_location(
    session: AsyncSession, telegram_id: int, latitude: float | None, longitude: float | None
) -> Draft:
    return await _advance(
        session, telegram_id, "location", "confirm", latitude=latitude, longitude=longitude
    )


async def back(session: AsyncSession, telegram_id: int) -> Draft:
    """One step back; at the first step there is nowhere to go."""
    current = await draft_of(session, telegram_id)
    trail = list(current.data.get("trail", []))
    if not trail:
        raise RepairError("repair.first_step")
    previous = trail.pop()
    data = {**current.data, "step": previous, "trail": trail}
    if previous == "photos":
        data["photos"] = []
    await dialogues.start(session, telegram_id, DIALOGUE, **data)
    return Draft(previous, data)


async def _next_number(session: AsyncSession, year: int) -> int:
    """The year's next sequence number, under a row lock so two processes never share one."""
    await insert_if_absent(session, RepairCounter, year=year)
    result = await session.exec(
        update(RepairCounter)
        .where(col(RepairCounter.year) == year)
        .values(last=RepairCounter.last + 1)
        .returning(RepairCounter.last)
    )
    return result.scalar_one()


async def submit(
    session: AsyncSession, telegram_id: int, actor: Actor, rules: RepairSettings, zone: tzinfo
) -> RepairRequest:
    """File the drafted request; the draft ends with it, so a repeated press files nothing."""
    current = await draft_of(session, telegram_id)
    if current.step != "confirm":
        raise RepairError("repair.wrong_step")
    data = current.data
    report = Report(
        category=data["category"],
        common_part=data["common_part"],
        place=data.get("place", ""),
        urgent=data["urgent"],
        description=data["description"],
        photos=data.get("photos", []),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
    )
    household_id = await _household_of(session, telegram_id)
    request = await file_report(session, household_id, report, actor, rules, zone, telegram_id)
    await dialogues.finish(session, telegram_id)
    return request


@dataclass(frozen=True)
class Report:
    """What a household reports, whichever door it came through: the bot, a city's hotline."""

    category: str
    common_part: bool
    place: str
    urgent: bool
    description: str
    photos: list[str] = field(default_factory=list)  # Telegram file ids
    latitude: float | None = None
    longitude: float | None = None


async def file_report(
    session: AsyncSession,
    household_id: int,
    report: Report,
    actor: Actor,
    rules: RepairSettings,
    zone: tzinfo,
    reporter_telegram_id: int | None = None,
) -> RepairRequest:
    """Number, route and file the household's report, and tell the community's staff."""
    building, _ = await _building_of(session, household_id)
    community = await community_with_id(session, building.community_id)
    routing = route_for(community, report.common_part, report.urgent, report.category, rules)
    now = utcnow()
    year = now.astimezone(zone).year
    sequence = await _next_number(session, year)
    request = RepairRequest(
        number=f"{rules.number_prefix}-{year}-{sequence:06d}",
        year=year,
        sequence=sequence,
        household_id=household_id,
        community_id=building.community_id,
        reporter_telegram_id=reporter_telegram_id,
        category=report.category,
        common_part=report.common_part,
        place=report.place,
        urgent=report.urgent,
        description=report.description,
        photos=report.photos,
        latitude=report.latitude,
        longitude=report.longitude,
        route=routing.route,
        route_reasons=routing.reasons,
    )
    session.add(request)
    await session.flush()
    record(
        session,
        actor,
        "repair/submitted",
        f"repair:{request.id}",
        number=request.number,
        route=request.route,
        reasons=routing.reasons,
    )
    what_and_where = await _what_and_where(session, request)
    await _tell_staff(session, request, "repair.new_for_staff", **what_and_where)
    await _hand_to_property_manager(session, request, community, what_and_where, actor)
    return request


# Who may see and act


async def request_for_resident(
    session: AsyncSession, request_id: int, telegram_id: int
) -> RepairRequest:
    """The request, if it belongs to the resident's household."""
    request = await session.get(RepairRequest, request_id)
    household_id = await _household_of(session, telegram_id)
    if request is None or request.household_id != household_id:
        raise RepairError("repair.not_found")
    return request


async def request_for_staff(
    session: AsyncSession, request_id: int, member: StaffMember
) -> RepairRequest:
    request = await session.get(RepairRequest, request_id)
    if request is None or not member.serves(request.community_id):
        raise RepairError("repair.not_found")
    return request


# Moves


async def _move(
    session: AsyncSession,
    request: RepairRequest,
    to: RepairState,
    party: Party,
    actor: Actor,
    note: str | None = None,
    **changes: Any,
) -> RepairRequest:
    MACHINE.check(request, to, party, note)
    if to == S.DONE and request.route == RepairRoute.FUND and "cost_fen" not in changes:
        raise RepairError("repair.final_cost_needed")
    note = clean_note(note)
    source = RepairState(request.state)
    revised = source == to  # the estimate revised
    was = {name: getattr(request, name) for name in changes if name.endswith("_fen")}
    previous_estimate = yuan(request.estimate_fen)
    # Two revisions of an estimate leave the state as it was: of two at once only the one
    # made from the figures as they were wins.
    await MACHINE.move(
        session, request, to, party, note, values={"updated_at": utcnow(), **changes}, unchanged=was
    )
    record(
        session,
        actor,
        "repair/estimate_revised" if revised else f"repair/{to}",
        f"repair:{request.id}",
        state_from=source.value,
        state_to=to.value,
        note=note,
        **{name: changes[name] for name in was},
        **{f"previous_{name}": value for name, value in was.items()},
    )
    if revised:
        key = "repair.now_estimate_revised"
        await _tell_household(session, request, note, key, previous=previous_estimate)
    else:
        await _tell_household(session, request, note)
    return request


async def staff_move(
    session: AsyncSession,
    request_id: int,
    to: RepairState,
    member: StaffMember,
    actor: Actor,
    note: str | None = None,
) -> RepairRequest:
    """Accept, reject, approve, start, finish or close, as the table allows.

    A fund repair is finished with ``finish_fund_repair``: it needs its final cost.
    """
    request = await request_for_staff(session, request_id, member)
    changes: dict[str, Any] = {}
    if to == S.DONE:
        changes["done_at"] = utcnow()
    return await _move(session, request, to, STAFF, actor, note, **changes)


def _priced(column: str, cost_fen: int | None, rules: RepairSettings) -> dict[str, int]:
    """``column`` set to ``cost_fen``, with the two shares split from it."""
    if cost_fen is None or cost_fen <= 0:
        raise RepairError("repair.bad_amount")
    owners, government = split(cost_fen, rules.owners_percent)
    return {column: cost_fen, "owners_fen": owners, "government_fen": government}


async def estimate(
    session: AsyncSession,
    request_id: int,
    cost_fen: int,
    member: StaffMember,
    actor: Actor,
    rules: RepairSettings,
) -> RepairRequest:
    """Set the fund request's cost estimate and its split, or revise them until approved."""
    request = await request_for_staff(session, request_id, member)
    changes = _priced("estimate_fen", cost_fen, rules)
    if request.state == S.ESTIMATED and cost_fen == request.estimate_fen:
        raise RepairError("repair.same_estimate", estimate=yuan(cost_fen))
    return await _move(session, request, S.ESTIMATED, STAFF, actor, **changes)


async def finish_fund_repair(
    session: AsyncSession,
    request_id: int,
    cost_fen: int | None,
    member: StaffMember,
    actor: Actor,
    rules: RepairSettings,
) -> RepairRequest:
    """Mark a fund repair done at its final cost (None: the estimate, unchanged).

    A real repair rarely costs exactly its estimate: the shares are split
    again from the final cost, and the fund report counts that.
    """
    request = await request_for_staff(session, request_id, member)
    if request.route != RepairRoute.FUND:
        raise RepairError("repair.fund_only")
    final = request.estimate_fen if cost_fen is None else cost_fen
    changes = _priced("cost_fen", final, rules)
    return await _move(session, request, S.DONE, STAFF, actor, done_at=utcnow(), **changes)


async def resident_move(
    session: AsyncSession,
    request_id: int,
    to: RepairState,
    telegram_id: int,
    actor: Actor,
    note: str | None = None,
) -> RepairRequest:
    """Confirm the repair, reopen it (with a reason: staff hear it) or withdraw the request."""
    request = await request_for_resident(session, request_id, telegram_id)
    moved = await _move(session, request, to, RESIDENT, actor, note)
    if to == S.REOPENED:
        await _tell_staff(session, moved, "repair.reopened_for_staff", reason=note.strip())
    return moved


async def rate(
    session: AsyncSession, request_id: int, telegram_id: int, stars: int, actor: Actor
) -> RepairRequest:
    request = await request_for_resident(session, request_id, telegram_id)
    if request.state != S.CONFIRMED or request.rating is not None or not 1 <= stars <= 5:
        raise RepairError("repair.cannot_rate")
    request.rating = stars
    record(session, actor, "repair/rated", f"repair:{request.id}", stars=stars)
    return request


async def reroute(
    session: AsyncSession,
    request_id: int,
    route: RepairRoute,
    reason: str,
    member: StaffMember,
    actor: Actor,
) -> RepairRequest:
    """Staff send a request to the fund or away from it, with a recorded reason.

    Away from the fund means to the community's property manager, or to the
    ordinary channel where none is registered, as routing decides.
    """
    request = await request_for_staff(session, request_id, member)
    reason = reason.strip()
    if not reason:
        raise RepairError("repair.reason_needed")
    if route != RepairRoute.FUND:
        community = await community_with_id(session, request.community_id)
        route = RepairRoute.PROPERTY if community.property_manager else RepairRoute.ORDINARY
    if request.state not in (S.SUBMITTED, S.TRIAGED) or request.route == route:
        raise RepairError("repair.cannot_reroute")
    previous, request.route = request.route, route
    request.route_override = reason[:500]
    request.updated_at = utcnow()
    record(
        session,
        actor,
        "repair/rerouted",
        f"repair:{request.id}",
        route_from=previous,
        route_to=route.value,
        note=reason,
    )
    if route == RepairRoute.PROPERTY:
        what_and_where = await _what_and_where(session, request)
        sent = await _hand_to_property_manager(session, request, community, what_and_where, actor)
        key = "repair.rerouted_property_sent" if sent else "repair.rerouted_property_contact"
        await _tell_household(session, request, reason, key=key, manager=community.property_manager)
        return request
    route_names = {language: text(language, f"repair.route_{route}") for language in LANGUAGES}
    await _tell_household(session, request, reason, key="repair.rerouted", route=route_names)
    return request


async def community_with_id(session: AsyncSession, community_id: int) -> Community:
    return (await session.exec(select(Community).where(Community.id == community_id))).one()


async def reachable_property_manager(session: AsyncSession, community: Community) -> int | None:
    """The property manager's Telegram account, if the bot may write to it: registered,
    written to the bot (Telegram lets a bot write to nobody else) and not blocked it."""
    telegram_id = community.property_manager_telegram_id
    if telegram_id is None:
        return None
    user = await session.get(User, telegram_id)
    return telegram_id if user is not None and user.unreachable_since is None else None


async def _hand_to_property_manager(
    session: AsyncSession,
    request: RepairRequest,
    community: Community,
    what_and_where: dict[str, object],
    actor: Actor,
) -> bool:
    """Send a request routed to the property manager to their Telegram account; False
    where they have none the bot can reach, and the household is to call them."""
    if request.route != RepairRoute.PROPERTY:
        return False
    manager = await reachable_property_manager(session, community)
    if manager is None:
        return False
    await outbox.enqueue(
        session,
        "repair/property",
        [manager],
        "repair.for_property_manager",
        subject=f"repair:{request.id}:property",
        values={"number": request.number, "description": request.description, **what_and_where},
    )
    record(session, actor, "repair/to_property", f"repair:{request.id}", telegram_id=manager)
    return True


async def ask_resident(
    session: AsyncSession, request_id: int, question: str, member: StaffMember, actor: Actor
) -> RepairRequest:
    """Staff ask the household for more; the answer comes back into the request."""
    request = await request_for_staff(session, request_id, member)
    question = question.strip()
    if not 0 < len(question) <= 1000 or request.state in FINISHED:
        raise RepairError("repair.cannot_ask")
    request.question = question
    record(session, actor, "repair/asked", f"repair:{request.id}", note=question)
    await outbox.enqueue(
        session,
        "repair/status",
        await _household_residents(session, request.household_id),
        "repair.question",
        subject=f"repair:{request.id}:ask:{utcnow().isoformat()}",
        values={"number": request.number, "question": question},
        buttons=[[Button("repair.answer_button", RepairAnswer(request.id).pack())]],
    )
    return request


def awaits_answer() -> ColumnElement[bool]:
    """A request whose staff wait for the household's answer to a question they asked."""
    return and_(col(RepairRequest.question).is_not(None), col(RepairRequest.state).not_in(FINISHED))


async def answer(
    session: AsyncSession, request_id: int, telegram_id: int, text: str, actor: Actor
) -> RepairRequest:
    request = await request_for_resident(session, request_id, telegram_id)
    text = text.strip()
    if request.question is None or not 0 < len(text) <= 2000:
        raise RepairError("repair.cannot_answer")
    record(
        session,
        actor,
        "repair/answered",
        f"repair:{request.id}",
        question=request.question,
        note=text,
    )
    request.question = None
    request.description += f"\n\n{text}"
    await dialogues.finish(session, telegram_id)
    await _tell_staff(session, request, "repair.answered_for_staff", answer=text)
    return request


# Messages


async def _household_residents(session: AsyncSession, household_id: int) -> list[int]:
    statement = select(Resident.telegram_id).where(Resident.household_id == household_id)
    return list(await session.exec(statement))


def _staff_of_community_statement() -> CompoundSelect:
    serving = select_columns(col(StaffCommunity.staff_telegram_id)).where(
        col(StaffCommunity.community_id) == bindparam("community_id")
    )
    admins_instead = select_columns(col(Staff.telegram_id)).where(
        col(Staff.role) == Role.ADMIN, ~serving.exists()
    )
    return union_all(serving, admins_instead)


# Built once: a resident's every question and report asks it.
STAFF_OF_COMMUNITY = _staff_of_community_statement()


async def staff_of_community(session: AsyncSession, community_id: int) -> list[int]:
    """Who hears of a community's repairs, questions and observations: its staff, or the
    admins where it has none, so that nothing a resident sends waits for nobody."""
    connection = await session.connection()
    found = await connection.execute(STAFF_OF_COMMUNITY, {"community_id": community_id})
    return list(found.scalars())


async def admins(session: AsyncSession) -> list[int]:
    return list(await session.exec(select(Staff.telegram_id).where(Staff.role == Role.ADMIN)))


async def _tell_household(
    session: AsyncSession,
    request: RepairRequest,
    note: str | None,
    key: str | None = None,
    **values: object,
) -> None:
    buttons: list[list[Button]] = []
    if request.state == S.DONE:  # the household is asked whether it is fixed
        buttons = [
            [
                Button(move.label, RESIDENT_MOVES[move.action](request.id).pack())
                for move in MACHINE.available(request, RESIDENT)
            ]
        ]
    await outbox.enqueue(
        session,
        "repair/status",
        await _household_residents(session, request.household_id),
        key or _status_key(request),
        subject=f"repair:{request.id}:{request.state}:{request.updated_at.isoformat()}",
        values=money_values(request) | {"number": request.number, "note": note or "—"} | values,
        buttons=buttons,
    )


def _status_key(request: RepairRequest) -> str:
    """What the household is told of a new state; a fund repair's end names its final cost."""
    if request.state == S.DONE and request.route == RepairRoute.FUND:
        return "repair.now_done_fund"
    return f"repair.now_{request.state}"


async def _tell_staff(
    session: AsyncSession, request: RepairRequest, key: str, **values: object
) -> None:
    await outbox.enqueue(
        session,
        "repair/staff",
        await staff_of_community(session, request.community_id),
        key,
        subject=f"repair:{request.id}:{key}:{utcnow().isoformat()}",
        values={"number": request.number, **values},
        buttons=[[Button("repair.show_button", QueueShow(request.id).pack())]],
    )


async def _what_and_where(session: AsyncSession, request: RepairRequest) -> dict[str, object]:
    """What staff read first of a request, in each reader's language: the household, the
    category, the urgency, the place and the request's age when it was sent."""
    address = await address_of(session, request.household_id)
    return {
        "place": request.place,
        **{
            name: {language: words(language) for language in LANGUAGES}
            for name, words in {
                "address": lambda language: address_text(language, address),
                "category": lambda language: text(language, f"repair.category_{request.category}"),
                "urgent": lambda language: text(language, urgency_key(request)),
                "age": lambda language: age(language, request.created_at),
            }.items()
        },
    }


def urgency_key(request: RepairRequest) -> str:
    return "repair.urgent_yes" if request.urgent else "repair.urgent_no"


def age(language: str, since: datetime, now: datetime | None = None) -> str:
    """How long ago ``since`` was, as people say it: 「3小时前」, "1 hour ago", "2 days ago"."""
    elapsed = (now or utcnow()) - since
    if elapsed < timedelta(minutes=1):
        return text(language, "repair.age_now")
    return format_timedelta(-elapsed, locale=language, add_direction=True)


async def addresses(session: AsyncSession, requests: list[RepairRequest]) -> dict[int, Address]:
    """The address of each request's household, by household."""
    households = {request.household_id for request in requests}
    return {household: await address_of(session, household) for household in households}


def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    whole, cents = divmod(fen, 100)
    return f"{whole:,}.{cents:02d}"


def money_values(request: RepairRequest) -> dict[str, str]:
    """The amounts as text; the shares are of the final cost once there is one."""
    return {
        "estimate": yuan(request.estimate_fen),
        "cost": yuan(request.cost_fen),
        "owners": yuan(request.owners_fen),
        "government": yuan(request.government_fen),
    }


# Lists and history


@dataclass(frozen=True)
class Page:
    """One page of a list of requests; ``number`` counts from 1."""

    requests: list[RepairRequest]
    number: int
    pages: int


async def _page(session: AsyncSession, statement, order: list, number: int) -> Page:
    """Page ``number`` of the requests ``statement`` selects, in ``order``.

    A page that is not there (the list has shrunk since, or the button was
    forged) is refused with the number of pages there are now.
    """
    total = (await session.exec(select(func.count()).select_from(statement.subquery()))).one()
    pages = max(1, -(-total // PAGE_SIZE))
    if not 1 <= number <= pages:
        raise RepairError("repair.page_gone", pages=pages)
    rows = statement.order_by(*order).offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return Page(list(await session.exec(rows)), number, pages)


async def of_household(session: AsyncSession, telegram_id: int, page: int = 1) -> Page:
    """The household's requests, newest first."""
    household_id = await _household_of(session, telegram_id)
    statement = select(RepairRequest).where(RepairRequest.household_id == household_id)
    return await _page(session, statement, [col(RepairRequest.id).desc()], page)


async def queue(session: AsyncSession, member: StaffMember, page: int = 1) -> Page:
    """Unfinished requests of the member's communities: urgent first, then newest."""
    statement = select(RepairRequest).where(col(RepairRequest.state).not_in(FINISHED))
    if member.role is not Role.ADMIN:
        statement = statement.where(col(RepairRequest.community_id).in_(member.community_ids))
    order = [col(RepairRequest.urgent).desc(), col(RepairRequest.id).desc()]
    return await _page(session, statement, order, page)


async def history(session: AsyncSession, request: RepairRequest) -> list[AuditEvent]:
    statement = (
        select(AuditEvent)
        .where(AuditEvent.subject == f"repair:{request.id}")
        .order_by(col(AuditEvent.id))
    )
    return list(await session.exec(statement))


# Deadlines


async def chase_untriaged(session: AsyncSession, rules: RepairSettings) -> int:
    """Remind staff of urgent requests left untriaged, then escalate to the admins.

    Each happens once per request (its time is recorded), so running this
    often, or in two processes one after the other, sends nothing twice.
    """
    now = utcnow()
    untriaged = select(RepairRequest).where(
        RepairRequest.urgent, RepairRequest.state == S.SUBMITTED
    )
    chased = 0
    remind_before = now - timedelta(hours=rules.triage_reminder_hours)
    for request in await session.exec(
        untriaged.where(
            col(RepairRequest.created_at) <= remind_before,
            col(RepairRequest.staff_reminded_at).is_(None),
        )
    ):
        request.staff_reminded_at = now
        await _tell_staff(
            session, request, "repair.triage_overdue", hours=f"{rules.triage_reminder_hours:g}"
        )
        chased += 1
    escalate_before = now - timedelta(hours=rules.triage_escalation_hours)
    for request in await session.exec(
        untriaged.where(
            col(RepairRequest.created_at) <= escalate_before,
            col(RepairRequest.escalated_at).is_(None),
        )
    ):
        request.escalated_at = now
        record(session, Actor(via="scheduler"), "repair/escalated", f"repair:{request.id}")
        await outbox.enqueue(
            session,
            "repair/staff",
            await admins(session),
            "repair.escalated",
            subject=f"repair:{request.id}:escalated",
            values={"number": request.number, "hours": f"{rules.triage_escalation_hours:g}"},
            buttons=[[Button("repair.show_button", QueueShow(request.id).pack())]],
        )
        chased += 1
    return chased


# The fund report


@dataclass(frozen=True)
class FundLine:
    community: str
    month: str  # YYYY-MM on the city's clock
    uses: int
    cost_fen: int
    owners_fen: int
    government_fen: int


@dataclass(frozen=True)
class FundReport:
    lines: list[FundLine]  # by community, then month

    @property
    def uses(self) -> int:
        return sum(line.uses for line in self.lines)

    @property
    def cost_fen(self) -> int:
        return sum(line.cost_fen for line in self.lines)

    @property
    def owners_fen(self) -> int:
        return sum(line.owners_fen for line in self.lines)

    @property
    def government_fen(self) -> int:
        return sum(line.government_fen for line in self.lines)


async def fund_report(
    session: AsyncSession,
    zone: tzinfo,
    first: date | None = None,
    last: date | None = None,
    community: str | None = None,
) -> FundReport:
    """Uses of the emergency repair fund and their money, done from ``first`` to ``last``
    (both days included, on the city's clock), in one community or all."""
    if first is not None and last is not None and last < first:
        raise RepairError("repair.period_reversed", first=first, last=last)
    statement = (
        select(
            Community.name,
            RepairRequest.done_at,
            RepairRequest.cost_fen,
            RepairRequest.owners_fen,
            RepairRequest.government_fen,
        )
        .join(Community, col(Community.id) == RepairRequest.community_id)
        .where(
            RepairRequest.route == RepairRoute.FUND,
            col(RepairRequest.state).in_(USED_THE_FUND),
        )
    )
    if first is not None:
        statement = statement.where(col(RepairRequest.done_at) >= _midnight(first, zone))
    if last is not None:
        day_after = last + timedelta(days=1)
        statement = statement.where(col(RepairRequest.done_at) < _midnight(day_after, zone))
    if community is not None:
        found = await community_or_none(session, community)
        if found is None:
            raise RepairError("repair.no_community", name=community)
        statement = statement.where(RepairRequest.community_id == found.id)
    totals: dict[tuple[str, str], list[int]] = {}
    for name, done_at, cost, owners, government in await session.exec(statement):
        key = (name, done_at.astimezone(zone).strftime("%Y-%m"))
        figures = totals.setdefault(key, [0, 0, 0, 0])
        for index, amount in enumerate((1, cost or 0, owners or 0, government or 0)):
            figures[index] += amount
    return FundReport(
        [FundLine(name, month, *figures) for (name, month), figures in sorted(totals.items())]
    )


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)
