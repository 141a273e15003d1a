"""A community's renovation project: its stages, planned and reached, and progress notices.

Stages run in a fixed order (design, construction start, main works,
completion, acceptance, handover to the property manager). Advancing one
records when it was reached and tells the community's residents, as a
progress notice they may mute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows import outbox
from bot.flows.audit import Actor, record
from bot.flows.notices import recipients
from bot.flows.refusal import Refusal
from bot.flows.supervision import observation_counts
from storage.models import Community, NoticeKind, ProjectStage, Stage
from storage.types import utcnow

ORDER = list(Stage)


class ProjectError(Refusal):
    """A change the project refuses; ``reason`` is a catalogue key."""


@dataclass(frozen=True)
class StageView:
    stage: Stage
    planned_on: date | None
    reached_at: datetime | None


@dataclass(frozen=True)
class Progress:
    community_id: int
    community: str
    stages: list[StageView]
    observations_open: int = 0  # quality supervisors' observations still being handled
    observations_resolved: int = 0

    @property
    def current(self) -> Stage | None:
        reached = [view.stage for view in self.stages if view.reached_at is not None]
        return reached[-1] if reached else None

    @property
    def next(self) -> Stage | None:
        current = self.current
        if current is None:
            return ORDER[0]
        index = ORDER.index(current) + 1
        return ORDER[index] if index < len(ORDER) else None


async def progress(session: AsyncSession, community_id: int) -> Progress:
    community = await session.get(Community, community_id)
    if community is None:
        raise ProjectError("consult.no_community")
    rows = {
        row.stage: row
        for row in await session.exec(
            select(ProjectStage).where(ProjectStage.community_id == community_id)
        )
    }
    views = [
        StageView(
            stage,
            getattr(rows.get(stage), "planned_on", None),
            getattr(rows.get(stage), "reached_at", None),
        )
        for stage in ORDER
    ]
    still_open, resolved = await observation_counts(session, community_id)
    return Progress(community_id, community.name, views, still_open, resolved)


async def _row(session: AsyncSession, community_id: int, stage: Stage) -> ProjectStage:
    row = (
        await session.exec(
            select(ProjectStage).where(
                ProjectStage.community_id == community_id, ProjectStage.stage == stage
            )
        )
    ).first()
    if row is None:
        row = ProjectStage(community_id=community_id, stage=stage)
        session.add(row)
    return row


async def plan(
    session: AsyncSession, community_id: int, stage: Stage, on: date, actor: Actor
) -> None:
    row = await _row(session, community_id, stage)
    row.planned_on = on
    record(
        session,
        actor,
        "project/plan",
        f"community:{community_id}",
        stage=stage,
        planned_on=on.isoformat(),
    )


async def advance(
    session: AsyncSession, community_id: int, expected: Stage, actor: Actor
) -> Progress:
    """Reach ``expected``, which must be the next stage (a stale button changes nothing)."""
    before = await progress(session, community_id)
    if before.next != expected:
        raise ProjectError("project.not_next")
    row = await _row(session, community_id, expected)
    row.reached_at = utcnow()
    record(session, actor, "project/advance", f"community:{community_id}", stage=expected)
    await outbox.enqueue(
        session,
        "notice.progress",
        await recipients(
            session, {"kind": "communities", "ids": [community_id]}, NoticeKind.PROGRESS
        ),
        f"project.reached_{expected}",
        subject=f"project:{community_id}:{expected}",
        values={"community": before.community},
    )
    return await progress(session, community_id)
