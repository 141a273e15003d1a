"""Round 1, the willingness consultation (改造意愿征询).

Every registered household may answer agree or disagree; not answering is
abstaining. The approval ratio is agreeing households over ALL households
registered when the round opened (frozen then, so imports mid-round do not
move the goalposts), never over those who answered. Reaching the threshold
(80% by default; exactly 80% reaches it) queues the community for renovation;
falling short postpones it (暂缓改造). Communities that reached it are ranked
by their ratio. All arithmetic is on integers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from fractions import Fraction

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows import outbox
from bot.flows.audit import Actor, record
from bot.flows.callback_data import MenuPress, Vote
from bot.flows.outbox import Button
from bot.flows.refusal import Refusal
from bot.flows.transitions import Guard, Machine, Party, Transition
from bot.i18n import LANGUAGES, text
from storage.choices import Choice
from storage.models import (
    AuditEvent,
    Ballot,
    Building,
    Channel,
    Community,
    Consultation,
    ConsultationStatus,
    Household,
    Renovation,
    Resident,
    User,
)
from storage.types import utcnow

DEFAULT_REMINDER = timedelta(hours=48)


class ConsultationError(Refusal):
    """A request the consultation refuses; ``reason`` is a catalogue key."""


def percent_text(share: Fraction) -> str:
    """A share as a percentage with one decimal, rounded down: '79.9%'.

    Rounding down keeps the text honest about a threshold: 79.996% is shown
    as 79.9%, never as an "80.0%" that did not reach 80%.
    """
    tenths = share.numerator * 1000 // share.denominator
    return f"{tenths // 10}.{tenths % 10}%"


@dataclass(frozen=True)
class Tally:
    consultation_id: int
    community_id: int
    community: str
    title: str
    status: str
    total: int
    agree: int
    disagree: int
    threshold_percent: int
    closes_at: datetime
    closed_at: datetime | None

    @property
    def answered(self) -> int:
        return self.agree + self.disagree

    @property
    def not_answered(self) -> int:
        return self.total - self.answered

    @property
    def ratio(self) -> Fraction:
        """Agreeing households over all registered households."""
        return Fraction(self.agree, self.total)

    @property
    def reached(self) -> bool:
        return self.agree * 100 >= self.threshold_percent * self.total

    @property
    def ratio_text(self) -> str:
        return percent_text(self.ratio)


@dataclass(frozen=True)
class Recorded:
    """A household's answer as now recorded."""

    consultation: Consultation
    choice: Choice
    previous: Choice | None
    cast_at: datetime
    housemates: list[int]  # the household's bound residents, but the one who answered
    written: bool = True  # False: a staff entry that said what the household had answered


OPEN, CLOSED = ConsultationStatus.OPEN, ConsultationStatus.CLOSED
# A round 2's plan, drawn at closing, is confirmed once: the state stays closed.
PLAN_TO_CONFIRM = Guard(
    lambda consultation: consultation.round == 2 and consultation.plan_confirmed_at is None,
    "menu.plan_confirmed_already",
)
# A consultation opens when it is stored and closes once: by staff or at its closing time.
MACHINE = Machine(
    (
        Transition(OPEN, CLOSED, Party.STAFF, "close", "staff.close"),
        Transition(CLOSED, CLOSED, Party.STAFF, "ok", "plan.confirm", PLAN_TO_CONFIRM),
    ),
    refusal=ConsultationError,
    not_allowed="consult.already_closed",
    moved_meanwhile="consult.moved_meanwhile",
    column="status",
)

QUESTION_KEYS = {1: "vote.question", 2: "menu.question"}
REMINDER_KEYS = {1: "vote.reminder", 2: "menu.reminder"}
ALREADY_OPEN_KEYS = {1: "consult.already_open", 2: "menu.already_open"}


def answer_buttons(consultation: Consultation) -> list[list[Button]]:
    """The buttons a resident answers with: Agree / Disagree, or the menu."""
    if consultation.round == 2:
        return [[Button("menu.open", MenuPress(consultation.id, "open", 0).pack())]]
    return vote_buttons(consultation.id)


def vote_buttons(consultation_id: int) -> list[list[Button]]:
    return [
        [
            Button("vote.agree", Vote(consultation_id, Choice.AGREE).pack()),
            Button("vote.disagree", Vote(consultation_id, Choice.DISAGREE).pack()),
        ]
    ]


async def households_in(session: AsyncSession, community_id: int) -> int:
    statement = (
        select(func.count())
        .select_from(Household)
        .join(Building, Household.building_id == Building.id)
        .where(Building.community_id == community_id)
    )
    return (await session.exec(statement)).one()


async def residents_in(session: AsyncSession, community_id: int) -> list[int]:
    """Telegram ids of every resident bound to a household of the community."""
    statement = (
        select(Resident.telegram_id)
        .join(Household, Resident.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .where(Building.community_id == community_id)
    )
    return list(await session.exec(statement))


async def open_round1(
    session: AsyncSession,
    community_id: int,
    title: str,
    question: str,
    closes_at: datetime,
    actor: Actor,
    *,
    threshold_percent: int = 80,
    remind_before: timedelta | None = DEFAULT_REMINDER,
) -> Consultation:
    """Open round 1 for a community and queue the question to its bound residents."""
    if not 1 <= threshold_percent <= 100:
        raise ConsultationError("consult.bad_threshold")
    consultation = Consultation(
        community_id=community_id,
        round=1,
        title=title,
        question=question,
        closes_at=closes_at,
        threshold_percent=threshold_percent,
    )
    return await open_consultation(session, consultation, actor, remind_before)


async def open_consultation(
    session: AsyncSession,
    consultation: Consultation,
    actor: Actor,
    remind_before: timedelta | None,
    on_open: Callable[[Consultation], Awaitable[None]] | None = None,
) -> Consultation:
    """Open a consultation of either round: check it, store it, queue its question.

    ``on_open`` adds what the round needs (its menu) before the question goes out.
    """
    community = await session.get(Community, consultation.community_id)
    if community is None:
        raise ConsultationError("consult.no_community")
    now = utcnow()
    if consultation.closes_at <= now:
        raise ConsultationError("consult.closes_in_past")
    if not consultation.title.strip() or not consultation.question.strip():
        raise ConsultationError("consult.empty_text")
    total = await households_in(session, community.id)
    if total == 0:
        raise ConsultationError("consult.no_households", community=community.name)
    consultation.title = consultation.title.strip()[:200]
    consultation.question = consultation.question.strip()[:2000]
    consultation.total_households = total
    if remind_before is not None and consultation.closes_at - remind_before > now:
        consultation.remind_at = consultation.closes_at - remind_before
    try:
        async with session.begin_nested():
            session.add(consultation)
            await session.flush()
    except IntegrityError:
        raise ConsultationError(
            ALREADY_OPEN_KEYS[consultation.round], community=community.name
        ) from None
    if on_open is not None:
        await on_open(consultation)
    record(
        session,
        actor,
        "consultation/open",
        f"consultation:{consultation.id}",
        community=community.name,
        round=consultation.round,
        total_households=total,
        closes_at=consultation.closes_at.isoformat(),
        threshold_percent=consultation.threshold_percent,
        override_reason=consultation.override_reason,
    )
    await outbox.enqueue(
        session,
        "consultation/open",
        await residents_in(session, community.id),
        QUESTION_KEYS[consultation.round],
        subject=f"consultation:{consultation.id}",
        values={
            "community": community.name,
            "title": consultation.title,
            "question": consultation.question,
        },
        buttons=answer_buttons(consultation),
        created_by=actor.telegram_id,
    )
    return consultation


async def open_for_household(session: AsyncSession, household_id: int) -> list[Consultation]:
    """The open consultations (either round) of the household's community."""
    statement = (
        select(Consultation)
        .join(Building, Building.community_id == Consultation.community_id)
        .join(Household, Household.building_id == Building.id)
        .where(Household.id == household_id, Consultation.status == ConsultationStatus.OPEN)
        .order_by(Consultation.closes_at)
    )
    return list(await session.exec(statement))


async def ballot_of(session: AsyncSession, consultation_id: int, household_id: int):
    statement = select(Ballot).where(
        Ballot.consultation_id == consultation_id, Ballot.household_id == household_id
    )
    return (await session.exec(statement)).first()


async def community_of_household_locked(session: AsyncSession, household_id: int) -> int:
    statement = (
        select(Building.community_id)
        .join(Household, Household.building_id == Building.id)
        .where(Household.id == household_id)
        .with_for_update(of=Household)  # one household's presses are taken one after another
    )
    return (await session.exec(statement)).one()


async def still_open(session: AsyncSession, consultation_id: int) -> bool:
    """Whether the consultation is open, read under a share lock: a close being
    committed is waited for, so no answer is recorded after the count was taken."""
    consultation = await session.get(
        Consultation, consultation_id, with_for_update={"read": True}, populate_existing=True
    )
    return consultation is not None and is_open(consultation)


def is_open(consultation: Consultation) -> bool:
    return consultation.status == ConsultationStatus.OPEN and utcnow() < consultation.closes_at


class Replace(StrEnum):
    """Whether a staff entry may replace a resident's own answer from the bot."""

    WITH_REASON = "with_reason"  # staff see the answer and give a reason
    NEVER = "never"


@dataclass(frozen=True)
class Entry:
    """Who brings a household's answer in, how, and on what evidence."""

    channel: Channel = Channel.BOT
    by: int | None = None  # the resident or staff member; None from the shell
    evidence: str | None = None  # "tg:<file id>" or "file:<name>"
    collector: str | None = None  # who took the paper form
    answered_on: date | None = None  # the date on the form
    note: str | None = None
    reason: str | None = None  # why it replaces the resident's own answer

    @property
    def by_staff(self) -> bool:
        return self.channel != Channel.BOT


def admit(existing: Ballot | None, entry: Entry, unchanged: bool, replace: Replace) -> bool:
    """The rule where channels meet, for both rounds: whether ``entry`` is written.

    The latest answer counts, whichever channel brings it: a resident may
    always answer again in the bot. A staff entry that says what the household
    already answered changes nothing (so a file imported twice changes
    nothing), and one that contradicts the resident's own bot answer needs a
    reason, or is refused outright when the setting says so.
    """
    if existing is None or not entry.by_staff:
        return True
    if unchanged:
        return False
    if existing.channel == Channel.BOT:
        if replace is Replace.NEVER:
            raise ConsultationError("offline.resident_answer_kept")
        if not (entry.reason or "").strip():
            raise ConsultationError("offline.reason_needed")
    return True


def write_ballot(
    session: AsyncSession,
    existing: Ballot | None,
    consultation_id: int,
    household_id: int,
    choice: str,
    entry: Entry,
) -> datetime:
    """Store the household's one answer (new, or replacing the one it had); when."""
    now = utcnow()
    fields = {
        "choice": choice,
        "cast_by": entry.by,
        "cast_at": now,
        "channel": entry.channel,
        "evidence": entry.evidence,
        "collector": entry.collector,
        "answered_on": entry.answered_on,
        "note": ((entry.reason or entry.note or "").strip() or None),
    }
    if existing is None:
        session.add(Ballot(consultation_id=consultation_id, household_id=household_id, **fields))
    else:
        for name, value in fields.items():
            setattr(existing, name, value)
    return now


def entry_details(entry: Entry) -> dict[str, object]:
    """What the audit trail keeps of an entry besides the answer itself."""
    return {
        "channel": entry.channel,
        "evidence": entry.evidence,
        "collector": entry.collector,
        "answered_on": entry.answered_on.isoformat() if entry.answered_on else None,
        "note": entry.note,
        "reason": entry.reason,
    }


async def residents_of(session: AsyncSession, household_id: int) -> list[int]:
    statement = select(Resident.telegram_id).where(Resident.household_id == household_id)
    return list(await session.exec(statement))


async def open_for(session: AsyncSession, consultation_id: int, household_id: int, round_: int):
    """The consultation, checked for the household: its round, its community, still open
    (read under a share lock, as in ``still_open``)."""
    community_id = await community_of_household_locked(session, household_id)
    consultation = await session.get(
        Consultation, consultation_id, with_for_update={"read": True}, populate_existing=True
    )
    if consultation is None or consultation.round != round_:
        raise ConsultationError("button.stale")
    if community_id != consultation.community_id:
        raise ConsultationError("vote.other_community")
    if not is_open(consultation):
        raise ConsultationError("vote.closed")
    return consultation


async def cast(
    session: AsyncSession, consultation_id: int, telegram_id: int, choice: str, actor: Actor
) -> Recorded:
    """Record a resident's answer for their household from the bot."""
    household_id = (
        await session.exec(select(Resident.household_id).where(Resident.telegram_id == telegram_id))
    ).first()
    if household_id is None:
        raise ConsultationError("vote.unbound")
    return await answer(
        session, consultation_id, household_id, choice, Entry(by=telegram_id), actor
    )


async def answer(
    session: AsyncSession,
    consultation_id: int,
    household_id: int,
    choice: str,
    entry: Entry,
    actor: Actor,
    replace: Replace = Replace.WITH_REASON,
) -> Recorded:
    """Record the household's round-1 answer from any channel; the latest counts until closing.

    A resident changing the answer tells the housemates; a staff entry tells
    every bound resident of the household, who may still answer in the bot.
    """
    if choice not in set(Choice):
        raise ConsultationError("offline.bad_answer" if entry.by_staff else "button.stale")
    consultation = await open_for(session, consultation_id, household_id, round_=1)
    ballot = await ballot_of(session, consultation_id, household_id)
    previous = Choice(ballot.choice) if ballot is not None else None
    bound = [other for other in await residents_of(session, household_id) if other != entry.by]
    if not admit(ballot, entry, previous == choice, replace):
        return Recorded(consultation, Choice(choice), previous, ballot.cast_at, bound, False)
    replaced = ballot.channel if ballot is not None else None
    now = write_ballot(session, ballot, consultation_id, household_id, choice, entry)
    record(
        session,
        actor,
        "ballot/cast",
        f"consultation:{consultation_id}",
        household_id=household_id,
        previous=previous,
        previous_channel=replaced,
        new=choice,
        **entry_details(entry),
    )
    if entry.by_staff and bound:
        await outbox.enqueue(
            session,
            "ballot.entered",
            bound,
            f"offline.told_{choice}",
            subject=f"consultation:{consultation_id}:{household_id}:{now.isoformat()}",
            values={"title": consultation.title},
            buttons=vote_buttons(consultation_id),
        )
    elif previous is not None and previous != choice and bound:
        await outbox.enqueue(
            session,
            "ballot.changed",
            bound,
            f"vote.changed_{choice}",
            subject=f"consultation:{consultation_id}",
            values={"name": await name_of(session, entry.by), "title": consultation.title},
            buttons=vote_buttons(consultation_id),
        )
    return Recorded(consultation, Choice(choice), previous, now, bound, True)


async def name_of(session: AsyncSession, telegram_id: int | None) -> str | dict[str, str]:
    """How a housemate is named to the others: the first name Telegram gave us, or,
    when there is none, words in each reader's language."""
    user = await session.get(User, telegram_id) if telegram_id is not None else None
    if user is not None and user.first_name.strip():
        return user.first_name.strip()
    return {language: text(language, "vote.a_housemate") for language in LANGUAGES}


async def tally(session: AsyncSession, consultation_id: int) -> Tally:
    consultation = await session.get(Consultation, consultation_id)
    if consultation is None:
        raise ConsultationError("consult.not_found")
    return (await _tallies(session, [consultation]))[0]


async def _tallies(session: AsyncSession, consultations: list[Consultation]) -> list[Tally]:
    if not consultations:
        return []
    # Closed rounds carry their frozen figures; only open ones are counted.
    live = [c.id for c in consultations if c.agree is None]
    counts: dict[tuple[int, str], int] = {}
    if live:
        counts = {
            (consultation_id, choice): n
            for consultation_id, choice, n in await session.exec(
                select(Ballot.consultation_id, Ballot.choice, func.count())
                .where(col(Ballot.consultation_id).in_(live))
                .group_by(Ballot.consultation_id, Ballot.choice)
            )
        }
    names = dict(
        (
            await session.exec(
                select(Community.id, Community.name).where(
                    col(Community.id).in_({c.community_id for c in consultations})
                )
            )
        ).all()
    )
    return [
        Tally(
            consultation_id=c.id,
            community_id=c.community_id,
            community=names[c.community_id],
            title=c.title,
            status=c.status,
            total=c.total_households,
            agree=c.agree if c.agree is not None else counts.get((c.id, Choice.AGREE), 0),
            disagree=(
                c.disagree if c.disagree is not None else counts.get((c.id, Choice.DISAGREE), 0)
            ),
            threshold_percent=c.threshold_percent,
            closes_at=c.closes_at,
            closed_at=c.closed_at,
        )
        for c in consultations
    ]


async def current_tallies(
    session: AsyncSession, community_ids: set[int] | None = None
) -> list[Tally]:
    """Each community's newest round-1 consultation (open or closed), by community name."""
    newest = (
        select(func.max(Consultation.id))
        .where(Consultation.round == 1)
        .group_by(Consultation.community_id)
    )
    statement = select(Consultation).where(col(Consultation.id).in_(newest))
    if community_ids is not None:
        statement = statement.where(col(Consultation.community_id).in_(community_ids))
    tallies = await _tallies(session, list(await session.exec(statement)))
    return sorted(tallies, key=lambda t: t.community)


async def mark_closed(session: AsyncSession, consultation_id: int, round_: int) -> Consultation:
    """Set an open consultation of ``round_`` closed; refuses one that is closed already."""
    consultation = await session.get(Consultation, consultation_id, populate_existing=True)
    if consultation is None or consultation.round != round_:
        raise ConsultationError("consult.not_found")
    await MACHINE.move(
        session, consultation, CLOSED, Party.STAFF, values={"closed_at": utcnow()}, action="close"
    )
    return consultation


async def close(session: AsyncSession, consultation_id: int, actor: Actor) -> Tally:
    """Close the round, freeze its figures, set the community's status, tell the residents.

    Closing twice (a second worker, a repeated job) changes nothing the second time.
    """
    consultation = await mark_closed(session, consultation_id, round_=1)
    result = await tally(session, consultation_id)
    consultation.agree, consultation.disagree = result.agree, result.disagree
    consultation.reached = result.reached
    community = await session.get(Community, consultation.community_id)
    community.renovation = Renovation.QUEUED if result.reached else Renovation.POSTPONED
    record(
        session,
        actor,
        "consultation/close",
        f"consultation:{consultation_id}",
        agree=result.agree,
        disagree=result.disagree,
        total=result.total,
        reached=result.reached,
    )
    await outbox.enqueue(
        session,
        "consultation.outcome",
        await residents_in(session, consultation.community_id),
        "vote.outcome_reached" if result.reached else "vote.outcome_postponed",
        subject=f"consultation:{consultation_id}",
        values=outcome_values(result),
    )
    return result


def outcome_values(result: Tally) -> dict[str, object]:
    return {
        "community": result.community,
        "title": result.title,
        "total": result.total,
        "agree": result.agree,
        "disagree": result.disagree,
        "not_answered": result.not_answered,
        "ratio": result.ratio_text,
        "threshold": result.threshold_percent,
    }


async def unanswered_residents(session: AsyncSession, consultation: Consultation) -> list[int]:
    """Bound residents of the households that have not answered the consultation."""
    answered = select(Ballot.household_id).where(Ballot.consultation_id == consultation.id)
    statement = (
        select(Resident.telegram_id)
        .join(Household, Resident.household_id == Household.id)
        .join(Building, Household.building_id == Building.id)
        .where(
            Building.community_id == consultation.community_id,
            col(Resident.household_id).not_in(answered),
        )
    )
    return list(await session.exec(statement))


async def check_opening(session: AsyncSession, community: Community, round_: int) -> None:
    """Refuse at once what opening would refuse as the community stands: a round of this
    kind already open (the schema's rule, told before the staff member types it all)."""
    statement = select(Consultation.id).where(
        Consultation.community_id == community.id,
        Consultation.round == round_,
        Consultation.status == ConsultationStatus.OPEN,
    )
    if (await session.exec(statement)).first() is not None:
        raise ConsultationError(ALREADY_OPEN_KEYS[round_], community=community.name)


async def recent_reminder(
    session: AsyncSession, consultation: Consultation, quiet: timedelta
) -> datetime | None:
    """When the round's latest reminder (by hand or by the schedule) was sent, if that
    is less than ``quiet`` ago."""
    statement = select(func.max(AuditEvent.at)).where(
        AuditEvent.action == "consultation/remind",
        AuditEvent.subject == f"consultation:{consultation.id}",
    )
    last = (await session.exec(statement)).first()
    return last if last is not None and utcnow() - last < quiet else None


async def remind(
    session: AsyncSession, consultation_id: int, actor: Actor, *, scheduled: bool = False
) -> int:
    """Remind the residents of households that have not answered; returns how many.

    Only the ``scheduled`` reminder marks itself sent: one that staff send by
    hand days earlier leaves the automatic one before closing still due.
    """
    consultation = await session.get(Consultation, consultation_id)
    if consultation is None:
        raise ConsultationError("consult.not_found")
    if consultation.status != ConsultationStatus.OPEN:
        raise ConsultationError("consult.already_closed")
    recipients = await unanswered_residents(session, consultation)
    now = utcnow()
    if scheduled:
        consultation.reminded_at = now
    record(
        session,
        actor,
        "consultation/remind",
        f"consultation:{consultation_id}",
        recipients=len(recipients),
    )
    community = await session.get(Community, consultation.community_id)
    await outbox.enqueue(
        session,
        "consultation.reminder",
        recipients,
        REMINDER_KEYS[consultation.round],
        subject=f"consultation:{consultation_id}:{now.isoformat()}",
        values={
            "community": community.name,
            "title": consultation.title,
            "question": consultation.question,
        },
        buttons=answer_buttons(consultation),
        created_by=actor.telegram_id,
    )
    return len(recipients)


async def open_consultations(session: AsyncSession) -> list[Consultation]:
    statement = select(Consultation).where(Consultation.status == ConsultationStatus.OPEN)
    return list(await session.exec(statement))


@dataclass(frozen=True)
class Ranked:
    position: int
    tally: Tally


async def ranking(
    session: AsyncSession, year: int | None = None, zone: tzinfo = UTC
) -> list[Ranked]:
    """Every community's latest closed round 1, in the city's renovation order.

    Those that reached the threshold come first, by approval ratio (ties: more
    agreeing households, then the earlier close), then the postponed ones in
    the same order. ``year`` is the closing year on the city's clock.
    """
    latest = (
        select(func.max(Consultation.id))
        .where(Consultation.round == 1, Consultation.status == ConsultationStatus.CLOSED)
        .group_by(Consultation.community_id)
    )
    statement = select(Consultation).where(col(Consultation.id).in_(latest))
    consultations = list(await session.exec(statement))
    if year is not None:
        consultations = [c for c in consultations if c.closed_at.astimezone(zone).year == year]
    tallies = await _tallies(session, consultations)
    tallies.sort(key=lambda t: (not t.reached, -t.ratio, -t.agree, t.closed_at))
    return [Ranked(position, t) for position, t in enumerate(tallies, start=1)]
