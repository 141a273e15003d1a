"""Repairs at the flow level: money, routing, intake, numbering, the state machine, deadlines."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, update
from sqlmodel import func, select

from bot.config import RepairSettings
from bot.flows import registry, repair
from bot.flows.audit import CLI, Actor
from bot.flows.repair import RepairError
from storage.models import (
    AuditEvent,
    Community,
    Delivery,
    RepairRequest,
    RepairRoute,
    RepairState,
    Role,
)
from storage.types import utcnow
from tests.registry import import_sample_registry
from tests.test_consultation import bind_all

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULES = RepairSettings()
S = RepairState


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=100))
def test_the_two_shares_always_add_up_and_the_owners_share_is_rounded_half_up(cost, percent):
    owners, government = repair.split(cost, percent)
    assert owners + government == cost
    exact_hundredths = cost * percent  # owners' share in hundredths of a fen
    assert owners * 100 - 50 <= exact_hundredths < owners * 100 + 50
    assert owners >= 0 and government >= 0


def test_the_programme_example_split():
    assert repair.split(321_747, 20) == (64_349, 257_398)  # 3,217.47 = 643.49 + 2,573.98
    assert repair.split(250, 20) == (50, 200)
    assert repair.split(3, 50) == (2, 1)  # 1.5 fen: half up to the owners


def community(year: int | None, fund: bool, manager: str | None = None) -> Community:
    return Community(
        name="x", delivery_year=year, has_maintenance_fund=fund, property_manager=manager
    )


@pytest.mark.parametrize(
    ("year", "fund", "common", "urgent", "category", "route"),
    [
        (1995, False, True, True, "roof_leak", RepairRoute.FUND),
        (1999, False, True, False, "gas", RepairRoute.FUND),  # an emergency category
        (2000, False, True, True, "roof_leak", RepairRoute.ORDINARY),  # not before 2000
        (1995, True, True, True, "roof_leak", RepairRoute.ORDINARY),  # has a fund
        (1995, False, False, True, "roof_leak", RepairRoute.ORDINARY),  # own flat
        (1995, False, True, False, "roof_leak", RepairRoute.ORDINARY),  # not urgent
        (None, False, True, True, "roof_leak", RepairRoute.ORDINARY),  # year unknown
    ],
)
def test_routing_to_the_fund_needs_every_condition(year, fund, common, urgent, category, route):
    routing = repair.route_for(community(year, fund), common, urgent, category, RULES)
    assert routing.route == route
    assert len(routing.reasons) == 4


def test_outside_the_fund_a_property_manager_takes_it_when_there_is_one():
    routing = repair.route_for(community(2008, True, "禾城物业"), True, True, "lift", RULES)
    assert routing.route == RepairRoute.PROPERTY
    assert routing.reasons == [
        "repair.why_new",
        "repair.why_has_fund",
        "repair.why_common",
        "repair.why_emergency",
    ]


async def file(db, telegram_id: int, *, common=True, urgent=True, category="roof_leak"):
    """Go through the intake as a resident would, and submit."""
    async with db.session() as session:
        await repair.start_intake(session, telegram_id)
        await repair.choose_category(session, telegram_id, category)
        await repair.choose_place(session, telegram_id, common)
        if common:
            await repair.set_spot(session, telegram_id, "1幢 屋面")
        await repair.choose_urgency(session, telegram_id, urgent)
        await repair.set_description(session, telegram_id, "顶楼楼梯间漏水严重")
        await repair.add_photo(session, telegram_id, "photo-1")
        await repair.photos_done(session, telegram_id)
        await repair.set_location(session, telegram_id, 30.75, 120.75)
        return await repair.submit(session, telegram_id, Actor(telegram_id), RULES, SHANGHAI)


async def staff(db, community_name: str, telegram_id: int = 9300) -> registry.StaffMember:
    async with db.session() as session:
        return await registry.add_staff(session, telegram_id, Role.STAFF, [community_name], CLI)


async def test_requests_are_numbered_per_year_and_a_second_submit_files_nothing(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    first = await file(db, residents["1-1-101"])
    second = await file(db, residents["1-1-102"], common=False)
    year = utcnow().astimezone(SHANGHAI).year
    assert (first.number, second.number) == (f"JX-{year}-000001", f"JX-{year}-000002")
    assert first.route == RepairRoute.FUND and second.route == RepairRoute.ORDINARY
    assert first.photos == ["photo-1"] and first.latitude == 30.75
    async with db.session() as session:
        with pytest.raises(RepairError, match="repair.no_draft"):
            await repair.submit(
                session, residents["1-1-101"], Actor(residents["1-1-101"]), RULES, SHANGHAI
            )
        assert (await session.exec(select(func.count()).select_from(RepairRequest))).one() == 2


async def test_back_and_wrong_steps(db):
    await import_sample_registry(db)
    wang = (await bind_all(db, "南溪小区"))["1-1-101"]
    async with db.session() as session:
        await repair.start_intake(session, wang)
        with pytest.raises(RepairError, match="repair.first_step"):
            await repair.back(session, wang)
        await repair.choose_category(session, wang, "gas")
        await repair.choose_place(session, wang, False)
        assert (await repair.back(session, wang)).step == "place"
        assert (await repair.back(session, wang)).step == "category"
        with pytest.raises(RepairError, match="repair.wrong_step"):
            await repair.choose_urgency(session, wang, True)
        with pytest.raises(RepairError, match="button.stale"):
            await repair.choose_category(session, wang, "volcano")


async def test_the_fund_workflow_to_confirmation_with_exact_money(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    wang = residents["1-1-101"]
    request = await file(db, wang)
    member = await staff(db, "南溪小区")
    async with db.session() as session:
        await repair.staff_move(session, request.id, S.TRIAGED, member, CLI)
        estimated = await repair.estimate(session, request.id, 321_747, member, CLI, RULES)
        assert (estimated.owners_fen, estimated.government_fen) == (64_349, 257_398)
        await repair.staff_move(session, request.id, S.APPROVED, member, CLI)
        await repair.staff_move(session, request.id, S.IN_PROGRESS, member, CLI)
        done = await repair.staff_move(session, request.id, S.DONE, member, CLI)
        assert done.cost_fen == 321_747
        await repair.resident_move(session, request.id, S.REOPENED, wang, Actor(wang), "还在漏")
        await repair.staff_move(session, request.id, S.IN_PROGRESS, member, CLI)
        await repair.staff_move(session, request.id, S.DONE, member, CLI)
        await repair.resident_move(session, request.id, S.CONFIRMED, wang, Actor(wang))
        rated = await repair.rate(session, request.id, wang, 5, Actor(wang))
    assert rated.rating == 5
    async with db.session() as session:
        moves = [
            (e.details["state_from"], e.details["state_to"])
            for e in await repair.history(session, request.id)
            if "state_to" in e.details
        ]
        told = (await session.exec(select(func.count()).select_from(Delivery))).one()
    assert moves[0] == ("submitted", "triaged") and moves[-1] == ("done", "confirmed")
    assert told >= len(moves)  # the household heard of every move


@pytest.mark.parametrize(
    ("state", "to"),
    [
        (S.SUBMITTED, S.DONE),
        (S.SUBMITTED, S.APPROVED),
        (S.TRIAGED, S.APPROVED),
        (S.CONFIRMED, S.IN_PROGRESS),
        (S.REJECTED, S.TRIAGED),
        (S.WITHDRAWN, S.TRIAGED),
    ],
)
async def test_moves_outside_the_table_are_refused_and_change_nothing(db, state, to):
    await import_sample_registry(db)
    wang = (await bind_all(db, "南溪小区"))["1-1-101"]
    request = await file(db, wang)
    member = await staff(db, "南溪小区")
    async with db.session() as session:
        await session.exec(
            update(RepairRequest).where(RepairRequest.id == request.id).values(state=state)
        )
    async with db.session() as session:
        with pytest.raises(RepairError, match="repair.not_allowed"):
            await repair.staff_move(session, request.id, to, member, CLI)
    async with db.session() as session:
        assert (await session.get(RepairRequest, request.id)).state == state


async def test_nobody_acts_beyond_their_role(db):
    await import_sample_registry(db)
    nanxi = await bind_all(db, "南溪小区")
    yunnan = await bind_all(db, "运南新村")
    request = await file(db, nanxi["1-1-101"])
    other_staff = await staff(db, "运南新村", 9400)
    async with db.session() as session:
        with pytest.raises(RepairError, match="repair.not_found"):
            await repair.staff_move(session, request.id, S.TRIAGED, other_staff, CLI)
        neighbour = next(iter(yunnan.values()))
        with pytest.raises(RepairError, match="repair.not_found"):
            await repair.resident_move(session, request.id, S.WITHDRAWN, neighbour, CLI)
        with pytest.raises(RepairError, match="repair.not_allowed"):
            await repair.resident_move(session, request.id, S.TRIAGED, nanxi["1-1-101"], CLI)
        member = await registry.staff_member(session, 9400)
        assert await repair.queue(session, member) == []


async def test_a_rejection_needs_a_reason_and_fund_steps_only_apply_to_the_fund(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    own_flat = await file(db, residents["1-1-102"], common=False)
    member = await staff(db, "南溪小区")
    async with db.session() as session:
        with pytest.raises(RepairError, match="repair.reason_needed"):
            await repair.staff_move(session, own_flat.id, S.REJECTED, member, CLI, " ")
        await repair.staff_move(session, own_flat.id, S.TRIAGED, member, CLI)
        with pytest.raises(RepairError, match="repair.fund_only"):
            await repair.estimate(session, own_flat.id, 10_000, member, CLI, RULES)
        rerouted = await repair.reroute(
            session, own_flat.id, RepairRoute.FUND, "屋顶渗水影响整栋楼", member, CLI
        )
        assert rerouted.route == RepairRoute.FUND and rerouted.route_override


async def test_untriaged_urgent_requests_remind_staff_then_reach_the_admins_once(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    request = await file(db, residents["1-1-101"])
    await staff(db, "南溪小区")
    async with db.session() as session:
        await registry.add_staff(session, 9900, Role.ADMIN, [], CLI)
        await session.exec(
            update(RepairRequest)
            .where(RepairRequest.id == request.id)
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    async with db.session() as session:
        assert await repair.chase_untriaged(session, RULES) == 1  # the staff reminder
    async with db.session() as session:
        assert await repair.chase_untriaged(session, RULES) == 0  # not twice
        await session.exec(
            update(RepairRequest)
            .where(RepairRequest.id == request.id)
            .values(created_at=utcnow() - timedelta(hours=49))
        )
    async with db.session() as session:
        assert await repair.chase_untriaged(session, RULES) == 1  # escalated
        assert await repair.chase_untriaged(session, RULES) == 0
        escalations = await session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "repair/escalated")
        )
        assert escalations.one() == 1


async def seed_fund_year(db, year: int, uses: int, total_fen: int) -> None:
    """``uses`` finished fund repairs in ``year`` whose costs add up to ``total_fen``."""
    async with db.session() as session:
        nanxi = await registry.community_named(session, "南溪小区")
        meixi = await registry.community_named(session, "运南新村")
        households = {
            c.id: (await registry.addresses_in(session, c.id))[0].household_id
            for c in (nanxi, meixi)
        }
        base, extra = divmod(total_fen, uses)
        rows = []
        for n in range(uses):
            cost = base + (1 if n < extra else 0)
            owners, government = repair.split(cost, 20)
            community_id = nanxi.id if n % 3 else meixi.id
            done_at = utcnow().replace(year=year, month=n % 12 + 1, day=15, hour=4)
            rows.append(
                {
                    "number": f"JX-{year}-{n + 1:06d}",
                    "year": year,
                    "sequence": n + 1,
                    "household_id": households[community_id],
                    "community_id": community_id,
                    "reporter_telegram_id": 1,
                    "category": "roof_leak",
                    "common_part": True,
                    "place": "",
                    "urgent": True,
                    "description": "屋面漏水",
                    "photos": [],
                    "state": S.CONFIRMED,
                    "route": RepairRoute.FUND,
                    "route_reasons": [],
                    "estimate_fen": cost,
                    "cost_fen": cost,
                    "owners_fen": owners,
                    "government_fen": government,
                    "created_at": done_at,
                    "updated_at": done_at,
                    "done_at": done_at,
                }
            )
        await session.exec(insert(RepairRequest), params=rows)


async def test_the_fund_report_reproduces_the_citys_figures(db):
    await import_sample_registry(db)
    await seed_fund_year(db, 2020, 4202, 1_073_540_000)  # 4,202 uses, 10,735,400 yuan
    async with db.session() as session:
        report = await repair.fund_report(session, SHANGHAI, date(2020, 1, 1), date(2021, 1, 1))
        nothing = await repair.fund_report(session, SHANGHAI, date(2021, 1, 1), None)
    assert report.uses == 4202
    assert repair.yuan(report.cost_fen) == "10,735,400.00"
    assert report.owners_fen + report.government_fen == report.cost_fen
    assert {line.month for line in report.lines} == {f"2020-{m:02d}" for m in range(1, 13)}
    assert {line.community for line in report.lines} == {"南溪小区", "运南新村"}
    assert nothing.uses == 0


async def test_staff_ask_and_the_households_answer_comes_back_into_the_request(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    wang = residents["1-1-101"]
    request = await file(db, wang)
    member = await staff(db, "南溪小区")
    async with db.session() as session:
        with pytest.raises(RepairError, match="repair.cannot_answer"):
            await repair.answer(session, request.id, wang, "没有人问", Actor(wang))
        await repair.ask_resident(session, request.id, "漏水点在哪个房间上方？", member, CLI)
    async with db.session() as session:
        answered = await repair.answer(session, request.id, wang, "在 602 室上方", Actor(wang))
    assert answered.question is None and answered.description.endswith("在 602 室上方")
    async with db.session() as session:
        actions = [e.action for e in await repair.history(session, request.id)]
    assert actions == ["repair/submitted", "repair/asked", "repair/answered"]
