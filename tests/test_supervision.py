"""Supervision at the flow level: who may be appointed, when, observation moves, weekly summary."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, update
from sqlmodel import col, select

from bot.flows import charts, consultation, project, registry, supervision
from bot.flows.audit import CLI, Actor
from bot.flows.supervision import SupervisionError
from bot.i18n import text
from storage.db import is_sqlite
from storage.models import (
    AuditEvent,
    Broadcast,
    Observation,
    ObservationState,
    Role,
    Stage,
    Supervisor,
)
from tests.at_once import one_won, read_together
from tests.registry import import_sample_registry
from tests.test_consultation import bind_all, open_round, vote

SHANGHAI = ZoneInfo("Asia/Shanghai")
S = ObservationState
# A household of each community: building, unit, room.
HOUSEHOLD = {"南溪小区": ("1", "1", "101"), "运南新村": ("5", "", "101")}


async def renovating(db, name: str) -> None:
    """Put the community under renovation the way staff do: plan its project's design."""
    async with db.session() as session:
        community = await registry.community_named(session, name)
        await project.plan(session, community.id, Stage.DESIGN, date.today(), CLI)


async def appointed(db) -> tuple[int, registry.StaffMember, int]:
    """A supervisor of 南溪小区 (under renovation), its staff member, and the community's id."""
    await import_sample_registry(db)
    await renovating(db, "南溪小区")
    residents = await bind_all(db, "南溪小区")
    async with db.session() as session:
        member = await registry.add_staff(session, 9700, Role.STAFF, ["南溪小区"], CLI)
        community = await registry.community_named(session, "南溪小区")
        household = await supervision.household_at(session, community.id, "1", "1", "101")
        await supervision.appoint_household(session, community.id, household, CLI)
    return residents["1-1-101"], member, community.id


async def observe(db, supervisor: int, category: str = "safety") -> int:
    async with db.session() as session:
        await supervision.start_inspection(session, supervisor)
        await supervision.inspection_step(session, supervisor, "category", category=category)
        await supervision.inspection_step(session, supervisor, "severity", severity="high")
        await supervision.inspection_step(session, supervisor, "place", place="3幢脚手架")
        await supervision.inspection_step(session, supervisor, "text", text="脚手架没有防护网")
        observation = await supervision.submit_inspection(session, supervisor, Actor(supervisor))
        return observation.id


async def test_only_bound_households_of_the_community_are_appointed(db):
    await import_sample_registry(db)
    await renovating(db, "南溪小区")
    async with db.session() as session:
        community = await registry.community_named(session, "南溪小区")
        with pytest.raises(SupervisionError, match="supervision.no_household"):
            await supervision.household_at(session, community.id, "9", "9", "999")
        household = await supervision.household_at(session, community.id, "1", "1", "101")
        with pytest.raises(SupervisionError, match="supervision.nobody_bound"):
            await supervision.appoint_household(session, community.id, household, CLI)


async def refusal_to_appoint(db, name: str) -> str | None:
    """Why a household's residents cannot be appointed supervisors of ``name`` now, or None."""
    async with db.session() as session:
        community = await registry.community_named(session, name)
        household = await supervision.household_at(session, community.id, *HOUSEHOLD[name])
        try:
            await supervision.appoint_household(session, community.id, household, CLI)
        except SupervisionError as refusal:
            assert refusal.values == {"community": name}
            return refusal.reason
    return None


async def test_supervisors_are_appointed_only_while_the_community_is_under_renovation(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    await bind_all(db, "运南新村")
    not_renovating = "supervision.not_under_renovation"
    assert await refusal_to_appoint(db, "南溪小区") == not_renovating  # not consulted yet

    nobody_answered = await open_round(db, "南溪小区")
    async with db.session() as session:
        await consultation.close(session, nobody_answered.id, CLI)
    assert await refusal_to_appoint(db, "南溪小区") == not_renovating  # postponed

    passing = await open_round(db, "南溪小区")
    for telegram_id in residents.values():
        await vote(db, passing.id, telegram_id, "agree")
    async with db.session() as session:
        await consultation.close(session, passing.id, CLI)
    assert await refusal_to_appoint(db, "南溪小区") is None  # round 1 passed

    async with db.session() as session:
        nanxi = await registry.community_named(session, "南溪小区")
        for stage in project.ORDER:
            await project.advance(session, nanxi.id, stage, CLI)
    assert await refusal_to_appoint(db, "南溪小区") == not_renovating  # handed over

    assert await refusal_to_appoint(db, "运南新村") == not_renovating
    await renovating(db, "运南新村")  # its project is planned before any consultation
    assert await refusal_to_appoint(db, "运南新村") is None


async def test_nobody_but_a_supervisor_writes_or_sends_an_observation(db):
    supervisor, member, _ = await appointed(db)
    async with db.session() as session:
        with pytest.raises(SupervisionError, match="supervision.you_are_not_a_supervisor"):
            await supervision.start_inspection(session, member.telegram_id)
        await supervision.start_inspection(session, supervisor)
        await supervision.inspection_step(session, supervisor, "category", category="safety")
    async with db.session() as session:  # no longer a supervisor, however that came about
        await session.exec(delete(Supervisor).where(col(Supervisor.telegram_id) == supervisor))
    async with db.session() as session:
        for step in (
            supervision.inspection_step(session, supervisor, "severity", severity="high"),
            supervision.add_media(session, supervisor, "photo", None),
            supervision.submit_inspection(session, supervisor, Actor(supervisor)),
        ):
            with pytest.raises(SupervisionError, match="supervision.you_are_not_a_supervisor"):
                await step
        assert (await session.exec(select(Observation))).all() == []


async def test_observations_move_only_as_the_table_allows(db):
    supervisor, member, _ = await appointed(db)
    observation_id = await observe(db, supervisor)
    async with db.session() as session:
        with pytest.raises(SupervisionError, match="supervision.not_allowed"):
            await supervision.move_observation(session, observation_id, S.RESOLVED, member, CLI)
        with pytest.raises(SupervisionError, match="supervision.note_needed"):
            await supervision.move_observation(session, observation_id, S.NOT_AN_ISSUE, member, CLI)
        await supervision.move_observation(session, observation_id, S.ACKNOWLEDGED, member, CLI)
        other = await registry.add_staff(session, 9701, Role.STAFF, ["运南新村"], CLI)
        with pytest.raises(SupervisionError, match="supervision.not_found"):
            await supervision.move_observation(session, observation_id, S.RESOLVED, other, CLI)
        await supervision.move_observation(session, observation_id, S.RESOLVED, member, CLI)
        community_id = (await registry.community_named(session, "南溪小区")).id
        assert await supervision.observation_counts(session, community_id) == (0, 1)


async def made_at(db, observation_id: int, local: datetime) -> None:
    async with db.session() as session:
        await session.exec(
            update(Observation)
            .where(Observation.id == observation_id)
            .values(created_at=local.astimezone(UTC))
        )


async def test_the_weekly_summary_covers_last_week_and_goes_out_once_from_monday_morning(db):
    supervisor, _, community_id = await appointed(db)
    last_monday = datetime(2025, 3, 3, tzinfo=SHANGHAI)  # ISO week 2025-W10
    this_monday = last_monday + timedelta(days=7)
    for category, local in [
        ("safety", last_monday),  # its first moment
        ("quality", this_monday - timedelta(seconds=1)),  # its last
        ("schedule", this_monday),  # this week's
        ("other", last_monday - timedelta(seconds=1)),  # the week before's
    ]:
        await made_at(db, await observe(db, supervisor, category), local)
    monday_early = this_monday.replace(hour=8)
    later = this_monday.replace(hour=10).astimezone(UTC)
    async with db.session() as session:
        assert await supervision.weekly_summaries_due(session, monday_early, SHANGHAI) == []
        (summary,) = await supervision.weekly_summaries_due(session, later, SHANGHAI)
        assert summary.week == "2025-W10"
        assert summary.total == 2 and set(summary.by_category) == {"safety", "quality"}
        chart = charts.observation_chart("zh_Hans", summary)
        assert chart.startswith(b"\x89PNG")
        assert await supervision.send_weekly_summary(session, summary, chart)
    async with db.session() as session:
        wednesday = later + timedelta(days=2)  # still this week: last week's is sent
        assert await supervision.weekly_summaries_due(session, wednesday, SHANGHAI) == []
        (sent,) = await session.exec(
            select(Broadcast).where(Broadcast.kind == "supervision/summary")
        )
    wording = text("zh_Hans", sent.message_key, **sent.values)
    assert "2025-W10" in wording and "上周共收到监督意见2条" in wording


async def test_two_staff_moving_one_observation_at_once_only_one_wins(db, monkeypatch):
    """Both read the acknowledged observation before either writes; one resolves it, one
    finds it not an issue. One move stands; the other is refused and writes nothing."""
    supervisor, member, _ = await appointed(db)
    observation_id = await observe(db, supervisor)
    async with db.session() as session:
        colleague = await registry.add_staff(session, 9701, Role.STAFF, ["南溪小区"], CLI)
        await supervision.move_observation(session, observation_id, S.ACKNOWLEDGED, member, CLI)
    read_together(db, monkeypatch, supervision, "served_observation")

    async def move(to: ObservationState, who: registry.StaffMember, note: str | None):
        async with db.session() as session:
            return await supervision.move_observation(
                session, observation_id, to, who, Actor(who.telegram_id), note
            )

    won, refused = one_won(
        await asyncio.gather(
            move(S.RESOLVED, member, None),
            move(S.NOT_AN_ISSUE, colleague, "脚手架是别的工地的"),
            return_exceptions=True,
        )
    )
    first = "supervision.not_allowed" if is_sqlite(db.url) else "supervision.moved_meanwhile"
    assert refused.reason == first
    ends = (S.RESOLVED, S.NOT_AN_ISSUE)
    async with db.session() as session:
        after = await session.get(Observation, observation_id)
        events = await session.exec(
            select(AuditEvent.action).where(
                col(AuditEvent.action).in_([f"observation/{end}" for end in ends])
            )
        )
        told = await session.exec(
            select(Broadcast.message_key).where(
                col(Broadcast.message_key).in_([f"supervision.now_{end}" for end in ends])
            )
        )
        actions, messages = events.all(), told.all()
    assert after.state == won.state
    assert (S.ACKNOWLEDGED, after.state) in {(t.source, t.target) for t in supervision.TRANSITIONS}
    assert actions == [f"observation/{after.state}"]
    assert messages == [f"supervision.now_{after.state}"]
