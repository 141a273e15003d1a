"""What the officials' pages show, read from the flows the bot uses: the same tallies,
ranking, plan, queue and fund report, the same charts and the same spreadsheets."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.flows import (
    charts,
    consultation,
    exports,
    registry,
    repair,
    round1_results,
    round2,
    turnout,
)
from bot.flows.consultation import Ranked, Tally
from bot.flows.exports import Table
from bot.flows.registry import StaffMember
from bot.flows.repair import FundReport, Page
from bot.flows.round1_results import Round1Results
from bot.flows.round2 import MenuTally
from bot.i18n import text
from storage.choices import Role
from storage.models import Community
from storage.types import utcnow


class NotServed(Exception):
    """A community that does not exist or that this member does not serve: the same
    answer for both, so a page tells nobody which communities there are."""


async def community_for(session: AsyncSession, member: StaffMember, community_id: int) -> Community:
    community = await session.get(Community, community_id)
    if community is None or not member.serves(community_id):
        raise NotServed
    return community


# The city ranking (admins)


async def ranking(session: AsyncSession, zone) -> tuple[list[Ranked], dict[int, dict[str, int]]]:
    ranked = await consultation.ranking(session, zone=zone)
    return ranked, await turnout.channels_of(session, [r.tally.consultation_id for r in ranked])


def round1_labels(language: str, title_key: str) -> dict[str, str]:
    """The labels of ``charts.round1_chart``, as the bot's /results and /ranking give them."""
    return {
        "title": text(language, title_key),
        "agree": text(language, "vote.agree"),
        "disagree": text(language, "vote.disagree"),
        "not_answered": text(language, "results.not_answered"),
        "threshold": text(language, "results.threshold"),
    }


def round1_chart(language: str, tallies: list[Tally], title_key: str) -> bytes:
    return charts.round1_chart(tallies, round1_labels(language, title_key))


# A community: round 1, round 2, the repair queue


@dataclass(frozen=True)
class CommunityPage:
    community: Community
    round1: Round1Results | None
    menu: MenuTally | None
    queue: Page


async def round1_of(
    session: AsyncSession, settings: Settings, community_id: int
) -> Round1Results | None:
    tallies = await consultation.current_tallies(session, {community_id})
    shares = settings.consultation.double_tally_shares
    results = await round1_results.results_of(
        session, tallies, shares if settings.consultation.double_tally else None
    )
    return results[0] if results else None


async def menu_of(session: AsyncSession, community_id: int) -> MenuTally | None:
    newest = await round2.newest(session, community_id)
    if newest is None or newest.id is None:
        return None
    return await round2.tally(session, newest.id)


async def community_page(
    session: AsyncSession,
    settings: Settings,
    member: StaffMember,
    community_id: int,
    queue_page: int,
) -> CommunityPage:
    """Raises NotServed, and RepairError for a page of the queue that is not there."""
    community = await community_for(session, member, community_id)
    # The member's queue, narrowed to this community: the order and the states it leaves
    # out are the queue's own.
    here = StaffMember(member.telegram_id, Role.STAFF, frozenset({community_id}))
    return CommunityPage(
        community,
        await round1_of(session, settings, community_id),
        await menu_of(session, community_id),
        await repair.queue(session, here, queue_page),
    )


def age_text(language: str, since: datetime) -> str:
    hours = int((utcnow() - since).total_seconds() // 3600)
    return text(language, "web.age_value", days=hours // 24, hours=hours % 24)


# The fund report


async def fund_report(
    session: AsyncSession, settings: Settings, member: StaffMember, year: int | None
) -> FundReport:
    """The fund's uses in the member's communities (all, for an admin), in ``year`` or ever."""
    first, last = (date(year, 1, 1), date(year, 12, 31)) if year is not None else (None, None)
    if member.role is Role.ADMIN:
        return await repair.fund_report(session, settings.zone, first, last)
    lines = []
    for community in await registry.communities_served(session, member):
        report = await repair.fund_report(session, settings.zone, first, last, community.name)
        lines += report.lines
    return FundReport(lines)


def xlsx(*tables: Table) -> bytes:
    buffer = io.BytesIO()
    exports.write_xlsx(buffer, *tables)
    return buffer.getvalue()
