"""Residents' questions (咨询): the FAQ first, then a thread with the community's staff.

A question is kept from the start, so that "ask staff" after the FAQ's
answer, the staff inbox, replies both ways and closing all work on one row.
A question the FAQ has no answer to goes to the staff inbox at once. A
question unanswered for too long reminds the staff; a good answer becomes an
FAQ entry of the community with one press.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows import faq, outbox, repair
from bot.flows.audit import Actor, record
from bot.flows.callback_data import AskMore, InboxShow
from bot.flows.outbox import Button
from bot.flows.refusal import Refusal
from bot.flows.registry import StaffMember
from bot.flows.repair import staff_of_community
from storage.models import (
    Building,
    FaqEntry,
    Household,
    Question,
    QuestionMessage,
    QuestionState,
    RepairRequest,
    Resident,
    Role,
)
from storage.types import utcnow

# Words that make a message look like a repair report rather than a question.
REPAIR_WORDS = re.compile(
    r"漏水|渗水|漏雨|坏了|故障|堵了|堵塞|不通|停电|没电|跳闸|漏电|煤气味|燃气味|裂缝|脱落|掉下|"
    r"塌|积水|爆管|leak|broken|blocked|no power|crack",
    re.IGNORECASE,
)
TEXT_LIMIT = 2000


class AskError(Refusal):
    """A question, reply or answer the flow refuses."""


def looks_like_repair(text: str) -> bool:
    return REPAIR_WORDS.search(faq.normalise(text)) is not None


def has_words(text: str) -> bool:
    """Whether the text has a letter, character or digit: emoji and punctuation alone
    ask nothing the FAQ or staff could answer."""
    return any(character.isalnum() for character in text)


async def answer_staff(
    session: AsyncSession, telegram_id: int, text: str, actor: Actor
) -> list[RepairRequest]:
    """The household's repair requests whose staff wait for an answer to a question they
    asked; with just one, ``text`` is that answer (what a resident types answers staff
    before it asks the FAQ). With several the resident is to choose."""
    statement = (
        select(RepairRequest)
        .join(Resident, col(Resident.household_id) == RepairRequest.household_id)
        .where(Resident.telegram_id == telegram_id, repair.awaits_answer())
        .order_by(col(RepairRequest.id))
    )
    waiting = list(await session.exec(statement))
    if len(waiting) == 1 and waiting[0].id is not None:
        await repair.answer(session, waiting[0].id, telegram_id, text, actor)
    return waiting


@dataclass(frozen=True)
class Asked:
    """A kept question and the FAQ's best answers; with none, it is with staff already.
    A question that sounds like a repair report waits for the resident to choose."""

    question: Question
    matches: list[faq.Match]
    sounds_like_repair: bool = False

    @property
    def confident(self) -> bool:
        return faq.confident(self.matches)


async def community_of_resident(session: AsyncSession, telegram_id: int) -> int:
    """The community of a bound resident; ``ask.unbound`` for anybody else."""
    statement = (
        select(Building.community_id)
        .join(Household, col(Household.building_id) == Building.id)
        .join(Resident, col(Resident.household_id) == Household.id)
        .where(Resident.telegram_id == telegram_id)
    )
    community_id = (await session.exec(statement)).first()
    if community_id is None:
        raise AskError("ask.unbound")
    return community_id


async def ask(
    session: AsyncSession,
    telegram_id: int,
    text: str,
    language: str,
    actor: Actor,
    *,
    community_id: int | None = None,
) -> Asked:
    """Keep the question and find the FAQ's best answers to it, or put it in the staff
    inbox when there are none; ``ask.unbound`` (checked first) for somebody who is no
    resident, ``ask.length`` or ``ask.no_words`` for text that asks nothing. The asker's
    ``community_id``, when the caller read it in this transaction, spares a lookup."""
    if community_id is None:
        community_id = await community_of_resident(session, telegram_id)
    text = text.strip()
    if not 0 < len(text) <= TEXT_LIMIT:
        raise AskError("ask.length", most=TEXT_LIMIT)
    if not has_words(text):
        raise AskError("ask.no_words")
    question = Question(community_id=community_id, asker_telegram_id=telegram_id, text=text)
    if looks_like_repair(text):
        await _keep(session, question)
        return Asked(question, [], sounds_like_repair=True)
    matches = await faq.search(session, text, community_id, language)
    if matches:
        await _keep(session, question)
        return Asked(question, matches)
    _into_inbox(question)  # before it is stored: one INSERT, no UPDATE after it
    await _keep(session, question)
    await _announce(session, question, actor)
    return Asked(question, [])


async def _keep(session: AsyncSession, question: Question) -> None:
    """Store a new question, the first message of its thread."""
    session.add(question)
    await session.flush()
    session.add(
        QuestionMessage(
            question_id=question.id,
            from_staff=False,
            author_telegram_id=question.asker_telegram_id,
            text=question.text,
        )
    )


async def matches_of(
    session: AsyncSession, question_id: int, telegram_id: int, language: str, actor: Actor
) -> Asked:
    """The FAQ's answers to a question that sounded like a repair report but is not one."""
    question = await own_question(session, question_id, telegram_id)
    if question.state == QuestionState.OPEN:
        raise AskError("ask.already_with_staff")
    if question.state != QuestionState.ASKED:
        raise AskError("ask.already_settled")
    return await _answer(session, question, language, actor)


async def _answer(session: AsyncSession, question: Question, language: str, actor: Actor) -> Asked:
    """The FAQ's best answers; with none, the question goes to staff without waiting
    for the resident to ask for it."""
    matches = await faq.search(session, question.text, question.community_id, language)
    if not matches:
        await _escalate(session, question, actor)
    return Asked(question, matches)


async def own_question(session: AsyncSession, question_id: int, telegram_id: int) -> Question:
    question = await session.get(Question, question_id)
    if question is None or question.asker_telegram_id != telegram_id:
        raise AskError("ask.not_found")
    return question


async def entry_for(session: AsyncSession, question: Question, entry_id: int) -> FaqEntry:
    entry = await session.get(FaqEntry, entry_id)
    if entry is None or entry.community_id not in (None, question.community_id):
        raise AskError("ask.not_found")
    return entry


async def answered_by_faq(
    session: AsyncSession, question_id: int, telegram_id: int, entry_id: int, actor: Actor
) -> Question:
    question = await own_question(session, question_id, telegram_id)
    await entry_for(session, question, entry_id)
    if question.state != QuestionState.ASKED:
        raise AskError("ask.already_settled")
    question.state, question.faq_entry_id = QuestionState.ANSWERED_BY_FAQ, entry_id
    record(session, actor, "question/faq_helped", f"question:{question.id}", entry=entry_id)
    return question


async def to_staff(
    session: AsyncSession, question_id: int, telegram_id: int, actor: Actor
) -> Question:
    """The resident asks staff after seeing the FAQ's answers."""
    question = await own_question(session, question_id, telegram_id)
    if question.state not in (QuestionState.ASKED, QuestionState.ANSWERED_BY_FAQ):
        raise AskError("ask.already_with_staff")
    await _escalate(session, question, actor)
    return question


async def _escalate(session: AsyncSession, question: Question, actor: Actor) -> None:
    """Put the question in the staff inbox, waiting from now, and tell the staff."""
    _into_inbox(question)
    await _announce(session, question, actor)


def _into_inbox(question: Question) -> None:
    question.state, question.waiting_since = QuestionState.OPEN, utcnow()


async def _announce(session: AsyncSession, question: Question, actor: Actor) -> None:
    """Record that the question went to staff, and tell them."""
    record(session, actor, "question/to_staff", f"question:{question.id}")
    await _tell_staff(session, question, "ask.new_for_staff", text=question.text)


def _add_to_thread(
    session: AsyncSession, question: Question, author: int, text: str, *, from_staff: bool
) -> str:
    """Add a reply to an open question's thread; the text as kept."""
    text = text.strip()
    if question.state != QuestionState.OPEN:
        raise AskError("ask.closed")
    if not 0 < len(text) <= TEXT_LIMIT:
        raise AskError("ask.length", most=TEXT_LIMIT)
    session.add(
        QuestionMessage(
            question_id=question.id, from_staff=from_staff, author_telegram_id=author, text=text
        )
    )
    return text


async def resident_reply(
    session: AsyncSession, question_id: int, telegram_id: int, text: str, actor: Actor
) -> Question:
    question = await own_question(session, question_id, telegram_id)
    text = _add_to_thread(session, question, telegram_id, text, from_staff=False)
    question.waiting_since = question.waiting_since or utcnow()
    record(session, actor, "question/resident_reply", f"question:{question.id}")
    await _tell_staff(session, question, "ask.resident_replied", text=text)
    return question


async def served_question(session: AsyncSession, question_id: int, member: StaffMember) -> Question:
    question = await session.get(Question, question_id)
    if question is None or not member.serves(question.community_id):
        raise AskError("ask.not_found")
    return question


async def staff_reply(
    session: AsyncSession, question_id: int, member: StaffMember, text: str, actor: Actor
) -> Question:
    question = await served_question(session, question_id, member)
    text = _add_to_thread(session, question, member.telegram_id, text, from_staff=True)
    question.waiting_since = None
    record(session, actor, "question/staff_reply", f"question:{question.id}")
    await outbox.enqueue(
        session,
        "ask/reply",
        [question.asker_telegram_id],
        "ask.staff_replied",
        subject=f"question:{question.id}:{utcnow().isoformat()}",
        values={"question": question.text, "text": text},
        buttons=[[Button("ask.reply_button", AskMore(question.id).pack())]],
    )
    return question


async def close(
    session: AsyncSession, question_id: int, member: StaffMember, actor: Actor
) -> Question:
    question = await served_question(session, question_id, member)
    if question.state != QuestionState.OPEN:
        raise AskError("ask.closed")
    question.state, question.waiting_since = QuestionState.CLOSED, None
    record(session, actor, "question/closed", f"question:{question.id}")
    await outbox.enqueue(
        session,
        "ask/reply",
        [question.asker_telegram_id],
        "ask.closed_for_resident",
        subject=f"question:{question.id}:closed",
        values={"question": question.text},
    )
    return question


async def to_faq(
    session: AsyncSession, question_id: int, member: StaffMember, actor: Actor
) -> FaqEntry:
    """The question and staff's latest answer, as an FAQ entry of the community; once
    (a question already in the community's FAQ is ``ask.already_in_faq``)."""
    question = await served_question(session, question_id, member)
    answer = (
        await session.exec(
            select(QuestionMessage.text)
            .where(QuestionMessage.question_id == question.id, QuestionMessage.from_staff)
            .order_by(col(QuestionMessage.id).desc())
        )
    ).first()
    if answer is None:
        raise AskError("ask.no_answer_yet")
    asked = question.text[:500]
    # The same notion of "already there" as importing a file: same question, same scope.
    existing = await session.exec(
        select(FaqEntry.id).where(
            FaqEntry.community_id == question.community_id, FaqEntry.question_zh == asked
        )
    )
    if existing.first() is not None:
        raise AskError("ask.already_in_faq")
    entry = FaqEntry(community_id=question.community_id, question_zh=asked, answer_zh=answer)
    session.add(entry)
    await session.flush()
    record(session, actor, "faq/from_inbox", f"question:{question.id}", entry=entry.id)
    return entry


async def inbox(session: AsyncSession, member: StaffMember) -> list[Question]:
    """Open questions of the member's communities, the longest waiting first."""
    statement = select(Question).where(Question.state == QuestionState.OPEN)
    if member.role is not Role.ADMIN:
        statement = statement.where(col(Question.community_id).in_(member.community_ids))
    statement = statement.order_by(
        col(Question.waiting_since).is_(None), col(Question.waiting_since), col(Question.id)
    )
    return list(await session.exec(statement.limit(30)))


async def thread(session: AsyncSession, question_id: int) -> list[QuestionMessage]:
    statement = (
        select(QuestionMessage)
        .where(QuestionMessage.question_id == question_id)
        .order_by(col(QuestionMessage.id))
    )
    return list(await session.exec(statement))


async def _tell_staff(
    session: AsyncSession, question: Question, key: str, **values: object
) -> None:
    await outbox.enqueue(
        session,
        "ask/staff",
        await staff_of_community(session, question.community_id),
        key,
        subject=f"question:{question.id}:{key}:{utcnow().isoformat()}",
        values={"number": question.id, **values},
        buttons=[[Button("ask.open_button", InboxShow(question.id).pack())]],
    )


async def remind_unanswered(session: AsyncSession, hours: float) -> int:
    """Remind staff once of each question waiting longer than ``hours`` for them."""
    due = utcnow() - timedelta(hours=hours)
    statement = select(Question).where(
        Question.state == QuestionState.OPEN,
        col(Question.waiting_since) <= due,
        or_(
            col(Question.reminded_at).is_(None),
            col(Question.reminded_at) < Question.waiting_since,
        ),
    )
    reminded = 0
    for question in await session.exec(statement):
        question.reminded_at = utcnow()
        await _tell_staff(session, question, "ask.waiting_too_long", hours=f"{hours:g}")
        reminded += 1
    return reminded
