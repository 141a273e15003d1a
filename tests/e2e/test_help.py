"""/help and the command menus: each person is shown exactly the commands they may use,
and their menu follows when they bind, unbind, are appointed or dismissed, or become staff."""

from __future__ import annotations

import asyncio
import re

from bot.flows import registry
from bot.flows.audit import CLI
from bot.handlers import help
from storage.models import Role
from tests.e2e.conftest import buttons
from tests.e2e.test_supervisors import appointed_supervisor
from tests.registry import import_sample_registry, issue_codes
from tests.test_cli import linli  # noqa: F401  (the fixture: the command as operators type it)

UNBOUND = ["start", "me", "lang", "cancel", "help"]
RESIDENT = [
    "start",
    *("vote", "repair", "myrequests", "ask", "progress", "settings", "unbind"),
    *("me", "lang", "cancel", "help"),
]
STAFF = [
    *("staff", "queue", "inbox", "supervisors", "notice", "project", "results", "missing"),
    "web",
]
ADMIN_ONLY = ["ranking", "fundreport"]
EVERYONE = ["me", "lang", "cancel", "help"]


def listed(answer: str) -> list[str]:
    """The commands a /help answer lists, in order."""
    return re.findall(r"^/(\w+) — ", answer, re.MULTILINE)


async def menu(telegram, telegram_id: int | None = None, language_code: str = "") -> dict | None:
    """The menu the sandbox holds for one chat (or the default scope): command -> description;
    None if there is none."""
    scope = {"type": "default"} if telegram_id is None else {"type": "chat", "chat_id": telegram_id}
    for stored in await telegram.commands():
        if stored["scope"] == scope and stored["language_code"] == language_code:
            return {c["command"]: c["description"] for c in stored["commands"]}
    return None


async def test_an_unbound_person_sees_how_to_bind_not_what_needs_a_household(db, person, telegram):
    await import_sample_registry(db)
    wang = person(1001, "王芳")
    answer = await wang.say("/help")
    assert "邀请码" in answer and listed(answer) == UNBOUND
    assert "/start — 开始，绑定您家" in answer
    assert list(await menu(telegram, 1001)) == UNBOUND

    li = person(1002, "李强")  # their first /start sets the menu, before any /help
    await li.say("/start")
    assert (await menu(telegram, 1002))["start"] == "开始，绑定您家"
    assert list(await menu(telegram, 1002)) == UNBOUND


async def test_a_resident_sees_the_residents_commands_until_unbinding(db, person, telegram):
    await import_sample_registry(db)
    codes = await issue_codes(db, "南溪小区")
    wang = person(1001, "王芳")
    await wang.say("/start")
    assert list(await menu(telegram, 1001)) == UNBOUND
    await wang.say(codes["1-1-101"])  # typed after /start asked for it

    answer = await wang.say("/help")
    assert "您可以使用这些命令" in answer and listed(answer) == RESIDENT
    assert await menu(telegram, 1001) is None  # the default menu is theirs now
    for code in ("", "zh", "en"):
        assert list(await menu(telegram, language_code=code)) == RESIDENT
    assert (await menu(telegram, language_code="en"))["vote"] == "Vote in a consultation"

    await wang.say("/unbind")
    message = await wang.last_message()
    await wang.press(message, buttons(message)["解除绑定"])
    assert list(await menu(telegram, 1001)) == UNBOUND
    assert listed(await wang.say("/help")) == UNBOUND


async def test_a_supervisor_gets_inspect_while_appointed(db, person, telegram):
    wang, staff = await appointed_supervisor(db, person)
    supervising = [*RESIDENT[:-4], "inspect", *EVERYONE]
    assert list(await menu(telegram, 1001)) == supervising  # at once, without /help
    answer = await wang.say("/help")
    assert listed(answer) == supervising and "/inspect — 反映工程问题" in answer

    await staff.say("/supervisors")
    panel = await staff.last_message()
    await staff.press(panel, buttons(panel)["免去王芳"])
    assert await menu(telegram, 1001) is None
    assert "inspect" not in listed(await wang.say("/help"))


async def test_staff_who_live_there_see_both_and_no_admin_commands(db, person, telegram):
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, 2001, Role.STAFF, ["南溪小区"], CLI)
    codes = await issue_codes(db, "南溪小区")
    worker = person(2001, "社工")
    assert listed(await worker.say("/help")) == [*STAFF, *EVERYONE]

    await worker.say(f"/start {codes['1-2-101']}")
    both = [*STAFF, *RESIDENT[1:]]
    assert list(await menu(telegram, 2001)) == both
    answer = await worker.say("/help")
    assert "工作人员可以使用这些命令" in answer and listed(answer) == both


async def test_an_admin_in_english_sees_the_admin_commands(db, person, telegram):
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, 2002, Role.ADMIN, [], CLI)
    answer = await person(2002, "Admin", language_code="en").say("/help")
    assert answer.startswith("Staff commands:")
    assert listed(answer) == [*STAFF, *ADMIN_ONLY, *EVERYONE]
    assert "/ranking — City ranking (admins)" in answer and "/fundreport — Fund report" in answer
    chosen = await menu(telegram, 2002)
    assert list(chosen) == [*STAFF, *ADMIN_ONLY, *EVERYONE] and chosen["me"] == "Your binding"


async def test_staff_changed_on_the_command_line_get_their_menus_at_start(
    db,
    person,
    telegram,
    running_bot,
    linli,  # noqa: F811
):
    async def operator(*args: str) -> None:
        # In a thread: the bot shares this event loop and must keep running meanwhile.
        assert (await asyncio.to_thread(linli, "staff", *args)).returncode == 0

    await import_sample_registry(db)
    await operator("add", "--telegram-id", "2003", "--role", "staff", "--community", "南溪小区")
    assert listed(await person(2003, "前社工").say("/help")) == [*STAFF, *EVERYONE]
    await operator("remove", "--telegram-id", "2003")
    await operator("add", "--telegram-id", "2004", "--role", "admin")

    await help.register_commands(running_bot)  # as at the next start
    assert list(await menu(telegram, 2003)) == UNBOUND  # their staff commands are gone
    assert list(await menu(telegram, 2004)) == [*STAFF, *ADMIN_ONLY, *EVERYONE]
