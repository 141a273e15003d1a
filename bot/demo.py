"""``linli demo``: the whole product on one machine, without Telegram or a token.

It seeds a fresh SQLite database with communities modelled on the programme (one
delivered before 2000 without a maintenance fund, one before 2000 with a property
manager, one newer with a fund), starts the local Bot API server of ``sandbox`` with
its chat page, and runs the real bot against it over HTTP. The page plays the seeded
residents and staff, and new people who bind with the invite codes it offers.
"""

from __future__ import annotations

import asyncio
import csv
import errno
import logging
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from telegram import Update

from bot.app import build_application
from bot.config import Settings
from bot.flows import (
    binding,
    consultation,
    fonts,
    importing,
    invites,
    menu,
    people,
    registry,
    round2,
    supervision,
)
from bot.flows.audit import Actor
from bot.flows.invites import Slip
from sandbox import PageFor, Roster, RunningSandbox, run_sandbox
from storage import migrate
from storage.db import Database
from storage.models import Role

DEMO = Actor(via="demo")
# The sandbox accepts any token of Telegram's shape; this one opens nothing anywhere else.
TOKEN = "100000001:linli-demo-sandbox"
DATABASE_FILE = "linli-demo.db"
INVITES_OFFERED_PER_COMMUNITY = 4
# 南溪小区's round 1: 84 of its 100 households agree, so it passes and its menu is open.
ROUND1_AGREE, ROUND1_DISAGREE = 84, 3
FIRST_NEIGHBOUR_ID = 7_000_100_001

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoCommunity:
    name: str
    district: str
    street: str
    delivery_year: int
    has_fund: bool
    buildings: int
    property_manager: str | None = None


COMMUNITIES = [
    DemoCommunity("运南新村", "南湖区", "建设街道", 1992, False, 6),
    DemoCommunity("南溪小区", "南湖区", "解放街道", 1998, False, 5, "禾城物业 0573-8200 1234"),
    DemoCommunity("梅湾花园", "秀洲区", "新城街道", 2008, True, 4, "梅湾物业 0573-8300 5678"),
]
UNITS_PER_BUILDING = 2
ROOMS_PER_UNIT = ["101", "102", "201", "202", "301", "302", "401", "402", "501", "502"]


@dataclass(frozen=True)
class DemoPerson:
    telegram_id: int
    name: str
    role: str  # admin | staff | resident
    language_code: str = "zh-hans"
    community: str | None = None
    address: tuple[str, str, str] | None = None  # building, unit, room
    supervisor: bool = False


PEOPLE = [
    DemoPerson(7_000_000_001, "陈主任", "admin"),
    DemoPerson(7_000_000_002, "李社工", "staff", community="运南新村"),
    DemoPerson(7_000_000_011, "王芳", "resident", community="运南新村", address=("1", "1", "101")),
    DemoPerson(7_000_000_012, "张伟", "resident", community="运南新村", address=("1", "1", "101")),
    DemoPerson(
        7_000_000_013, "赵敏", "resident", community="南溪小区", address=("2", "1", "201"),
        supervisor=True,
    ),
    DemoPerson(7_000_000_014, "刘洋", "resident", community="南溪小区", address=("1", "2", "302")),
    DemoPerson(
        7_000_000_015, "Emily", "resident", "en", community="梅湾花园", address=("3", "1", "501")
    ),
]  # fmt: skip
STAFF_COMMUNITIES = ["运南新村", "南溪小区"]


def write_registry_files(folder: Path) -> tuple[Path, Path]:
    """The demo's registry as the CSV files staff would import (and may read as examples)."""
    communities, households = folder / "communities.csv", folder / "households.csv"
    with communities.open("w", newline="", encoding="utf-8") as file:
        out = csv.writer(file)
        out.writerow(["小区", "所属区", "街道", "交付年份", "维修资金"])
        for c in COMMUNITIES:
            out.writerow(
                [c.name, c.district, c.street, c.delivery_year, "是" if c.has_fund else "否"]
            )
    with households.open("w", newline="", encoding="utf-8") as file:
        out = csv.writer(file)
        out.writerow(["小区", "楼栋", "单元", "室"])
        for c in COMMUNITIES:
            for building in range(1, c.buildings + 1):
                for unit in range(1, UNITS_PER_BUILDING + 1):
                    for room in ROOMS_PER_UNIT:
                        out.writerow([c.name, f"{building}幢", f"{unit}单元", f"{room}室"])
    return communities, households


def _personas_households() -> set[tuple[str, str, str, str]]:
    """The households the seeded personas are bound to."""
    return {(p.community, *p.address) for p in PEOPLE if p.address}


def _address_key(slip: Slip) -> tuple[str, str, str, str]:
    a = slip.address
    return a.community, a.building, a.unit, a.room


async def seed(db: Database, folder: Path, settings: Settings) -> Roster:
    """Fill the demo database; the personas and invite codes the chat page offers."""
    communities_file, households_file = write_registry_files(folder)
    async with db.session() as session:
        await importing.import_communities(session, communities_file, DEMO)
    async with db.session() as session:
        await importing.import_households(session, households_file, DEMO)
        await menu.ensure_catalogue(session, DEMO)
        slips: dict[tuple[str, str, str, str], str] = {}
        for c in COMMUNITIES:
            community = await registry.community_named(session, c.name)
            community.property_manager = c.property_manager
            for slip in await invites.issue_for_community(session, community.id, DEMO):
                slips[_address_key(slip)] = slip.code

    limits = binding.Limits.of(settings.binding)
    async with db.session() as session:
        for person in PEOPLE:
            await people.meet(session, person.telegram_id, person.name, person.language_code)
            if person.role == "admin":
                await registry.add_staff(session, person.telegram_id, Role.ADMIN, [], DEMO)
            elif person.role == "staff":
                await registry.add_staff(
                    session, person.telegram_id, Role.STAFF, STAFF_COMMUNITIES, DEMO
                )
            else:
                code = slips[(person.community, *person.address)]
                await binding.bind(session, person.telegram_id, code, limits, DEMO)

    async with db.session() as session:
        first = await registry.community_named(session, COMMUNITIES[0].name)
        await consultation.open_round1(
            session,
            first.id,
            "运南新村改造意愿征询",
            "运南新村计划纳入老旧小区改造，您家是否同意改造？",
            _evening_in(settings, days=7),
            DEMO,
        )
    neighbours = await _consulted_neighbours(db, slips, settings, limits)
    async with db.session() as session:  # supervisors serve a community under renovation
        for person in PEOPLE:
            if person.supervisor:
                community = await registry.community_named(session, person.community)
                household = await binding.household_of(session, person.telegram_id)
                await supervision.appoint_household(session, community.id, household, DEMO)

    # Offer only households nobody is bound to, so a newcomer's household is their own.
    bound = _personas_households() | set(neighbours)
    offered: list[dict] = []
    for c in COMMUNITIES:
        free = [key for key in slips if key[0] == c.name and key not in bound]
        for key in free[:INVITES_OFFERED_PER_COMMUNITY]:
            community, building, unit, room = key
            address = f"{community} {building}-{unit}-{room}"
            offered.append({"code": invites.grouped(slips[key]), "address": address})
    personas = [
        {
            "id": p.telegram_id,
            "first_name": p.name,
            "language_code": p.language_code,
            "role": p.role,
            "note": _note(p),
        }
        for p in PEOPLE
    ]
    others = [
        {"id": telegram_id, "first_name": f"居民{key[1]}-{key[2]}-{key[3]}"}
        for key, telegram_id in neighbours.items()
    ]
    return Roster(personas=personas, invites=offered, others=others)


def _evening_in(settings: Settings, days: int) -> datetime:
    local = datetime.now(settings.zone) + timedelta(days=days)
    return local.replace(hour=18, minute=0, second=0, microsecond=0)


async def _consulted_neighbours(
    db: Database,
    slips: dict[tuple[str, str, str, str], str],
    settings: Settings,
    limits: binding.Limits,
) -> dict[tuple[str, str, str, str], int]:
    """南溪小区's round 1, answered by most of its households and passed; its menu open.

    The households that answered are bound to residents of their own, who are not
    personas; the telegram ids of those residents by household.
    """
    name = COMMUNITIES[1].name
    taken = _personas_households()
    households = [key for key in slips if key[0] == name and key not in taken]
    answering = households[: ROUND1_AGREE + ROUND1_DISAGREE]
    neighbours = {key: FIRST_NEIGHBOUR_ID + n for n, key in enumerate(answering)}
    async with db.session() as session:
        for key, telegram_id in neighbours.items():
            await people.meet(session, telegram_id, f"居民{key[1]}-{key[2]}-{key[3]}", "zh-hans")
            await binding.bind(session, telegram_id, slips[key], limits, DEMO)
        community = await registry.community_named(session, name)
        round1 = await consultation.open_round1(
            session, community.id, "南溪小区改造意愿征询", "南溪小区是否同意纳入改造？",
            _evening_in(settings, days=1), DEMO,
        )  # fmt: skip
        for n, telegram_id in enumerate(neighbours.values()):
            choice = "agree" if n < ROUND1_AGREE else "disagree"
            await consultation.cast(session, round1.id, telegram_id, choice, DEMO)
    async with db.session() as session:
        await consultation.close(session, round1.id, DEMO)
    rules = settings.consultation
    async with db.session() as session:
        await round2.open_round2(
            session,
            community.id,
            "南溪小区改造方案征询（点菜）",
            "请为您家选择最希望的改造项目。",
            _evening_in(settings, days=10),
            DEMO,
            rules=round2.Rules(
                rules.menu_min_items or 1, rules.menu_max_items or 5, rules.menu_budget_fen
            ),
            inclusion_percent=rules.menu_inclusion_percent,
        )
    return neighbours


def _note(person: DemoPerson) -> str:
    if person.role == "admin":
        return "全市 / all communities"
    if person.role == "staff":
        return " · ".join(STAFF_COMMUNITIES)
    building, unit, room = person.address
    supervisor = " · 监督员" if person.supervisor else ""
    return f"{person.community} {building}-{unit}-{room}{supervisor}"


def demo_settings(settings: Settings, folder: Path) -> Settings:
    """The operator's settings, with the demo's database and no real Telegram."""
    url = f"sqlite+aiosqlite:///{(folder / DATABASE_FILE).resolve()}"
    return settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={"token": SecretStr(TOKEN), "mode": "polling", "bot_username": None}
            ),
            "database": settings.database.model_copy(update={"url": url}),
        }
    )


class AddressUnavailable(Exception):
    """The chat page cannot listen where it was asked to."""


def check_address(host: str, port: int) -> None:
    """Refuse a host and port the chat page could not listen on, before the slow seeding."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise AddressUnavailable(
            f"cannot listen on {host} ({error.strerror}); choose another with --host"
        ) from None
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            # The options the server's own socket will have, so both agree on "in use".
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as error:
                raise _unavailable(host, port, error) from None


def _unavailable(host: str, port: int, error: OSError) -> AddressUnavailable:
    if error.errno == errno.EADDRINUSE:
        return AddressUnavailable(
            f"port {port} on {host} is already in use; choose a free one with --port"
        )
    return AddressUnavailable(
        f"cannot listen on {host} port {port} ({error.strerror}); "
        "choose another with --host or --port"
    )


def run(settings: Settings, folder: Path, host: str, port: int) -> None:
    """Seed, serve the page and run the bot until Ctrl-C or SIGTERM."""
    settings = demo_settings(settings, folder)
    migrate.upgrade(settings.database.url)
    asyncio.run(_serve(settings, folder, host, port))


async def _serve(settings: Settings, folder: Path, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running_demo(settings, folder, host, port) as sandbox:
        print(f"linli demo: open {sandbox.base_url}/chat in a browser", flush=True)
        print(f"  database and registry files in {folder}", flush=True)
        if missing := fonts.missing_font_packages():
            print(f"  pictures need fonts: apt-get install {' '.join(missing)}", flush=True)
        print("  Ctrl-C stops it", flush=True)
        await stop.wait()
        log.info("stopping the demo")


@asynccontextmanager
async def running_demo(
    settings: Settings, folder: Path, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSandbox]:
    """The seeded demo: the sandbox with its chat page, and the bot polling it.

    ``settings`` are the demo's (see :func:`demo_settings`), their database migrated.
    """
    db = Database(settings.database.url)
    try:
        roster = await seed(db, folder, settings)
    finally:
        await db.dispose()
    async with AsyncExitStack() as stack:
        try:  # taken since check_address, or refused for another reason
            sandbox = await stack.enter_async_context(
                run_sandbox(host, port, page=PageFor(TOKEN, roster))
            )
        except OSError as error:
            raise _unavailable(host, port, error) from None
        telegram = settings.telegram.model_copy(
            update={"api_base_url": sandbox.bot_api_url, "file_base_url": sandbox.file_url}
        )
        application = build_application(settings.model_copy(update={"telegram": telegram}))
        async with application:
            await application.post_init(application)  # as run_polling would
            await application.start()
            await application.updater.start_polling(
                poll_interval=0, timeout=10, allowed_updates=Update.ALL_TYPES
            )
            try:
                yield sandbox
            finally:
                await application.updater.stop()
                await application.stop()
                await application.post_stop(application)
