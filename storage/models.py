"""The tables: the household registry, the people who use the bot, and the audit trail.

Telegram ids are 64-bit; times are UTC (``UTCDateTime``); money, when it
comes, is integer fen.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from storage.choices import Role, Stage  # noqa: F401  (Stage: imported from here too)
from storage.types import UTCDateTime, utcnow

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _created_at() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _telegram_id(*args: Any, **column: Any) -> Any:
    return Field(sa_column=Column(BigInteger, *args, **column))


class Community(SQLModel, table=True):
    """A residential compound (小区): the unit that is consulted and renovated."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    district: str = Field(default="", max_length=100)
    street: str = Field(default="", max_length=100)
    delivery_year: int | None = None
    has_maintenance_fund: bool = False
    renovation: str = Field(default="not_consulted", max_length=20)  # see Renovation
    # Who takes repairs outside the emergency fund: name and phone; none: the ordinary channel.
    property_manager: str | None = Field(default=None, max_length=200)
    # The manager's Telegram account, if they have one: their repairs are sent there.
    property_manager_telegram_id: int | None = _telegram_id(nullable=True)
    created_at: datetime = _created_at()


class Renovation(StrEnum):
    """Where a community stands after its round-1 consultation."""

    NOT_CONSULTED = "not_consulted"
    QUEUED = "queued"  # round 1 reached the threshold: queued for renovation
    POSTPONED = "postponed"  # 暂缓改造: round 1 fell below it


class Building(SQLModel, table=True):
    """A residential building (楼栋) of a community."""

    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    name: str = Field(max_length=50)  # as the registry keeps it: 3 for 三幢, 3座 and 3#
    # How the community's own registry writes it (3号楼, A座), shown to its people; None
    # where that is the number alone or the bot's own "3幢".
    spelling: str | None = Field(default=None, max_length=50)
    delivery_year: int | None = None


class Household(SQLModel, table=True):
    """A registered household (户): building, unit, room. Consultations count these."""

    __table_args__ = (UniqueConstraint("building_id", "unit", "room"),)

    id: int | None = Field(default=None, primary_key=True)
    building_id: int = Field(foreign_key="building.id", index=True)
    unit: str = Field(default="", max_length=20)
    room: str = Field(max_length=20)
    # 建筑面积 in hundredths of a square metre (dm²), exact; for the Civil Code's double tally.
    floor_area_dm2: int | None = None
    # A round counts the households registered when it opened; the column default also
    # serves the import's bulk inserts.
    registered_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UTCDateTime,
        nullable=False,
        sa_column_kwargs={"default": utcnow},
    )


class User(SQLModel, table=True):
    """Everyone who has written to the bot, bound or not."""

    telegram_id: int = _telegram_id(primary_key=True, autoincrement=False)
    first_name: str = Field(default="", max_length=200)
    language: str | None = Field(default=None, max_length=10)  # chosen with /lang
    telegram_language: str | None = Field(default=None, max_length=20)  # the app's language
    # Set when Telegram answers 403 (the user blocked the bot); cleared when they write again.
    unreachable_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created_at()


class Resident(SQLModel, table=True):
    """A Telegram user bound to a household; a household may have several."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = _telegram_id(ForeignKey("user.telegram_id"), unique=True, nullable=False)
    household_id: int = Field(foreign_key="household.id", index=True)
    bound_at: datetime = _created_at()


class Staff(SQLModel, table=True):
    telegram_id: int = _telegram_id(primary_key=True, autoincrement=False)
    role: Role = Field(sa_type=String(10))
    added_at: datetime = _created_at()


class StaffCommunity(SQLModel, table=True):
    staff_telegram_id: int = _telegram_id(
        ForeignKey("staff.telegram_id", ondelete="CASCADE"), primary_key=True
    )
    community_id: int = Field(foreign_key="community.id", primary_key=True)


class InviteCode(SQLModel, table=True):
    """A household's invite code, kept only as a hash; usable until revoked."""

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _created_at()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WrongCode(SQLModel, table=True):
    """A wrong invite code typed by a user; too many in a window locks them out."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = _telegram_id(nullable=False, index=True)
    at: datetime = _created_at()


class Dialogue(SQLModel, table=True):
    """Where a user is in a conversation: the step and its draft.

    Kept in the database so that it survives restarts and is shared by every
    worker process.
    """

    telegram_id: int = _telegram_id(primary_key=True, autoincrement=False)
    kind: str = Field(max_length=30)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = _created_at()


class ProcessedUpdate(SQLModel, table=True):
    """Telegram update ids already handled: a redelivered update is dropped."""

    update_id: int = _telegram_id(primary_key=True, autoincrement=False)
    processed_at: datetime = _created_at()


class SkippedUpdate(SQLModel, table=True):
    """An update given up on: unreadable, or failing each time it was handled.

    Kept so that somebody can look at what went wrong; the update is also
    claimed, so a redelivery of it is dropped like any handled one.
    """

    update_id: int = _telegram_id(primary_key=True, autoincrement=False)
    reason: str = Field(max_length=300)
    tries: int = Field(default=1)
    payload: dict = Field(default_factory=dict, sa_type=JSON)
    skipped_at: datetime = _created_at()


class GroupChat(SQLModel, table=True):
    """A group the bot was added to and has told, once, that it works in private chats."""

    chat_id: int = _telegram_id(primary_key=True, autoincrement=False)
    told_at: datetime = _created_at()


class AuditEvent(SQLModel, table=True):
    """Append-only record of every change: who, when, what, from which update."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created_at()
    actor_telegram_id: int | None = _telegram_id(nullable=True, index=True)
    actor: str = Field(default="bot", max_length=20)  # bot | cli | scheduler
    action: str = Field(max_length=50, index=True)
    subject: str = Field(default="", max_length=100)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    update_id: int | None = _telegram_id(nullable=True)


class ConsultationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Consultation(SQLModel, table=True):
    """A consultation round of one community: round 1 (willingness) or round 2 (the menu).

    ``total_households`` is frozen at opening: the denominator of the approval
    ratio does not move when households are imported mid-round.
    """

    __table_args__ = (
        # One open consultation per community and round.
        Index(
            "uq_consultation_open_round",
            "community_id",
            "round",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    round: int
    title: str = Field(max_length=200)
    question: str = Field(max_length=2000)
    status: str = Field(default=ConsultationStatus.OPEN, max_length=10)
    threshold_percent: int = 80
    total_households: int
    opened_at: datetime = _created_at()
    closes_at: datetime = Field(sa_type=UTCDateTime)
    remind_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the automatic one
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Frozen at closing, so the record stays as announced.
    agree: int | None = None
    disagree: int | None = None
    reached: bool | None = None
    # Round 2's selection rules (all optional) and how its plan is drawn.
    min_items: int | None = None
    max_items: int | None = None
    budget_fen: int | None = None  # per household: the chosen items' estimated costs
    inclusion_percent: int = Field(default=50, sa_column_kwargs={"server_default": "50"})
    # The plan: items chosen by at least inclusion_percent of the answering
    # households or, with a budget for the community, the most chosen that fit.
    plan_budget_fen: int | None = None
    override_reason: str | None = Field(default=None, max_length=500)  # round 1 not passed
    plan_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Channel(StrEnum):
    """How a household's answer reached linli; the tally counts them all alike."""

    BOT = "bot"  # pressed in the bot by a bound resident
    PAPER = "paper"  # a signed paper form, typed in by staff
    PROXY = "proxy"  # staff answering on the household's behalf (door to door, a relative)


class Ballot(SQLModel, table=True):
    """A household's current answer in a consultation; the audit trail keeps every change.

    ``cast_by`` is whoever entered it: the resident, the staff member in the
    chat, or None from the shell, where ``collector`` names who took the form.
    """

    __table_args__ = (UniqueConstraint("consultation_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    consultation_id: int = Field(foreign_key="consultation.id")
    household_id: int = Field(foreign_key="household.id", index=True)
    choice: str = Field(max_length=10)
    cast_by: int | None = _telegram_id(nullable=True)
    cast_at: datetime = _created_at()
    channel: str = Field(
        default=Channel.BOT, max_length=10, sa_column_kwargs={"server_default": "bot"}
    )
    # "tg:<file id>" of a photo sent in the chat, or "file:<name>" in the evidence folder.
    evidence: str | None = Field(default=None, max_length=300)
    collector: str | None = Field(default=None, max_length=100)
    answered_on: date | None = None  # the date written on the paper form
    # Staff's note; for an entry that replaced a resident's own bot answer, the reason.
    note: str | None = Field(default=None, max_length=500)


class Broadcast(SQLModel, table=True):
    """One message to many: a notice, a consultation's opening, a reminder, an outcome.

    The text is a catalogue key with its values, rendered in each recipient's
    language when sent; ``buttons`` are rows of [label key, callback data].
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    subject: str = Field(default="", max_length=100)
    message_key: str = Field(max_length=60)
    values: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    buttons: list[list[str]] = Field(default_factory=list, sa_type=JSON)
    photo: bytes | None = Field(default=None, sa_type=LargeBinary)
    # After the first upload Telegram gives the photo an id; later sends reuse it.
    photo_file_id: str | None = Field(default=None, max_length=200)
    document_file_id: str | None = Field(default=None, max_length=200)
    parse_mode: str | None = Field(default=None, max_length=10)  # "HTML" for staff's own text
    created_by: int | None = _telegram_id(nullable=True)
    # The message in the author's chat that shows the progress, edited as it goes.
    progress_message_id: int | None = None
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created_at()


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender; back to pending if it dies
    SENT = "sent"
    BLOCKED = "blocked"  # the user blocked the bot
    FAILED = "failed"


class Delivery(SQLModel, table=True):
    """The outbox: one row per broadcast and recipient, claimed, sent, marked."""

    __table_args__ = (
        UniqueConstraint("broadcast_id", "telegram_id"),
        # The sender reads the pending rows oldest first, past a history of sent ones...
        Index("ix_delivery_queue", "state", "id"),
        # ...and, for each, whether its chat has an earlier one still to go.
        Index("ix_delivery_chat_queue", "telegram_id", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(foreign_key="broadcast.id", index=True)
    telegram_id: int = _telegram_id(nullable=False)
    state: str = Field(default=DeliveryState.PENDING, max_length=10)
    not_before: datetime = _created_at()
    attempts: int = 0
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: int | None = None
    error: str = Field(default="", max_length=200)


class NoticeKind(StrEnum):
    """Kinds of notice a resident may mute (/settings); consultations and repairs cannot be."""

    GENERAL = "general"
    PROGRESS = "progress"


class Notice(SQLModel, table=True):
    """A notice staff send: now, at a time, or repeating until a date.

    ``next_at`` is when it fires next (None once it is done); the scheduler
    moves it on, so a restart loses nothing and a missed firing is sent once
    or reported skipped.
    """

    id: int | None = Field(default=None, primary_key=True)
    author_telegram_id: int | None = _telegram_id(nullable=True)
    kind: str = Field(default=NoticeKind.GENERAL, max_length=20)
    body: str = Field(sa_type=Text)  # Telegram HTML, so the author's formatting is kept
    photo: bytes | None = Field(default=None, sa_type=LargeBinary)
    photo_file_id: str | None = Field(default=None, max_length=200)
    document_file_id: str | None = Field(default=None, max_length=200)
    audience: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    first_at: datetime = Field(sa_type=UTCDateTime)
    repeat_days: int | None = None
    until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    fired: int = 0
    skipped: int = 0
    created_at: datetime = _created_at()


class Mute(SQLModel, table=True):
    """A kind of notice a resident chose not to receive."""

    telegram_id: int = _telegram_id(ForeignKey("user.telegram_id"), primary_key=True)
    kind: str = Field(max_length=20, primary_key=True)


class ProjectStage(SQLModel, table=True):
    """One stage of a community's renovation: when it is planned and when it was reached."""

    __table_args__ = (UniqueConstraint("community_id", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    stage: str = Field(max_length=30)
    planned_on: date | None = None
    reached_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ItemClass(StrEnum):
    """The national guidance's three classes of renovation items."""

    BASIC = "basic"  # 基础类: done anyway
    IMPROVEMENT = "improvement"  # 完善类
    UPGRADE = "upgrade"  # 提升类


class MenuItem(SQLModel, table=True):
    """A renovation item of the catalogue that round 2's menus are made from."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    description_zh: str = Field(default="", max_length=1000)
    description_en: str = Field(default="", max_length=1000)
    item_class: str = Field(max_length=20)  # see ItemClass
    cost_fen: int = Field(ge=0)  # estimated cost per household
    picture: bytes | None = Field(default=None, sa_type=LargeBinary)


class ConsultationItem(SQLModel, table=True):
    """An item on one round-2 consultation's menu, in the order residents see it."""

    consultation_id: int = Field(foreign_key="consultation.id", primary_key=True)
    item_id: int = Field(foreign_key="menuitem.id", primary_key=True)
    position: int
    # Set when the plan is drawn at closing; staff may change it with a reason.
    chosen_by: int | None = None  # households, frozen at closing
    in_plan: bool | None = None
    plan_note: str | None = Field(default=None, max_length=500)


class Selection(SQLModel, table=True):
    """An item a household chose in round 2; the household's Ballot says when and by whom."""

    consultation_id: int = Field(foreign_key="consultation.id", primary_key=True)
    household_id: int = Field(foreign_key="household.id", primary_key=True)
    item_id: int = Field(foreign_key="menuitem.id", primary_key=True, index=True)


class RepairState(StrEnum):
    """Where a repair request stands; the allowed moves are in bot/flows/repair.py."""

    SUBMITTED = "submitted"
    TRIAGED = "triaged"
    ESTIMATED = "estimated"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CONFIRMED = "confirmed"
    REOPENED = "reopened"
    CLOSED = "closed"  # done, closed by staff without the resident's confirmation
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class RepairRoute(StrEnum):
    FUND = "fund"  # 危急维修资金
    PROPERTY = "property"  # the community's property manager (物业)
    ORDINARY = "ordinary"  # no property manager registered: the ordinary channel


class RepairRequest(SQLModel, table=True):
    """A repair a resident reported: where, what, how urgent, where it was routed, what it cost.

    Every change of state is also an audit event (subject ``repair:<id>``).
    """

    __table_args__ = (UniqueConstraint("year", "sequence"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=30, unique=True)  # JX-2026-000123
    year: int
    sequence: int
    household_id: int = Field(foreign_key="household.id", index=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    # None for a request a city system filed for the household (a hotline call).
    reporter_telegram_id: int | None = _telegram_id(nullable=True)
    category: str = Field(max_length=30)
    common_part: bool  # a common part or facility, not the household's own flat
    place: str = Field(default="", max_length=200)  # building, unit, floor or spot
    urgent: bool = False
    description: str = Field(sa_type=Text)
    photos: list[str] = Field(default_factory=list, sa_type=JSON)  # Telegram file ids
    latitude: float | None = None
    longitude: float | None = None
    state: str = Field(default=RepairState.SUBMITTED, max_length=20, index=True)
    route: str = Field(max_length=20)  # see RepairRoute
    route_reasons: list[str] = Field(default_factory=list, sa_type=JSON)  # catalogue keys
    route_override: str | None = Field(default=None, max_length=500)
    question: str | None = Field(default=None, max_length=1000)  # staff asked for more
    estimate_fen: int | None = None
    cost_fen: int | None = None  # the final cost, once done
    owners_fen: int | None = None  # owners and the community's public income
    government_fen: int | None = None
    rating: int | None = None
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    staff_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RepairCounter(SQLModel, table=True):
    """The last request number given out in a year; taken under a row lock."""

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class FaqEntry(SQLModel, table=True):
    """A question with its answer, for the whole city or one community."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int | None = Field(default=None, foreign_key="community.id", index=True)
    question_zh: str = Field(max_length=500)
    answer_zh: str = Field(sa_type=Text)
    question_en: str = Field(default="", max_length=500)
    answer_en: str = Field(default="", sa_type=Text)
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = _created_at()


class QuestionState(StrEnum):
    ASKED = "asked"  # the bot offered FAQ answers; staff have not been asked
    ANSWERED_BY_FAQ = "answered_by_faq"
    OPEN = "open"  # in the staff inbox
    CLOSED = "closed"


class Question(SQLModel, table=True):
    """A resident's question: answered from the FAQ, or a thread with staff until closed."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    asker_telegram_id: int = _telegram_id(nullable=False)
    text: str = Field(max_length=2000)
    state: str = Field(default=QuestionState.ASKED, max_length=20, index=True)
    faq_entry_id: int | None = Field(default=None, foreign_key="faqentry.id")
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)  # for staff
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created_at()


class QuestionMessage(SQLModel, table=True):
    """One message of a question's thread, from the resident or from staff."""

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question.id", index=True)
    from_staff: bool
    author_telegram_id: int = _telegram_id(nullable=False)
    text: str = Field(max_length=4000)
    at: datetime = _created_at()


class Supervisor(SQLModel, table=True):
    """A resident appointed a quality supervisor (工程质量监督员) of their community's works."""

    community_id: int = Field(foreign_key="community.id", primary_key=True)
    telegram_id: int = _telegram_id(ForeignKey("user.telegram_id"), primary_key=True)
    appointed_at: datetime = _created_at()


class ObservationState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"  # to the contractor, with a note
    RESOLVED = "resolved"
    NOT_AN_ISSUE = "not_an_issue"


class Observation(SQLModel, table=True):
    """What a quality supervisor saw on the works, and what staff made of it."""

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="community.id", index=True)
    supervisor_telegram_id: int = _telegram_id(nullable=False)
    category: str = Field(max_length=20)  # safety, quality, schedule, cleanliness, other
    severity: str = Field(max_length=10)  # low, medium, high
    place: str = Field(max_length=200)
    text: str = Field(max_length=2000)
    photos: list[str] = Field(default_factory=list, sa_type=JSON)
    latitude: float | None = None
    longitude: float | None = None
    state: str = Field(default=ObservationState.OPEN, max_length=20, index=True)
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()


class WeeklySummary(SQLModel, table=True):
    """A week's supervision summary sent for a community; sent once per week."""

    community_id: int = Field(foreign_key="community.id", primary_key=True)
    week: str = Field(max_length=10, primary_key=True)  # ISO week, e.g. 2026-W48
    sent_at: datetime = _created_at()


class WebLogin(SQLModel, table=True):
    """A one-time login link to the officials' pages, sent by the bot to a staff member.

    Only the token's hash is kept: a leaked database opens no session."""

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_telegram_id: int = _telegram_id(
        ForeignKey("staff.telegram_id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: datetime = _created_at()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A browser logged in to the officials' pages; its cookie holds the id, this its hash."""

    id_hash: str = Field(primary_key=True, max_length=64)
    staff_telegram_id: int = _telegram_id(
        ForeignKey("staff.telegram_id", ondelete="CASCADE"), nullable=False, index=True
    )
    language: str = Field(max_length=10)
    created_at: datetime = _created_at()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ApiKey(SQLModel, table=True):
    """A city system's key to the Open311 API (a 12345 hotline): only its SHA-256 is kept.

    Its communities (``ApiKeyCommunity``) are those it may file requests for; none: all.
    A revoked key keeps its row, so the audit trail can still name it.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _created_at()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKeyCommunity(SQLModel, table=True):
    api_key_id: int = Field(foreign_key="apikey.id", primary_key=True)
    community_id: int = Field(foreign_key="community.id", primary_key=True)
