"""Quality supervisors (工程质量监督员): residents appointed to watch their community's works.

Staff appoint residents of the communities they serve while the community is
under renovation; notices can be addressed to a community's supervisors. A
supervisor reports observations with /inspect; staff acknowledge them, assign
them to the contractor with a note, resolve them or find them not an issue
(with a reason), and the supervisor is told each step. Every week the
community's staff and supervisors get a summary with a chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows import dialogues, outbox
from bot.flows.audit import Actor, record
from bot.flows.callback_data import ObservationShow
from bot.flows.outbox import Button
from bot.flows.refusal import Refusal
from bot.flows.registry import Address, StaffMember, address_of
from bot.flows.repair import staff_of_community
from bot.flows.transitions import Machine, Party, Transition, clean_note
from storage.models import (
    Building,
    Community,
    Dialogue,
    Household,
    Observation,
    ObservationState,
    ProjectStage,
    Renovation,
    Resident,
    Stage,
    Supervisor,
    User,
    WeeklySummary,
)
from storage.types import utcnow
from storage.upsert import insert_if_absent


class SupervisionError(Refusal):
    """A report or a move the supervision flow refuses."""


async def household_at(
    session: AsyncSession, community_id: int, building: str, unit: str, room: str
) -> int:
    statement = (
        select(Household.id)
        .join(Building, col(Building.id) == Household.building_id)
        .where(
            Building.community_id == community_id,
            Building.name == building,
            Household.unit == unit,
            Household.room == room,
        )
    )
    household_id = (await session.exec(statement)).first()
    if household_id is None:
        raise SupervisionError("supervision.no_household")
    return household_id


async def require_under_renovation(session: AsyncSession, community_id: int) -> None:
    """Supervisors watch the works: from round 1 passing (or the project being planned)
    until the handover to the property manager. Refused anywhere else, with the reason."""
    community = await session.get(Community, community_id)
    statement = select(ProjectStage.stage, ProjectStage.reached_at).where(
        ProjectStage.community_id == community_id
    )
    stages = dict((await session.exec(statement)).all())
    coming = community.renovation == Renovation.QUEUED or bool(stages)
    if not coming or stages.get(Stage.HANDOVER) is not None:
        raise SupervisionError("supervision.not_under_renovation", community=community.name)


async def appoint_household(
    session: AsyncSession, community_id: int, household_id: int, actor: Actor
) -> list[int]:
    """Appoint the household's bound residents; returns the newly appointed, who are told."""
    await require_under_renovation(session, community_id)
    residents = list(
        await session.exec(
            select(Resident.telegram_id).where(Resident.household_id == household_id)
        )
    )
    if not residents:
        raise SupervisionError("supervision.nobody_bound")
    appointed = [
        telegram_id
        for telegram_id in residents
        if await insert_if_absent(
            session, Supervisor, community_id=community_id, telegram_id=telegram_id
        )
    ]
    record(
        session,
        actor,
        "supervisor/appoint",
        f"community:{community_id}",
        household_id=household_id,
        appointed=appointed,
    )
    await _tell_of_appointment(session, community_id, appointed, "supervision.you_are_appointed")
    return appointed


async def dismiss(session: AsyncSession, community_id: int, telegram_id: int, actor: Actor) -> None:
    """Dismiss a supervisor: an observation they are writing for the community ends
    unsent, and they are told."""
    removed = await session.exec(
        delete(Supervisor).where(
            col(Supervisor.community_id) == community_id, col(Supervisor.telegram_id) == telegram_id
        )
    )
    if removed.rowcount == 0:
        raise SupervisionError("supervision.not_a_supervisor")
    draft = await _draft(session, telegram_id)
    if draft is not None and draft.data["community"] == community_id:
        await dialogues.finish(session, telegram_id)
    record(
        session, actor, "supervisor/dismiss", f"community:{community_id}", telegram_id=telegram_id
    )
    await _tell_of_appointment(
        session, community_id, [telegram_id], "supervision.you_are_dismissed"
    )


async def _tell_of_appointment(
    session: AsyncSession, community_id: int, recipients: list[int], key: str
) -> None:
    """Tell residents that they became, or are no longer, the community's supervisors."""
    if not recipients:
        return
    community = await session.get(Community, community_id)
    await outbox.enqueue(
        session,
        "supervision/supervisor",
        recipients,
        key,
        subject=f"community:{community_id}:{key}",
        values={"community": community.name},
    )


async def supervisors_of(
    session: AsyncSession, community_id: int
) -> list[tuple[int, str, Address | None]]:
    """(telegram id, name, address) of the community's supervisors."""
    statement = (
        select(Supervisor.telegram_id, User.first_name, Resident.household_id)
        .join(User, col(User.telegram_id) == Supervisor.telegram_id)
        .outerjoin(Resident, col(Resident.telegram_id) == Supervisor.telegram_id)
        .where(Supervisor.community_id == community_id)
        .order_by(Supervisor.appointed_at)
    )
    return [
        (telegram_id, name, await address_of(session, household_id) if household_id else None)
        for telegram_id, name, household_id in await session.exec(statement)
    ]


# Observations on the works

CATEGORIES = ("safety", "quality", "schedule", "cleanliness", "other")
SEVERITIES = ("low", "medium", "high")
INSPECT_DIALOGUE = "inspect"
MAX_PHOTOS = 5
S = ObservationState
STAFF = Party.STAFF
# Staff's moves, offered in this order on an observation's card.
TRANSITIONS = (
    Transition(S.OPEN, S.ACKNOWLEDGED, STAFF, "ack", "supervision.do_ack"),
    Transition(
        S.ACKNOWLEDGED, S.ASSIGNED, STAFF, "assign", "supervision.do_assign", needs_note=True
    ),
    Transition(S.ACKNOWLEDGED, S.RESOLVED, STAFF, "done", "supervision.do_done"),
    Transition(S.ASSIGNED, S.RESOLVED, STAFF, "done", "supervision.do_done"),
    Transition(S.OPEN, S.NOT_AN_ISSUE, STAFF, "nope", "supervision.do_nope", needs_note=True),
    Transition(
        S.ACKNOWLEDGED, S.NOT_AN_ISSUE, STAFF, "nope", "supervision.do_nope", needs_note=True
    ),
)
MACHINE = Machine(
    TRANSITIONS,
    refusal=SupervisionError,
    not_allowed="supervision.not_allowed",
    note_needed="supervision.note_needed",
    moved_meanwhile="supervision.moved_meanwhile",
)


async def communities_supervised(session: AsyncSession, telegram_id: int) -> list[int]:
    statement = select(Supervisor.community_id).where(Supervisor.telegram_id == telegram_id)
    return list(await session.exec(statement))


async def start_inspection(session: AsyncSession, telegram_id: int) -> int:
    """Begin an observation report; returns the community it is for."""
    communities = await communities_supervised(session, telegram_id)
    if not communities:
        raise SupervisionError("supervision.you_are_not_a_supervisor")
    await dialogues.start(
        session, telegram_id, INSPECT_DIALOGUE, step="category", community=communities[0]
    )
    return communities[0]


async def _draft(session: AsyncSession, telegram_id: int) -> Dialogue | None:
    dialogue = await dialogues.current(session, telegram_id)
    return dialogue if dialogue is not None and dialogue.kind == INSPECT_DIALOGUE else None


async def _own_draft(session: AsyncSession, telegram_id: int) -> Dialogue:
    """The observation being written, if its writer still supervises its community: every
    step re-checks, since a supervisor may be dismissed half-way."""
    supervised = await communities_supervised(session, telegram_id)
    draft = await _draft(session, telegram_id)
    if not supervised or (draft is not None and draft.data["community"] not in supervised):
        raise SupervisionError("supervision.you_are_not_a_supervisor")
    if draft is None:
        raise SupervisionError("supervision.no_draft")
    return draft


async def inspection_step(session: AsyncSession, telegram_id: int, step: str, **changes):
    """Record the answer to ``step`` and move to the next; returns the new step."""
    data = dict((await _own_draft(session, telegram_id)).data)
    if data["step"] != step:
        raise SupervisionError("supervision.wrong_step")
    if step == "category" and changes.get("category") not in CATEGORIES:
        raise SupervisionError("button.stale")
    if step == "severity" and changes.get("severity") not in SEVERITIES:
        raise SupervisionError("button.stale")
    if step in ("place", "text"):
        value = str(changes.get(step, "")).strip()
        if not 0 < len(value) <= (200 if step == "place" else 2000):
            raise SupervisionError("supervision.length")
        changes[step] = value
    following = {"category": "severity", "severity": "place", "place": "text", "text": "media"}
    data.update(changes, step=following.get(step, step))
    await dialogues.start(session, telegram_id, INSPECT_DIALOGUE, **data)
    return data["step"]


async def add_media(
    session: AsyncSession, telegram_id: int, photo: str | None, location: tuple | None
) -> dict:
    data = dict((await _own_draft(session, telegram_id)).data)
    if data["step"] != "media":
        raise SupervisionError("supervision.wrong_step")
    if photo is not None:
        if len(data.get("photos", [])) >= MAX_PHOTOS:
            raise SupervisionError("supervision.too_many_photos")
        data["photos"] = [*data.get("photos", []), photo]
    if location is not None:
        data["latitude"], data["longitude"] = location
    await dialogues.start(session, telegram_id, INSPECT_DIALOGUE, **data)
    return data


async def submit_inspection(session: AsyncSession, telegram_id: int, actor: Actor) -> Observation:
    data = (await _own_draft(session, telegram_id)).data
    if data["step"] != "media":
        raise SupervisionError("supervision.no_draft")
    observation = Observation(
        community_id=data["community"],
        supervisor_telegram_id=telegram_id,
        category=data["category"],
        severity=data["severity"],
        place=data["place"],
        text=data["text"],
        photos=data.get("photos", []),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
    )
    session.add(observation)
    await session.flush()
    record(session, actor, "observation/open", f"observation:{observation.id}")
    await dialogues.finish(session, telegram_id)
    await outbox.enqueue(
        session,
        "supervision/staff",
        await staff_of_community(session, observation.community_id),
        "supervision.new_for_staff",
        subject=f"observation:{observation.id}",
        values={"number": observation.id, "place": observation.place, "text": observation.text},
        buttons=[[Button("supervision.open_button", ObservationShow(observation.id).pack())]],
    )
    return observation


async def served_observation(
    session: AsyncSession, observation_id: int, member: StaffMember
) -> Observation:
    """The observation, if the member serves its community: others are not told it exists."""
    observation = await session.get(Observation, observation_id)
    if observation is None or not member.serves(observation.community_id):
        raise SupervisionError("supervision.not_found")
    return observation


async def move_observation(
    session: AsyncSession,
    observation_id: int,
    to: ObservationState,
    member: StaffMember,
    actor: Actor,
    note: str | None = None,
) -> Observation:
    """Acknowledge, assign, resolve or dismiss, as the table allows; the supervisor is told."""
    observation = await served_observation(session, observation_id, member)
    previous, note = observation.state, clean_note(note)
    written = {"note": note} if note else {}
    await MACHINE.move(
        session, observation, to, STAFF, note, values={"updated_at": utcnow(), **written}
    )
    record(
        session,
        actor,
        f"observation/{to}",
        f"observation:{observation.id}",
        state_from=previous,
        note=note,
    )
    await outbox.enqueue(
        session,
        "supervision/supervisor",
        [observation.supervisor_telegram_id],
        f"supervision.now_{to}",
        subject=f"observation:{observation.id}:{to}",
        values={"number": observation.id, "place": observation.place, "note": note or "—"},
    )
    return observation


async def observation_counts(session: AsyncSession, community_id: int) -> tuple[int, int]:
    """(open, resolved) observations of a community; dismissed ones are neither."""
    rows = await session.exec(
        select(Observation.state, func.count())
        .where(Observation.community_id == community_id)
        .group_by(Observation.state)
    )
    counts = dict(rows.all())
    still_open = sum(counts.get(s, 0) for s in (S.OPEN, S.ACKNOWLEDGED, S.ASSIGNED))
    return still_open, counts.get(S.RESOLVED, 0)


@dataclass(frozen=True)
class WeekSummary:
    community_id: int
    community: str
    week: str  # the ISO week summed up, "2025-W10"
    by_category: dict[str, dict[str, int]]  # category -> state -> count

    @property
    def total(self) -> int:
        return sum(sum(states.values()) for states in self.by_category.values())


async def weekly_summaries_due(
    session: AsyncSession, now: datetime, zone: tzinfo
) -> list[WeekSummary]:
    """From Monday 9:00 on, each community with supervisors gets last week's summary once.

    Last week is the previous ISO week, Monday 00:00 to Monday 00:00 in ``zone``: the
    observations made in it, by category and their state now. A summary is per
    project: a community has exactly one renovation project (its stages are keyed
    by the community), so one per community is one per project.
    """
    local = now.astimezone(zone)
    if local.weekday() == 0 and local.hour < 9:
        return []
    until = datetime.combine(local.date() - timedelta(days=local.weekday()), time(), zone)
    since = until - timedelta(days=7)
    year, week, _ = since.isocalendar()
    label = f"{year}-W{week:02d}"
    communities = set(await session.exec(select(Supervisor.community_id)))
    sent = set(
        await session.exec(select(WeeklySummary.community_id).where(WeeklySummary.week == label))
    )
    due = []
    for community_id in sorted(communities - sent):
        rows = await session.exec(
            select(Observation.category, Observation.state, func.count())
            .where(
                Observation.community_id == community_id,
                col(Observation.created_at) >= since.astimezone(UTC),
                col(Observation.created_at) < until.astimezone(UTC),
            )
            .group_by(Observation.category, Observation.state)
        )
        by_category: dict[str, dict[str, int]] = {}
        for category, state, count in rows:
            by_category.setdefault(category, {})[state] = count
        community = await session.get(Community, community_id)
        due.append(WeekSummary(community_id, community.name, label, by_category))
    return due


async def send_weekly_summary(session: AsyncSession, summary: WeekSummary, chart: bytes) -> bool:
    """Send one community's summary to its staff and supervisors, once per week."""
    if not await insert_if_absent(
        session, WeeklySummary, community_id=summary.community_id, week=summary.week
    ):
        return False
    recipients = set(await staff_of_community(session, summary.community_id))
    recipients |= {
        telegram_id for telegram_id, _, _ in await supervisors_of(session, summary.community_id)
    }
    await outbox.enqueue(
        session,
        "supervision/summary",
        sorted(recipients),
        "supervision.weekly",
        subject=f"summary:{summary.community_id}:{summary.week}",
        values={"community": summary.community, "week": summary.week, "total": summary.total},
        photo=chart,
    )
    return True
