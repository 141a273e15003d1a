"""Answers that reach linli outside the bot: signed paper forms, door-to-door visits, proxies.

Staff record a household's answer on its behalf, one at a time (the chat, the
shell) or from a table typed up from paper forms. Each goes through the same
flow as a resident's press, so the tally never cares about the channel; the
rule where channels meet is ``consultation.admit``. An import is all or
nothing and names the line and column of the first problem; the same file
imported twice changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import OfflineSettings
from bot.flows import consultation, evidence, round2
from bot.flows.audit import Actor, record
from bot.flows.consultation import ConsultationError, Entry, Replace
from bot.flows.importing import HOUSEHOLD_HEADERS, bare
from bot.flows.registry import Address, addresses_in
from bot.flows.tables import TableError, read_rows
from storage.models import (
    Ballot,
    Building,
    Channel,
    Community,
    Consultation,
    ConsultationStatus,
    Household,
)

ANSWER_HEADERS = {
    **HOUSEHOLD_HEADERS,
    "answer": ("answer", "items", "意见", "答复", "征询意见", "选择", "所选项目"),
    "date": ("date", "日期", "填表日期", "签字日期"),
    "collector": ("collector", "收集人", "征询人", "网格员", "经办人"),
    "reason": ("reason", "原因", "改填原因", "说明"),
    "evidence": ("evidence", "证明", "扫描件", "照片", "附件"),
}
ANSWERS = {
    "agree": "agree",
    "同意": "agree",
    "yes": "agree",
    "是": "agree",
    "disagree": "disagree",
    "不同意": "disagree",
    "no": "disagree",
    "否": "disagree",
}
REASON_REFUSALS = {"offline.reason_needed", "offline.resident_answer_kept"}
_ADDRESS_PARTS = re.compile(r"[-－—/\s]+")
_CODES = re.compile(r"[,，、;；\s]+")


def answer_of(typed: str) -> str | None:
    """A round-1 answer as people write it (同意, agree, 是 ...), or None."""
    return ANSWERS.get(typed.strip().lower())


def codes_of(typed: str) -> list[str]:
    """Round-2 item codes as people write them: "R01, G02" or "R01、G02"."""
    return [code for code in _CODES.split(typed.strip().upper()) if code]


def parse_address(typed: str) -> tuple[str, str, str] | None:
    """Building, unit, room from "3-1-101" (or "3-101" without a unit, "3幢-1单元-101室")."""
    parts = [part for part in _ADDRESS_PARTS.split(typed.strip()) if part]
    if len(parts) == 2:
        parts.insert(1, "")
    if len(parts) != 3:
        return None
    building, unit, room = parts
    return bare("building", building), bare("unit", unit) if unit else "", bare("room", room)


async def household_at(session: AsyncSession, community_id: int, typed: str) -> int | None:
    """The community's household at the typed address, or None."""
    parts = parse_address(typed)
    if parts is None:
        return None
    building, unit, room = parts
    statement = (
        select(Household.id)
        .join(Building, Household.building_id == Building.id)
        .where(
            Building.community_id == community_id,
            Building.name == building,
            Household.unit == unit,
            Household.room == room,
        )
    )
    return (await session.exec(statement)).first()


async def open_round(session: AsyncSession, community_id: int, round_: int) -> Consultation | None:
    statement = select(Consultation).where(
        Consultation.community_id == community_id,
        Consultation.round == round_,
        Consultation.status == ConsultationStatus.OPEN,
    )
    return (await session.exec(statement)).first()


async def latest_round(
    session: AsyncSession, community_id: int, round_: int
) -> Consultation | None:
    """The community's newest consultation of the round, open or closed."""
    statement = (
        select(Consultation)
        .where(Consultation.community_id == community_id, Consultation.round == round_)
        .order_by(col(Consultation.id).desc())
    )
    return (await session.exec(statement)).first()


async def open_rounds(session: AsyncSession, community_ids: set[int] | None) -> list[Consultation]:
    """Open consultations of either round, of these communities (None: all)."""
    statement = select(Consultation).where(Consultation.status == ConsultationStatus.OPEN)
    if community_ids is not None:
        statement = statement.where(col(Consultation.community_id).in_(community_ids))
    return list(await session.exec(statement.order_by(Consultation.id)))


async def next_unanswered(
    session: AsyncSession, consultation: Consultation, after: Address
) -> Address | None:
    """The next household of the same building and unit still without an answer: the
    grid worker's next door in the corridor."""
    answered = set(
        await session.exec(
            select(Ballot.household_id).where(Ballot.consultation_id == consultation.id)
        )
    )
    neighbours = [
        address
        for address in await addresses_in(session, consultation.community_id)
        if (address.building, address.unit) == (after.building, after.unit)
        and address.household_id not in answered | {after.household_id}
    ]
    later = [address for address in neighbours if address.room > after.room]
    return (later or neighbours or [None])[0]


async def record_answer(
    session: AsyncSession,
    consultation_: Consultation,
    household_id: int,
    answer: str,
    entry: Entry,
    actor: Actor,
    replace_rule: Replace,
):
    """One household's answer on its behalf: agree/disagree in round 1, item codes in round 2."""
    if consultation_.round == 2:
        return await round2.record_selection(
            session, consultation_.id, household_id, codes_of(answer), entry, actor, replace_rule
        )
    return await consultation.answer(
        session, consultation_.id, household_id, answer, entry, actor, replace_rule
    )


@dataclass(frozen=True)
class ImportedAnswers:
    written: int
    unchanged: int


def _date(path: Path, line: int, typed: str) -> date | None:
    if not typed:
        return None
    try:
        return date.fromisoformat(typed[:10].replace("/", "-"))
    except ValueError:
        raise TableError(
            path, line, "date", "{typed!r} is not a date like 2026-12-01", typed=typed
        ) from None


async def import_answers(
    session: AsyncSession,
    path: Path,
    round_: int,
    actor: Actor,
    replace_rule: Replace,
    shelf: OfflineSettings | None = None,
) -> ImportedAnswers:
    """Households' answers typed up from paper forms: community, building, unit, room, answer
    (同意/不同意, or round 2's item codes), date, collector, the scan of the form (a file
    beside the table, stored on ``shelf``) and, to replace a resident's own bot answer, a
    reason. Every row is checked before anything is written."""
    rows = read_rows(path, ANSWER_HEADERS, required={"community", "building", "room", "answer"})
    communities: dict[str, Consultation] = {}
    seen: dict[tuple[int, int], int] = {}
    work = []
    for row in rows:
        values = row.values
        name = values.get("community", "")
        if name not in communities:
            found = (await session.exec(select(Community).where(Community.name == name))).first()
            if found is None:
                raise TableError(
                    path, row.line, "community", "unknown community {name!r}", name=name
                )
            opened = await open_round(session, found.id, round_)
            if opened is None:
                raise TableError(
                    path,
                    row.line,
                    "community",
                    "{name} has no open round-{round} consultation",
                    name=name,
                    round=round_,
                )
            communities[name] = opened
        opened = communities[name]
        typed = "-".join(values.get(part, "") for part in ("building", "unit", "room"))
        household_id = await household_at(session, opened.community_id, typed)
        if household_id is None:
            raise TableError(
                path, row.line, "room", "no household {typed} in {name}", typed=typed, name=name
            )
        if (opened.id, household_id) in seen:
            raise TableError(
                path,
                row.line,
                "room",
                "same household as line {earlier}",
                earlier=seen[opened.id, household_id],
            )
        seen[opened.id, household_id] = row.line
        answer = values.get("answer", "")
        if round_ == 1:
            answer = answer_of(answer)
            if answer is None:
                raise TableError(path, row.line, "answer", "not 同意/不同意 (agree/disagree)")
        entry = Entry(
            channel=Channel.PAPER,
            by=actor.telegram_id,
            collector=values.get("collector", "")[:100] or None,
            answered_on=_date(path, row.line, values.get("date", "")),
            reason=values.get("reason", "")[:500] or None,
        )
        scan = _scan(path, row.line, values.get("evidence", ""), shelf)
        work.append((row.line, opened, household_id, answer, entry, scan))

    written = 0
    for line, opened, household_id, answer, entry, scan in work:
        if scan is not None and shelf is not None:
            stored = evidence.store(scan, shelf.evidence_dir, shelf.evidence_max_kb)
            entry = replace(entry, evidence=stored)
        try:
            result = await record_answer(
                session, opened, household_id, answer, entry, actor, replace_rule
            )
        except ConsultationError as refusal:
            column = "reason" if refusal.reason in REASON_REFUSALS else "answer"
            raise TableError(path, line, column, "{refusal}", refusal=refusal) from None
        written += result.written
    result = ImportedAnswers(written, len(work) - written)
    record(session, actor, "import/answers", path.name, round=round_, **vars(result))
    return result


def _scan(path: Path, line: int, typed: str, shelf: OfflineSettings | None) -> Path | None:
    """The evidence file a row names, relative to the table's folder, checked."""
    if not typed:
        return None
    if shelf is None:
        raise TableError(path, line, "evidence", "evidence files are not taken here")
    scan = path.parent / typed
    try:
        evidence.check(scan, shelf.evidence_max_kb)
    except ConsultationError as refusal:
        raise TableError(path, line, "evidence", "{refusal}", refusal=refusal) from None
    return scan


def with_evidence(entry: Entry, stored: str | None) -> Entry:
    """An entry with evidence is a paper form; without, staff answered on the household's behalf."""
    return replace(entry, evidence=stored, channel=Channel.PAPER if stored else Channel.PROXY)
