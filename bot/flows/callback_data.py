"""Callback data: every kind of button, declared once with its prefix and typed fields.

A kind is a small frozen dataclass::

    class Vote(CallbackData, prefix="vote"):
        consultation: int
        choice: Choice

``Vote(12, Choice.AGREE).pack()`` is ``"v1:vote:12:agree"``, and
``Vote.unpack(data)`` gives the Vote back, or None for data that is not
exactly a Vote. The strings are the ones buttons already in residents' chats
carry, so a prefix holds a feature's action too (``rep:cat``). No prefix is the
start of another (``rep`` and ``rep:cat`` cannot both be kinds), so any data
is at most one kind. A button is a request, never a permission: whoever
unpacks one checks everything again. Not PTB's arbitrary_callback_data, whose
cache lives in one process's memory.

Fields are ``int`` (a database id, below 2**31), ``TelegramId`` (64-bit,
written ``u<id>``), ``bool`` (``1``/``0``), short ``str`` (no ``:``), a
``StrEnum`` or a ``Literal``. ``spare`` fields keep the constant parts older
buttons end with.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NewType, Self, TypeVar

from storage.choices import Choice, Stage
from storage.models import NoticeKind

VERSION = "v1"
LIMIT = 64  # bytes: Telegram's limit for callback data
ID_LIMIT = 2**31  # database ids are 32-bit integers
TELEGRAM_ID_LIMIT = 2**63
TEXT_LIMIT = 16  # bytes of a str field

TelegramId = NewType("TelegramId", int)
"""A Telegram user's id: 64-bit, unlike the database's ids."""

_SEGMENT = re.compile(r"[a-z0-9]+")


@dataclasses.dataclass(frozen=True)
class Part:
    """How a field's value is written into callback data and read back (None: not readable)."""

    write: Callable[[Any], str]
    read: Callable[[str], Any]
    largest: Any  # the value written longest, for the 64-byte check


def _read_digits(text: str, limit: int) -> int | None:
    if not (text.isascii() and text.isdigit()) or int(text) >= limit:
        return None
    return int(text)


def _write_number(value: int, limit: int) -> str:
    if not 0 <= value < limit:
        raise ValueError(f"{value} is out of range for callback data")
    return str(value)


def _write_text(value: str) -> str:
    if not 0 < len(value.encode()) <= TEXT_LIMIT or ":" in value:
        raise ValueError(f"{value!r} cannot be a part of callback data")
    return value


def _read_text(text: str) -> str | None:
    return text if 0 < len(text.encode()) <= TEXT_LIMIT else None


def _choices(values: dict[str, Any]) -> Part:
    """A closed set of values, each written as its text."""
    longest = max(values, key=lambda written: len(written.encode()))
    return Part(str, values.get, values[longest])


def part_of(hint: Any) -> Part:
    """The part for a field's type; a type callback data cannot hold is refused."""
    if hint is TelegramId:
        return Part(
            lambda value: "u" + _write_number(value, TELEGRAM_ID_LIMIT),
            lambda text: _read_digits(text[1:], TELEGRAM_ID_LIMIT) if text[:1] == "u" else None,
            TELEGRAM_ID_LIMIT - 1,
        )
    if hint is bool:
        return Part(lambda value: "1" if value else "0", {"1": True, "0": False}.get, True)
    if hint is int:
        return Part(
            lambda value: _write_number(value, ID_LIMIT),
            lambda text: _read_digits(text, ID_LIMIT),
            ID_LIMIT - 1,
        )
    if hint is str:
        return Part(_write_text, _read_text, "x" * TEXT_LIMIT)
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return _choices({member.value: member for member in hint})
    if typing.get_origin(hint) is Literal:
        return _choices({str(value): value for value in typing.get_args(hint)})
    raise TypeError(f"callback data cannot hold a {hint!r}")


KINDS: dict[str, type[CallbackData]] = {}
"""Every kind of button, by prefix."""


class CallbackData:
    """The base of every kind of button. A subclass without a prefix is a shape that
    kinds share (their fields), not a kind itself."""

    prefix: ClassVar[str]
    parts: ClassVar[tuple[Part, ...]]
    __dataclass_fields__: ClassVar[dict[str, Any]]

    if TYPE_CHECKING:
        # Rows' ids are typed ``int | None`` though a stored row's never is None, so
        # constructors take any values and pack() checks each.
        def __init__(self, *values: Any, **named: Any) -> None: ...

    def __init_subclass__(cls, prefix: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True)(cls)
        if prefix is None:
            return
        _check_prefix(prefix, cls)
        hints = typing.get_type_hints(cls)
        cls.prefix = prefix
        cls.parts = tuple(part_of(hints[field.name]) for field in dataclasses.fields(cls))
        cls.largest().pack()  # a kind that could outgrow Telegram's limit is refused now
        KINDS[prefix] = cls

    @classmethod
    def largest(cls) -> Self:
        """The kind with the longest values its fields allow."""
        return cls(*(part.largest for part in cls.parts))

    def pack(self) -> str:
        """The callback data; over Telegram's 64 bytes, or a value it cannot hold, is an error."""
        values = [getattr(self, field.name) for field in dataclasses.fields(self)]
        written = [part.write(value) for part, value in zip(self.parts, values, strict=True)]
        for part, value, text in zip(self.parts, values, written, strict=True):
            if part.read(text) != value:
                raise ValueError(f"{value!r} cannot be read back from callback data")
        data = ":".join([VERSION, self.prefix, *written])
        if len(data.encode()) > LIMIT:
            raise ValueError(f"callback data over {LIMIT} bytes: {data!r}")
        return data

    @classmethod
    def unpack(cls, data: object) -> Self | None:
        """This kind, read from ``data``; None for anything else (stale, forged, another kind)."""
        if not isinstance(data, str):
            return None
        head = [VERSION, *cls.prefix.split(":")]
        texts = data.split(":")
        if texts[: len(head)] != head or len(texts) != len(head) + len(cls.parts):
            return None
        values = [part.read(text) for part, text in zip(cls.parts, texts[len(head) :], strict=True)]
        if any(value is None for value in values):
            return None
        return cls(*values)

    @classmethod
    def last_word(cls) -> str:
        """The last word of the prefix: the action a transition table names the kind by."""
        return cls.prefix.rpartition(":")[2]


def _check_prefix(prefix: str, kind: type) -> None:
    """Words of lower-case letters and digits, none taken, none the start of another."""
    words = prefix.split(":")
    if not all(_SEGMENT.fullmatch(word) for word in words):
        raise TypeError(f"{kind.__name__}: a prefix is words of a-z and 0-9: {prefix!r}")
    for other, taken in KINDS.items():
        shorter = min(len(words), other.count(":") + 1)
        if other.split(":")[:shorter] == words[:shorter]:
            raise TypeError(f"{kind.__name__}: prefix {prefix!r} overlaps {taken.__name__}'s")


K = TypeVar("K", bound=type[CallbackData])


def by_action(*kinds: K) -> dict[str, K]:
    """Kinds by their action: the buttons of a transition table's moves."""
    return {kind.last_word(): kind for kind in kinds}


# Account and binding


class Unbind(CallbackData, prefix="unbind"):
    answer: Literal["yes", "no"]


class Language(CallbackData, prefix="lang"):
    language: str


class MoveHousehold(CallbackData, prefix="move"):
    household: int
    answer: Literal["yes", "no"]


class NoticeSetting(CallbackData, prefix="set"):
    kind: NoticeKind
    turn: Literal["on", "off"]


# Round 1 and the menu of round 2


class Vote(CallbackData, prefix="vote"):
    consultation: int
    choice: Choice


MenuAction = Literal["open", "page", "tog", "info", "send"]


class MenuPress(CallbackData, prefix="menu"):
    """The consultation comes before the action, so the action is a field, not the prefix."""

    consultation: int
    action: MenuAction
    number: int  # a page or an item; 0 for none


# Staff run the consultations: the /staff panel


class OpenRound1(CallbackData, prefix="cons:new"):
    pass


class OpenRound2(CallbackData, prefix="cons:new2"):
    pass


class ConfirmOpening(CallbackData, prefix="cons:go"):
    pass


class CancelOpening(CallbackData, prefix="cons:stop"):
    pass


class OpeningCommunity(CallbackData, prefix="cons:in"):
    community: int


class ConsultationButton(CallbackData):
    consultation: int


class ShowResults(ConsultationButton, prefix="cons:results"):
    pass


class RemindNow(ConsultationButton, prefix="cons:remind"):
    pass


class AskClose(ConsultationButton, prefix="cons:close"):
    pass


class CloseNow(ConsultationButton, prefix="cons:closeyes"):
    pass


class KeepOpen(ConsultationButton, prefix="cons:keep"):
    """The close confirmation's cancel: the round stays open."""


class RemindAgain(ConsultationButton, prefix="cons:remindyes"):
    """A reminder sent again within the quiet time, as staff confirmed."""


class RemindNot(ConsultationButton, prefix="cons:remindno"):
    pass


# Staff settle round 2's plan


class PlanButton(CallbackData):
    consultation: int
    item: int = 0  # 0 for the buttons about no item


class PlanResults(PlanButton, prefix="plan:res"):
    pass


class PlanAskClose(PlanButton, prefix="plan:ask"):
    pass


class PlanClose(PlanButton, prefix="plan:close"):
    pass


class PlanShow(PlanButton, prefix="plan:show"):
    pass


class PlanTakeOut(PlanButton, prefix="plan:out"):
    pass


class PlanPutIn(PlanButton, prefix="plan:in"):
    pass


class PlanConfirm(PlanButton, prefix="plan:ok"):
    pass


# Answers on paper, typed in by staff


class OfflineStart(CallbackData, prefix="offl:new"):
    pass


class OfflineFinish(CallbackData, prefix="offl:stop"):
    pass


class OfflineRound(CallbackData, prefix="offl:c"):
    consultation: int


class OfflineHousehold(CallbackData, prefix="offl:h"):
    household: int


class OfflineAnswer(CallbackData, prefix="offl:a"):
    choice: Choice


class OfflineItem(CallbackData, prefix="offl:item"):
    """Round 2: an item of the household's paper selection, ticked or unticked."""

    item: int


class OfflineItemsDone(CallbackData, prefix="offl:items"):
    pass


class OfflineNoEvidence(CallbackData, prefix="offl:skip"):
    pass


class OfflineConfirm(CallbackData, prefix="offl:ok"):
    pass


# Notices


class NoticeToCommunity(CallbackData, prefix="ntc:c"):
    community: int


class NoticeToUnanswered(CallbackData, prefix="ntc:u"):
    consultation: int


class NoticeToSupervisors(CallbackData, prefix="ntc:s"):
    community: int


class NoticeToCommunities(CallbackData, prefix="ntc:m:0"):
    """Typed names of communities follow."""


class NoticeToBuildings(CallbackData, prefix="ntc:b:0"):
    """A community and its buildings' numbers are typed next."""


class NoticeToEveryone(CallbackData, prefix="ntc:all:0"):
    pass


class NoticeWhen(CallbackData, prefix="ntc:when"):
    when: Literal["now", "at", "weekly"]


class NoticeSend(CallbackData, prefix="ntc:go:0"):
    pass


class NoticeCancel(CallbackData, prefix="ntc:stop:0"):
    pass


class NoticeRetry(CallbackData, prefix="ntc:retry"):
    broadcast: int


# The renovation project


class ProjectShow(CallbackData, prefix="proj:show"):
    community: int
    spare: Literal["-"] = "-"


class ProjectAdvance(CallbackData, prefix="proj:adv"):
    community: int
    stage: Stage


# Quality supervisors and their observations


class SupervisorAdd(CallbackData, prefix="sup:add"):
    community: int
    spare: Literal["new"] = "new"


class SupervisorDismiss(CallbackData, prefix="sup:del"):
    community: int
    person: TelegramId


class InspectionCategory(CallbackData, prefix="obs:cat"):
    category: str
    spare: Literal[0] = 0


class InspectionSeverity(CallbackData, prefix="obs:sev"):
    severity: str
    spare: Literal[0] = 0


class InspectionSend(CallbackData, prefix="obs:send:0:0"):
    pass


class ObservationButton(CallbackData):
    observation: int
    spare: Literal[0] = 0


class ObservationShow(ObservationButton, prefix="obs:show"):
    pass


class ObservationAcknowledge(ObservationButton, prefix="obs:ack"):
    pass


class ObservationAssign(ObservationButton, prefix="obs:assign"):
    pass


class ObservationResolve(ObservationButton, prefix="obs:done"):
    pass


class ObservationDismiss(ObservationButton, prefix="obs:nope"):
    pass


OBSERVATION_MOVES = by_action(
    ObservationAcknowledge, ObservationAssign, ObservationResolve, ObservationDismiss
)


# Repairs: the resident's intake


class RepairNew(CallbackData, prefix="rep:new"):
    pass


class RepairCancel(CallbackData, prefix="rep:cancel"):
    pass


class RepairBack(CallbackData, prefix="rep:back"):
    pass


class RepairCategory(CallbackData, prefix="rep:cat"):
    category: str


class RepairOwnPart(CallbackData, prefix="rep:own"):
    pass


class RepairCommonPart(CallbackData, prefix="rep:common"):
    pass


class RepairDefaultSpot(CallbackData, prefix="rep:spot"):
    pass


class RepairUrgency(CallbackData, prefix="rep:urg"):
    urgent: bool


class RepairPhotosDone(CallbackData, prefix="rep:pdone"):
    pass


class RepairNoLocation(CallbackData, prefix="rep:noloc"):
    pass


class RepairSubmit(CallbackData, prefix="rep:submit"):
    pass


# Repairs: following a request (the resident's ``rep``, staff's queue ``rq``)


class PageButton(CallbackData):
    page: int


class RepairPage(PageButton, prefix="rep:page"):
    pass


class QueuePage(PageButton, prefix="rq:page"):
    pass


class RequestButton(CallbackData):
    request: int


class RepairShow(RequestButton, prefix="rep:show"):
    pass


class RepairConfirm(RequestButton, prefix="rep:ok"):
    pass


class RepairReopen(RequestButton, prefix="rep:re"):
    pass


class RepairAnswer(RequestButton, prefix="rep:ans"):
    pass


class RepairWithdraw(RequestButton, prefix="rep:wd"):
    pass


class RepairRate(CallbackData, prefix="rep:rate"):
    request: int
    stars: int


RESIDENT_MOVES = by_action(RepairConfirm, RepairReopen, RepairWithdraw)


class QueueShow(RequestButton, prefix="rq:show"):
    pass


class QueueSameAsEstimate(RequestButton, prefix="rq:same"):
    pass


class QueueAccept(RequestButton, prefix="rq:acc"):
    pass


class QueueApprove(RequestButton, prefix="rq:ok"):
    pass


class QueueStart(RequestButton, prefix="rq:go"):
    pass


class QueueDone(RequestButton, prefix="rq:done"):
    pass


class QueueClose(RequestButton, prefix="rq:close"):
    pass


class QueueReject(RequestButton, prefix="rq:rej"):
    pass


class QueueAsk(RequestButton, prefix="rq:ask"):
    pass


class QueueEstimate(RequestButton, prefix="rq:est"):
    pass


class QueueFinish(RequestButton, prefix="rq:fin"):
    pass


class QueueToFund(RequestButton, prefix="rq:fund"):
    pass


class QueueToProperty(RequestButton, prefix="rq:prop"):
    pass


STAFF_MOVES = by_action(
    QueueAccept,
    QueueApprove,
    QueueStart,
    QueueDone,
    QueueClose,
    QueueReject,
    QueueEstimate,
    QueueFinish,
)


# Questions: the resident's side and the staff inbox


class QuestionButton(CallbackData):
    question: int


class AskNotRepair(QuestionButton, prefix="ask:go"):
    """ "Not a repair, a question": look in the FAQ after all."""


class AskStaff(QuestionButton, prefix="ask:staff"):
    pass


class AskMore(QuestionButton, prefix="ask:more"):
    pass


class FaqButton(CallbackData):
    question: int
    entry: int


class FaqPick(FaqButton, prefix="ask:pick"):
    pass


class FaqHelped(FaqButton, prefix="ask:ok"):
    pass


class InboxShow(QuestionButton, prefix="inbox:show"):
    pass


class InboxReply(QuestionButton, prefix="inbox:reply"):
    pass


class InboxClose(QuestionButton, prefix="inbox:close"):
    pass


class InboxToFaq(QuestionButton, prefix="inbox:faq"):
    pass
