"""Repairs at the flow level: money, routing, intake, numbering, the state machine, deadlines."""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, update
from sqlmodel import col, func, select

from bot.config import RepairSettings
from bot.flows import exports, registry, repair
from bot.flows.audit import CLI, Actor
from bot.flows.people import meet
from bot.flows.repair import RepairError
from storage.db import is_sqlite
from storage.models import (
    AuditEvent,
    Broadcast,
    Community,
    Delivery,
    RepairRequest,
    RepairRoute,
    RepairState,
    Role,
)
from storage.types import utcnow
from tests.at_once import one_won, read_together
from tests.registry import import_sample_registry
from tests.sheets import first_sheet
from tests.test_cli import LINLI
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
    # The fund's reasons are its four conditions; any other route's only those not met.
    assert len(routing.reasons) == (4 if route == RepairRoute.FUND else 1)


def test_outside_the_fund_a_property_manager_takes_it_when_there_is_one():
    routing = repair.route_for(community(2008, True, "禾城物业"), True, True, "lift", RULES)
    assert routing.route == RepairRoute.PROPERTY
    assert routing.reasons == ["repair.why_new", "repair.why_has_fund"]


async def file(
    db,
    telegram_id: int,
    *,
    common=True,
    urgent=True,
    category="roof_leak",
    submit=True,
    photo: str | None = "photo-1",
):
    """Go through the intake as a resident would, and submit (or stop at the summary).
    ``photo`` is the file id of its one photo (None: no photo)."""
    async with db.session() as session:
        await repair.start_intake(session, telegram_id)
        await repair.choose_category(session, telegram_id, category)
        await repair.choose_place(session, telegram_id, common)
        if common:
            await repair.set_spot(session, telegram_id, "1幢 屋面")
        await repair.choose_urgency(session, telegram_id, urgent)
        await repair.set_description(session, telegram_id, "顶楼楼梯间漏水严重")
        if photo is not None:
            await repair.add_photo(session, telegram_id, photo)
        await repair.photos_done(session, telegram_id)
        await repair.set_location(session, telegram_id, 30.75, 120.75)
        if submit:
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


async def test_two_submits_handled_at_once_file_one_request(db):
    """Submit pressed twice, the presses handled side by side (two bot processes): one
    request is filed, the other press finds no draft."""
    await import_sample_registry(db)
    wang = (await bind_all(db, "南溪小区"))["1-1-101"]
    await file(db, wang, submit=False)

    async def press():
        async with db.session() as session:
            return await repair.submit(session, wang, Actor(wang), RULES, SHANGHAI)

    outcomes = await asyncio.gather(press(), press(), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["RepairError", "RepairRequest"]
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(RepairRequest))).one() == 1


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


async def fund_request_in_progress(db) -> tuple[RepairRequest, int, registry.StaffMember]:
    """王芳's roof leak, estimated at 3,217.47 yuan, approved and being repaired."""
    request, wang, member = await estimated_request(db)
    async with db.session() as session:
        estimated = await session.get(RepairRequest, request.id)
        assert (estimated.owners_fen, estimated.government_fen) == (64_349, 257_398)
        await repair.staff_move(session, request.id, S.APPROVED, member, CLI)
        await repair.staff_move(session, request.id, S.IN_PROGRESS, member, CLI)
    return request, wang, member


async def test_the_fund_workflow_to_confirmation_with_exact_money(db):
    request, wang, member = await fund_request_in_progress(db)
    async with db.session() as session:
        with pytest.raises(RepairError, match="repair.final_cost_needed"):
            await repair.staff_move(session, request.id, S.DONE, member, CLI)
        done = await repair.finish_fund_repair(session, request.id, 330_000, member, CLI, RULES)
        assert (done.estimate_fen, done.cost_fen) == (321_747, 330_000)
        assert (done.owners_fen, done.government_fen) == (66_000, 264_000)  # of the final cost
        await repair.resident_move(session, request.id, S.REOPENED, wang, Actor(wang), "还在漏")
        await repair.staff_move(session, request.id, S.IN_PROGRESS, member, CLI)
        again = await repair.finish_fund_repair(session, request.id, None, member, CLI, RULES)
        assert (again.cost_fen, again.owners_fen, again.government_fen) == (
            321_747,  # "same as the estimate"
            64_349,
            257_398,
        )
        await repair.resident_move(session, request.id, S.CONFIRMED, wang, Actor(wang))
        rated = await repair.rate(session, request.id, wang, 5, Actor(wang))
    assert rated.rating == 5
    async with db.session() as session:
        moves = [
            (e.details["state_from"], e.details["state_to"])
            for e in await repair.history(session, request)
            if "state_to" in e.details
        ]
        told = (await session.exec(select(func.count()).select_from(Delivery))).one()
    assert moves[0] == ("submitted", "triaged") and moves[-1] == ("done", "confirmed")
    assert told >= len(moves)  # the household heard of every move


async def test_a_reopened_request_tells_the_communitys_staff_why(db):
    request, wang, member = await fund_request_in_progress(db)
    async with db.session() as session:
        await repair.finish_fund_repair(session, request.id, None, member, CLI, RULES)
        await repair.resident_move(
            session, request.id, S.REOPENED, wang, Actor(wang), "  楼梯间还在滴水 "
        )
    async with db.session() as session:
        (told,) = await session.exec(
            select(Broadcast).where(Broadcast.message_key == "repair.reopened_for_staff")
        )
        recipients = await session.exec(
            select(Delivery.telegram_id).where(Delivery.broadcast_id == told.id)
        )
        assert list(recipients) == [member.telegram_id]
    assert told.values == {"number": request.number, "reason": "楼梯间还在滴水"}


async def test_a_community_without_staff_is_heard_by_the_admins(db):
    """Nothing a resident sends waits for nobody: where a community has no staff of its
    own, its new repairs reach the admins; once it has staff, only them."""
    await import_sample_registry(db)
    wang = (await bind_all(db, "南溪小区"))["1-1-101"]
    async with db.session() as session:
        await registry.add_staff(session, 9100, registry.Role.ADMIN, [], CLI)

    async def told_of_new_repairs() -> list[list[int]]:
        async with db.session() as session:
            broadcasts = await session.exec(
                select(Broadcast.id)
                .where(Broadcast.kind == "repair/staff")
                .order_by(col(Broadcast.id))
            )
            return [
                list(
                    await session.exec(
                        select(Delivery.telegram_id).where(Delivery.broadcast_id == broadcast)
                    )
                )
                for broadcast in broadcasts
            ]

    await file(db, wang)
    assert await told_of_new_repairs() == [[9100]]
    async with db.session() as session:
        await registry.add_staff(session, 9101, registry.Role.STAFF, ["南溪小区"], CLI)
    await file(db, wang, category="lift")
    assert (await told_of_new_repairs())[1:] == [[9101]]


@pytest.mark.parametrize("cost", [-1, 0, None])
async def test_a_final_cost_that_is_no_amount_is_refused_and_changes_nothing(db, cost):
    request, _, member = await fund_request_in_progress(db)
    async with db.session() as session:
        # None means "same as the estimate": refused where there is no estimate.
        await session.exec(
            update(RepairRequest).where(RepairRequest.id == request.id).values(estimate_fen=None)
        )
    async with db.session() as session:
        events = (await session.exec(select(func.count()).select_from(AuditEvent))).one()
        with pytest.raises(RepairError, match="repair.bad_amount"):
            await repair.finish_fund_repair(session, request.id, cost, member, CLI, RULES)
    async with db.session() as session:
        after = await session.get(RepairRequest, request.id)
        assert (after.state, after.cost_fen, after.done_at) == (S.IN_PROGRESS, None, None)
        assert (after.owners_fen, after.government_fen) == (64_349, 257_398)
        assert (await session.exec(select(func.count()).select_from(AuditEvent))).one() == events


async def test_outside_the_fund_work_is_finished_without_a_cost(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    own_flat = await file(db, residents["1-1-102"], common=False)
    member = await staff(db, "南溪小区")
    async with db.session() as session:
        await repair.staff_move(session, own_flat.id, S.TRIAGED, member, CLI)
        await repair.staff_move(session, own_flat.id, S.IN_PROGRESS, member, CLI)
        with pytest.raises(RepairError, match="repair.fund_only"):
            await repair.finish_fund_repair(session, own_flat.id, 10_000, member, CLI, RULES)
        done = await repair.staff_move(session, own_flat.id, S.DONE, member, CLI)
    assert done.state == S.DONE and done.cost_fen is None and done.done_at is not None


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
        assert (await repair.queue(session, member)).requests == []


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


async def test_a_request_rerouted_to_the_property_manager_reaches_them_or_their_phone(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    member = await staff(db, "南溪小区")
    told = []
    for telegram_account in (None, 9700):
        async with db.session() as session:
            nanxi = await registry.community_named(session, "南溪小区")
            nanxi.property_manager = "南溪物业 0573-1234 5678"
            nanxi.property_manager_telegram_id = telegram_account
            if telegram_account is not None:
                await meet(session, telegram_account, "南溪物业", "zh-hans")
        request = await file(db, residents["1-1-101"])  # an urgent roof leak: the fund's
        assert request.route == RepairRoute.FUND
        async with db.session() as session:
            await repair.reroute(
                session, request.id, RepairRoute.PROPERTY, "小区另有维修资金", member, CLI
            )
            latest = select(Broadcast).order_by(col(Broadcast.id).desc())
            told.append([b.message_key for b in (await session.exec(latest.limit(2))).all()])
    assert told[0][0] == "repair.rerouted_property_contact"
    assert told[1] == ["repair.rerouted_property_sent", "repair.for_property_manager"]


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


def seeded_costs(uses: int, total_fen: int) -> list[int]:
    """``uses`` costs in fen adding up to ``total_fen``, spread up to 2,000 yuan either side
    of the average in pairs, so that the owners' shares round both down and up."""
    base, extra = divmod(total_fen, uses)
    costs = []
    for n in range(uses):
        paired = n + 1 < uses or n % 2 == 1
        spread = (n // 2 * 7919) % 200_000 if paired else 0
        costs.append(base + (1 if n < extra else 0) + (spread if n % 2 == 0 else -spread))
    return costs


async def seed_fund_year(db, year: int, uses: int, total_fen: int) -> None:
    """``uses`` finished fund repairs in ``year`` whose final costs add up to ``total_fen``;
    every 3rd in 运南新村, the rest in 南溪小区. Each was estimated 100 yuan too high, so a
    report that counted estimates would be off."""
    async with db.session() as session:
        nanxi = await registry.community_named(session, "南溪小区")
        yunnan = await registry.community_named(session, "运南新村")
        households = {
            c.id: (await registry.addresses_in(session, c.id))[0].household_id
            for c in (nanxi, yunnan)
        }
        rows = []
        for n, cost in enumerate(seeded_costs(uses, total_fen)):
            owners, government = repair.split(cost, 20)
            community_id = nanxi.id if n % 3 else yunnan.id
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
                    "estimate_fen": cost + 10_000,
                    "cost_fen": cost,
                    "owners_fen": owners,
                    "government_fen": government,
                    "created_at": done_at,
                    "updated_at": done_at,
                    "done_at": done_at,
                }
            )
        await session.exec(insert(RepairRequest), params=rows)


def test_the_seeded_costs_add_up_and_their_shares_round_both_ways():
    costs = seeded_costs(4202, 1_073_540_000)
    assert len(costs) == 4202 and sum(costs) == 1_073_540_000 and min(costs) > 0
    hundredths_of_a_fen = {cost * 20 % 100 for cost in costs}  # in the owners' 20%
    assert hundredths_of_a_fen == {0, 20, 40, 60, 80}
    assert sum(seeded_costs(4201, 10**9 + 1)) == 10**9 + 1  # an odd count too


async def test_the_fund_report_reproduces_the_citys_figures(db):
    await import_sample_registry(db)
    await seed_fund_year(db, 2020, 4202, 1_073_540_000)  # 4,202 uses, 10,735,400 yuan
    async with db.session() as session:
        report = await repair.fund_report(session, SHANGHAI, date(2020, 1, 1), date(2020, 12, 31))
        nothing = await repair.fund_report(session, SHANGHAI, date(2021, 1, 1), None)
        yunnan = await repair.fund_report(session, SHANGHAI, community="运南新村")
    assert report.uses == 4202
    assert repair.yuan(report.cost_fen) == "10,735,400.00"
    # Each request's owners' share is rounded half up to the fen and the government's is
    # the rest (repair.split), then the shares are added up: 1 fen more for the owners
    # than 20% of the total would give, and still exactly the whole.
    assert repair.yuan(report.owners_fen) == "2,147,080.01"
    assert repair.yuan(report.government_fen) == "8,588,319.99"
    assert {line.month for line in report.lines} == {f"2020-{m:02d}" for m in range(1, 13)}
    assert {line.community for line in report.lines} == {"南溪小区", "运南新村"}
    assert (yunnan.uses, yunnan.cost_fen, yunnan.owners_fen) == (1401, 357_818_428, 71_563_687)
    assert nothing.uses == 0


async def test_the_fund_report_counts_the_final_cost_within_its_days(db):
    request, _, member = await fund_request_in_progress(db)
    async with db.session() as session:
        await repair.finish_fund_repair(session, request.id, 330_000, member, CLI, RULES)
    today = utcnow().astimezone(SHANGHAI).date()
    async with db.session() as session:
        on_the_day = await repair.fund_report(session, SHANGHAI, today, today, "南溪小区")
        elsewhere = await repair.fund_report(session, SHANGHAI, today, today, "梅湾花园")
        before = await repair.fund_report(session, SHANGHAI, None, today - timedelta(days=1))
        with pytest.raises(RepairError, match="repair.period_reversed"):
            await repair.fund_report(session, SHANGHAI, today, today - timedelta(days=1))
        with pytest.raises(RepairError, match="repair.no_community"):
            await repair.fund_report(session, SHANGHAI, community="火星小区")
    assert (on_the_day.uses, on_the_day.cost_fen) == (1, 330_000)
    assert (on_the_day.owners_fen, on_the_day.government_fen) == (66_000, 264_000)
    assert elsewhere.uses == 0 and before.uses == 0


def linli(database_url: str, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``linli`` as an operator runs it in ``folder``, against the test database."""
    environment = {**os.environ, "LINLI_DATABASE__URL": database_url}
    return subprocess.run(
        [*LINLI, *args], cwd=folder, env=environment, capture_output=True, text=True, timeout=120
    )


async def test_linli_report_fund_prints_writes_and_draws_the_year(db, database_url, tmp_path):
    await import_sample_registry(db)
    await seed_fund_year(db, 2020, 4202, 1_073_540_000)
    year = ["--from", "2020-01-01", "--to", "2020-12-31"]
    printed = linli(database_url, tmp_path, "report", "fund", *year, "--out", "fund.xlsx")
    assert printed.returncode == 0, printed.stderr
    totals = "uses 4202\t10,735,400.00 yuan\towners 2,147,080.01\tgovernment 8,588,319.99"
    assert printed.stdout.splitlines()[-2] == f"total\t{totals}"
    with open(tmp_path / "fund.csv", encoding="utf-8-sig") as table:
        *_, last_row = csv.reader(table)
    assert last_row == ["合计 total", "", "4202", "10735400.00", "2147080.01", "8588319.99"]
    # A head, a line per community and month (运南新村 in 4 months, 南溪小区 in 8), the totals.
    sheet = first_sheet(tmp_path / "fund.xlsx")
    assert sheet.max_row == 1 + 12 + 1
    # Money is a number of yuan with a yuan format, so a spreadsheet adds it up.
    assert [cell.value for cell in sheet[14]][2:] == [4202, 10735400, 2147080.01, 8588319.99]
    assert {cell.number_format for cell in sheet[14][3:]} == {exports.MONEY_FORMAT}

    only_nanxi = [*year, "--community", "南溪小区", "--chart", "nanxi.png"]
    nanxi = linli(database_url, tmp_path, "report", "fund", *only_nanxi)
    assert nanxi.returncode == 0, nanxi.stderr
    assert "total\tuses 2801\t7,157,215.72 yuan\towners 1,431,443.14" in nanxi.stdout
    assert (tmp_path / "nanxi.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--from", "2020-12-31", "--to", "2020-01-01"], "早于开始日期2020-12-31"),
        (["--community", "火星小区"], "没有名为「火星小区」的小区"),
        (["--out", "fund.txt"], "fund.txt：请写.csv或.xlsx"),
        (["--chart", "fund.jpg"], "fund.jpg：请写.png"),
        (["--to", "31.12.2020"], "请写成2026-01-01这样"),
    ],
)
async def test_linli_report_fund_mistakes_get_one_clear_line(
    db, database_url, tmp_path, args, said
):
    await import_sample_registry(db)
    result = linli(database_url, tmp_path, "report", "fund", *args)
    assert result.returncode == 2
    assert result.stderr.startswith("linli: ") and said in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing written


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
        actions = [e.action for e in await repair.history(session, request)]
    assert actions == ["repair/submitted", "repair/asked", "repair/answered"]


async def estimated_request(db) -> tuple[RepairRequest, int, registry.StaffMember]:
    """王芳's roof leak, accepted and estimated at 3,217.47 yuan."""
    await import_sample_registry(db)
    wang = (await bind_all(db, "南溪小区"))["1-1-101"]
    request = await file(db, wang)
    member = await staff(db, "南溪小区")
    async with db.session() as session:
        await repair.staff_move(session, request.id, S.TRIAGED, member, CLI)
        await repair.estimate(session, request.id, 321_747, member, CLI, RULES)
    return request, wang, member


async def test_staff_revise_the_estimate_until_the_money_is_approved(db):
    request, _, member = await estimated_request(db)
    async with db.session() as session:
        revised = await repair.estimate(session, request.id, 350_003, member, CLI, RULES)
    assert (revised.state, revised.estimate_fen) == (S.ESTIMATED, 350_003)
    assert (revised.owners_fen, revised.government_fen) == (70_001, 280_002)  # 70,000.6 up
    async with db.session() as session:
        (event,) = await session.exec(
            select(AuditEvent).where(AuditEvent.action == "repair/estimate_revised")
        )
        (told,) = await session.exec(
            select(Broadcast).where(Broadcast.message_key == "repair.now_estimate_revised")
        )
    assert event.details["previous_estimate_fen"] == 321_747
    assert (event.details["estimate_fen"], event.details["owners_fen"]) == (350_003, 70_001)
    assert (told.values["previous"], told.values["estimate"]) == ("3,217.47", "3,500.03")
    assert (told.values["owners"], told.values["government"]) == ("700.01", "2,800.02")

    async with db.session() as session:
        with pytest.raises(RepairError, match="repair.same_estimate"):
            await repair.estimate(session, request.id, 350_003, member, CLI, RULES)
        with pytest.raises(RepairError, match="repair.bad_amount"):
            await repair.estimate(session, request.id, 0, member, CLI, RULES)
        await repair.staff_move(session, request.id, S.APPROVED, member, CLI)
    async with db.session() as session:  # approved money is not estimated again
        with pytest.raises(RepairError, match="repair.not_allowed"):
            await repair.estimate(session, request.id, 360_000, member, CLI, RULES)
    async with db.session() as session:
        after = await session.get(RepairRequest, request.id)
        revisions = await session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "repair/estimate_revised")
        )
        assert revisions.one() == 1
    assert (after.state, after.estimate_fen, after.owners_fen) == (S.APPROVED, 350_003, 70_001)


async def test_two_revisions_at_once_lose_neither_figure_from_the_record(db):
    """Two staff revise the same estimate side by side: each revision that stands starts
    from the figure the one before it left, so the record chains without a gap."""
    request, _, member = await estimated_request(db)

    async def revise(fen: int):
        async with db.session() as session:
            return await repair.estimate(session, request.id, fen, member, CLI, RULES)

    outcomes = await asyncio.gather(revise(330_000), revise(340_000), return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert all(getattr(o, "reason", None) == "repair.changed_meanwhile" for o in refused)
    async with db.session() as session:
        events = await session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "repair/estimate_revised")
            .order_by(AuditEvent.id)
        )
        chain = [(e.details["previous_estimate_fen"], e.details["estimate_fen"]) for e in events]
        final = (await session.get(RepairRequest, request.id)).estimate_fen
    assert len(chain) == 2 - len(refused) >= 1
    assert chain[0][0] == 321_747 and chain[-1][1] == final
    assert all(earlier[1] == later[0] for earlier, later in pairwise(chain))


@pytest.mark.parametrize(
    ("state", "route", "staff_may"),
    [
        (S.SUBMITTED, RepairRoute.FUND, [(S.TRIAGED, "acc"), (S.REJECTED, "rej")]),
        (S.TRIAGED, RepairRoute.FUND, [(S.ESTIMATED, "est"), (S.REJECTED, "rej")]),
        (S.TRIAGED, RepairRoute.PROPERTY, [(S.IN_PROGRESS, "go"), (S.REJECTED, "rej")]),
        (S.ESTIMATED, RepairRoute.FUND, [(S.APPROVED, "ok"), (S.ESTIMATED, "est")]),
        (S.IN_PROGRESS, RepairRoute.FUND, [(S.DONE, "fin")]),
        (S.IN_PROGRESS, RepairRoute.ORDINARY, [(S.DONE, "done")]),
        (S.DONE, RepairRoute.FUND, [(S.CLOSED, "close")]),
        (S.CONFIRMED, RepairRoute.FUND, []),
    ],
)
def test_the_moves_staff_are_offered_come_from_the_table(state, route, staff_may):
    request = RepairRequest(state=state, route=route)
    offered = repair.MACHINE.available(request, repair.STAFF)
    assert [(move.target, move.action) for move in offered] == staff_may


def test_a_revised_estimate_and_the_end_of_a_fund_repair_have_buttons_of_their_own():
    estimated = RepairRequest(state=S.ESTIMATED, route=RepairRoute.FUND)
    labels = [move.label for move in repair.MACHINE.available(estimated, repair.STAFF)]
    assert labels == ["queue.do_ok", "queue.do_revise"]
    done = RepairRequest(state=S.DONE, route=RepairRoute.FUND)
    asked = [move.action for move in repair.MACHINE.available(done, repair.RESIDENT)]
    assert asked == ["ok", "re"]


async def test_the_queue_and_a_households_list_come_in_pages_in_order(db):
    await import_sample_registry(db)
    residents = await bind_all(db, "南溪小区")
    wang = residents["1-1-101"]
    filed = [await file(db, wang, urgent=n % 3 == 0) for n in range(repair.PAGE_SIZE + 5)]
    member = await staff(db, "南溪小区")
    urgent_then_newest = sorted(filed, key=lambda r: (not r.urgent, -r.id))
    newest = sorted(filed, key=lambda r: -r.id)
    async with db.session() as session:
        queue = [await repair.queue(session, member, n) for n in (1, 2)]
        listed = [await repair.of_household(session, wang, n) for n in (1, 2)]
        for number in (0, 3):
            with pytest.raises(RepairError, match="repair.page_gone") as refused:
                await repair.queue(session, member, number)
            assert refused.value.values == {"pages": 2}
    assert [(p.number, p.pages, len(p.requests)) for p in queue] == [(1, 2, 20), (2, 2, 5)]
    assert [r.id for p in queue for r in p.requests] == [r.id for r in urgent_then_newest]
    assert [r.id for p in listed for r in p.requests] == [r.id for r in newest]


async def test_a_resident_confirming_as_staff_close_the_request_only_one_wins(db, monkeypatch):
    """Both read the done request before either writes: the household confirms the repair
    while staff close it unanswered. One move stands; the other is refused, writes no
    event and tells nobody."""
    await import_sample_registry(db)
    wang = (await bind_all(db, "南溪小区"))["1-1-102"]
    request = await file(db, wang, common=False)
    member = await staff(db, "南溪小区")
    async with db.session() as session:
        for to in (S.TRIAGED, S.IN_PROGRESS, S.DONE):
            await repair.staff_move(session, request.id, to, member, CLI)
    read_together(db, monkeypatch, repair, "request_for_staff", "request_for_resident")

    async def close():
        async with db.session() as session:
            return await repair.staff_move(session, request.id, S.CLOSED, member, CLI)

    async def confirm():
        async with db.session() as session:
            return await repair.resident_move(session, request.id, S.CONFIRMED, wang, Actor(wang))

    won, refused = one_won(await asyncio.gather(close(), confirm(), return_exceptions=True))
    first = "repair.not_allowed" if is_sqlite(db.url) else "repair.changed_meanwhile"
    assert refused.reason == first
    ends = (S.CLOSED, S.CONFIRMED)
    async with db.session() as session:
        after = await session.get(RepairRequest, request.id)
        events = await session.exec(
            select(AuditEvent.action).where(
                col(AuditEvent.action).in_([f"repair/{end}" for end in ends])
            )
        )
        told = await session.exec(
            select(Broadcast.message_key).where(
                col(Broadcast.message_key).in_([f"repair.now_{end}" for end in ends])
            )
        )
        actions, messages = events.all(), told.all()
    assert after.state == won.state
    assert (S.DONE, after.state) in {(t.source, t.target) for t in repair.TRANSITIONS}
    assert actions == [f"repair/{after.state}"]
    assert messages == [f"repair.now_{after.state}"]
