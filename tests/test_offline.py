"""Answers from paper forms and visits at the flow level: the rule where channels meet,
imports, evidence and the list of who is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import select

from bot.flows import consultation, evidence, importing, offline, round2, turnout
from bot.flows.audit import CLI, Actor
from bot.flows.consultation import ConsultationError, Entry, Replace
from bot.flows.registry import community_named
from bot.flows.tables import TableError
from storage.models import AuditEvent, Ballot, Broadcast, Channel, Delivery
from tests.registry import import_sample_registry
from tests.test_consultation import bind_all, open_round, vote
from tests.test_round2 import choose, open_menu, passed_round1, selection

STAFF = 555
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def paper(**fields) -> Entry:
    return Entry(channel=Channel.PAPER, by=STAFF, **fields)


async def household(db, community: str, typed: str) -> int:
    async with db.session() as session:
        found = await community_named(session, community)
        return await offline.household_at(session, found.id, typed)


async def staff_answer(db, opened, household_id, choice, entry=None, replace=Replace.WITH_REASON):
    async with db.session() as session:
        return await consultation.answer(
            session, opened.id, household_id, choice, entry or paper(), Actor(STAFF), replace
        )


async def ballots(db, consultation_id: int) -> dict[int, tuple[str, str]]:
    async with db.session() as session:
        rows = await session.exec(select(Ballot).where(Ballot.consultation_id == consultation_id))
        return {b.household_id: (b.choice, b.channel) for b in rows}


@pytest.mark.parametrize(
    ("typed", "parts"),
    [
        ("3-1-101", ("3", "1", "101")),
        ("3幢-1单元-101室", ("3", "1", "101")),
        ("5-101", ("5", "", "101")),
        (" 8号楼 1 102 ", ("8", "1", "102")),
        ("3", None),
        ("1-2-3-4", None),
    ],
)
def test_addresses_as_grid_workers_type_them(typed, parts):
    assert offline.parse_address(typed) == parts


async def test_staff_answer_counts_like_a_press_and_tells_the_household(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村")
    target = await household(db, "运南新村", "5-101")
    recorded = await staff_answer(db, opened, target, "agree", paper(evidence="tg:abc"))
    assert recorded.written and recorded.housemates == [residents["5--101"]]
    async with db.session() as session:
        result = await consultation.tally(session, opened.id)
        told = (
            await session.exec(select(Broadcast).where(Broadcast.kind == "ballot.entered"))
        ).one()
        event = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "ballot/cast"))
        ).one()
    assert (result.agree, result.answered) == (1, 1)
    assert told.message_key == "offline.told_agree"
    assert event.details["channel"] == "paper" and event.details["evidence"] == "tg:abc"
    # The resident may still change it in the bot: the latest answer counts.
    await vote(db, opened.id, residents["5--101"], "disagree")
    assert (await ballots(db, opened.id))[target] == ("disagree", "bot")


async def test_a_staff_entry_never_silently_replaces_a_residents_own_answer(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "运南新村")
    opened = await open_round(db, "运南新村")
    target = await household(db, "运南新村", "5-102")
    await vote(db, opened.id, residents["5--102"], "disagree")
    with pytest.raises(ConsultationError) as refused:
        await staff_answer(db, opened, target, "agree")
    assert refused.value.reason == "offline.reason_needed"
    with pytest.raises(ConsultationError) as never:
        await staff_answer(db, opened, target, "agree", paper(reason="改签"), Replace.NEVER)
    assert never.value.reason == "offline.resident_answer_kept"
    assert (await ballots(db, opened.id))[target] == ("disagree", "bot")
    # Saying what the household already answered changes nothing, reason or not.
    same = await staff_answer(db, opened, target, "disagree")
    assert not same.written and (await ballots(db, opened.id))[target] == ("disagree", "bot")
    replaced = await staff_answer(db, opened, target, "agree", paper(reason="本人在纸质表上改签"))
    assert replaced.written and (await ballots(db, opened.id))[target] == ("agree", "paper")
    async with db.session() as session:
        ballot = (await session.exec(select(Ballot).where(Ballot.household_id == target))).one()
        events = list(
            await session.exec(select(AuditEvent).where(AuditEvent.action == "ballot/cast"))
        )
    assert ballot.note == "本人在纸质表上改签" and ballot.cast_by == STAFF
    assert [e.details["previous_channel"] for e in events] == [None, "bot"]
    # Another staff entry over a staff entry needs no reason: the latest counts.
    assert (await staff_answer(db, opened, target, "disagree")).written


async def test_bad_entries_are_refused_and_change_nothing(db):
    await import_sample_registry(db)
    opened = await open_round(db, "运南新村")
    elsewhere = await household(db, "南溪小区", "1-1-101")
    target = await household(db, "运南新村", "5-103")
    for household_id, choice, reason in [
        (target, "maybe", "offline.bad_answer"),
        (elsewhere, "agree", "vote.other_community"),
    ]:
        with pytest.raises(ConsultationError) as refused:
            await staff_answer(db, opened, household_id, choice)
        assert refused.value.reason == reason
    async with db.session() as session:
        await consultation.close(session, opened.id, CLI)
    with pytest.raises(ConsultationError) as closed:
        await staff_answer(db, opened, target, "agree")
    assert closed.value.reason == "vote.closed"
    assert await ballots(db, opened.id) == {}
    assert await household(db, "运南新村", "9-9-999") is None


def answers_csv(tmp_path: Path, *rows: str, name: str = "answers.csv") -> Path:
    path = tmp_path / name
    path.write_text("小区,楼栋,单元,室,意见,日期,网格员,原因\n" + "\n".join(rows) + "\n", "utf-8")
    return path


async def import_answers(db, path: Path, round_: int = 1):
    async with db.session() as session:
        return await offline.import_answers(session, path, round_, CLI, Replace.WITH_REASON)


async def test_an_import_is_all_or_nothing_and_twice_is_once(db, tmp_path):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    opened = await open_round(db, "南溪小区")
    await vote(db, opened.id, residents["1-1-101"], "disagree")
    good = [
        "南溪小区,1幢,1单元,102室,同意,2026-12-01,李网格,",
        "南溪小区,1,2,101,不同意,2026/12/01,李网格,",
        "南溪小区,1,1,101,同意,2026-12-01,李网格,本人到社区改签纸质表",
    ]
    for bad, problem in [
        ("南溪小区,1,1,102,同意,,,", "line 5, column 'room': same household as line 2"),
        ("南溪小区,9,9,909,同意,,,", "line 5, column 'room': no household 9-9-909"),
        ("运南新村,5,,101,同意,,,", "line 5, column 'community': 运南新村 has no open round-1"),
        ("南溪小区,2,1,101,也许,,,", "line 5, column 'answer'"),
        ("南溪小区,2,1,101,同意,昨天,,", "line 5, column 'date'"),
    ]:
        with pytest.raises(TableError) as refused:
            await import_answers(db, answers_csv(tmp_path, *good, bad))
        assert problem in str(refused.value)
    without_reason = good[:2] + ["南溪小区,1,1,101,同意,2026-12-01,李网格,"]
    with pytest.raises(TableError) as refused:
        await import_answers(db, answers_csv(tmp_path, *without_reason))
    assert "line 4, column 'reason'" in str(refused.value)
    assert len(await ballots(db, opened.id)) == 1  # nothing of the refused files

    first = await import_answers(db, answers_csv(tmp_path, *good))
    assert (first.written, first.unchanged) == (3, 0)
    again = await import_answers(db, answers_csv(tmp_path, *good))
    assert (again.written, again.unchanged) == (0, 3)
    answers = await ballots(db, opened.id)
    assert sorted(answers.values()) == [
        ("agree", "paper"),
        ("agree", "paper"),
        ("disagree", "paper"),
    ]
    async with db.session() as session:
        told = (
            await session.exec(
                select(Delivery.telegram_id)
                .join(Broadcast, Broadcast.id == Delivery.broadcast_id)
                .where(Broadcast.kind == "ballot.entered")
            )
        ).all()
    # Each household's residents are told, the one whose own answer was replaced too; once.
    assert sorted(told) == sorted(
        residents[key] for key in ("1-1-101", "1-1-102", "1-2-101")
    )  # the resident whose answer was replaced is told


async def test_an_xlsx_with_english_headers_and_numbers(db, tmp_path):
    await import_sample_registry(db)
    opened = await open_round(db, "梅湾花园")
    workbook = Workbook()
    workbook.active.append(["community", "building", "unit", "room", "answer", "collector"])
    workbook.active.append(["梅湾花园", "8号楼", 1, 101, "agree", "Li"])
    workbook.save(tmp_path / "answers.xlsx")
    assert (await import_answers(db, tmp_path / "answers.xlsx")).written == 1
    assert list((await ballots(db, opened.id)).values()) == [("agree", "paper")]


async def test_a_paper_menu_selection(db, tmp_path):
    await import_sample_registry(db)
    residents = await passed_round1(db)
    opened = await open_menu(db)
    await choose(db, opened.id, residents["1-1-101"], "I01")
    path = answers_csv(tmp_path, "南溪小区,1,1,102,I01、U01,2026-12-01,李网格,")
    assert (await import_answers(db, path, round_=2)).written == 1
    chosen = await selection(db, opened.id)
    assert chosen[await household(db, "南溪小区", "1-1-102")] == {"I01", "U01"}
    assert (await import_answers(db, path, round_=2)).written == 0
    target = await household(db, "南溪小区", "1-1-101")
    for codes, reason in [(["ZZ9"], "menu.unknown_items"), (["U01"], "offline.reason_needed")]:
        with pytest.raises(ConsultationError) as refused:
            async with db.session() as session:
                await round2.record_selection(session, opened.id, target, codes, paper(), CLI)
        assert refused.value.reason == reason
    assert chosen[target] == {"I01"} == (await selection(db, opened.id))[target]


async def test_who_is_missing_by_building_and_channel(db, tmp_path):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    opened = await open_round(db, "南溪小区")
    # A household registered after the round opened is not among the twelve it counts.
    (tmp_path / "later.csv").write_text("community,building,unit,room\n南溪小区,1,1,999\n")
    async with db.session() as session:
        await importing.import_households(session, tmp_path / "later.csv", CLI)
    await vote(db, opened.id, residents["1-1-101"], "agree")
    await staff_answer(db, opened, await household(db, "南溪小区", "2-2-201"), "agree")
    proxy = Entry(channel=Channel.PROXY, by=STAFF)
    await staff_answer(db, opened, await household(db, "南溪小区", "2-2-102"), "disagree", proxy)
    async with db.session() as session:
        missing = await turnout.missing(session, opened)
        buildings = await turnout.by_building(session, opened)
        channels = await turnout.by_channel(session, opened.id)
        after = await offline.next_unanswered(session, opened, missing[0].address)
    assert len(missing) == 9 and all(m.residents == 1 for m in missing)
    assert "999" not in {m.address.room for m in missing}
    assert sum(b.households for b in buildings) == opened.total_households == 12
    assert [(m.address.building, m.address.unit, m.address.room) for m in missing[:2]] == [
        ("1", "1", "102"),
        ("1", "1", "201"),
    ]
    assert [(b.building, b.households, b.answered) for b in buildings] == [("1", 6, 1), ("2", 6, 2)]
    assert channels == {"bot": 1, "paper": 1, "proxy": 1}
    assert (after.unit, after.room) == ("1", "201")


def test_evidence_is_sniffed_and_limited(tmp_path):
    folder = tmp_path / "evidence"
    (tmp_path / "form.png").write_bytes(PNG)
    (tmp_path / "form.jpg").write_bytes(b"MZ not an image")
    (tmp_path / "big.pdf").write_bytes(b"%PDF-1.4" + b"\0" * 3000)
    stored = evidence.store(tmp_path / "form.png", folder, max_kb=1)
    assert stored.startswith("file:") and stored.endswith(".png")
    assert (folder / stored.removeprefix("file:")).read_bytes() == PNG
    assert evidence.store(tmp_path / "form.png", folder, max_kb=1) == stored
    for name, reason in [
        ("form.jpg", "offline.evidence_not_image"),
        ("big.pdf", "offline.evidence_too_large"),
        ("none.png", "offline.evidence_missing"),
    ]:
        with pytest.raises(ConsultationError) as refused:
            evidence.store(tmp_path / name, folder, max_kb=1)
        assert refused.value.reason == reason
    assert len(list(folder.iterdir())) == 1
    with pytest.raises(ConsultationError):
        evidence.check_upload("application/zip", 10, 1)
    with pytest.raises(ConsultationError):
        evidence.check_upload(None, 2048, 1)
    evidence.check_upload("application/pdf", 1024, 1)
