"""Residents bind to their households through the chat, by deep link or by typing the code."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import func, select

from bot.flows.audit import CLI
from bot.flows.registry import add_staff
from bot.handlers import help
from storage.models import AuditEvent, Resident, Role
from tests.e2e.conftest import buttons
from tests.e2e.test_round1_rules import open_round
from tests.e2e.test_round2 import open_menu
from tests.registry import import_sample_registry, issue_codes

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def residents(db) -> list[tuple[int, int]]:
    async with db.session() as session:
        return sorted(
            (await session.exec(select(Resident.telegram_id, Resident.household_id))).all()
        )


async def test_two_residents_of_one_household_and_one_of_another(db, person):
    await import_sample_registry(db)
    codes = await issue_codes(db, "南溪小区")

    wang = person(1001, "王芳")
    answer = await wang.say(f"/start {codes['1-1-101']}")  # the deep link of the slip
    assert "绑定成功" in answer and "南溪小区 1幢1单元101室" in answer

    li = person(1002, "李强")
    assert "邀请码" in await li.say("/start")  # asks for the code
    grouped = f"{codes['1-1-101'][:4]}-{codes['1-1-101'][4:8]}-{codes['1-1-101'][8:]}"
    answer = await li.say(grouped)  # typed as printed on the slip
    assert "南溪小区 1幢1单元101室" in answer

    anna = person(1003, "Anna", language_code="en")
    answer = await anna.say(f"/start {codes['2-2-201'].lower()}")
    assert "You are now bound" in answer
    assert "南溪小区, building 2, unit 2, room 201" in answer

    households = await residents(db)
    assert [telegram_id for telegram_id, _ in households] == [1001, 1002, 1003]
    assert households[0][1] == households[1][1] != households[2][1]

    assert "1幢1单元101室" in await wang.say("/me")
    assert "already bound" in await anna.say(f"/start {codes['2-2-201']}")


async def test_moving_to_another_household_is_confirmed_first(db, person):
    await import_sample_registry(db)
    codes = await issue_codes(db, "南溪小区")
    wang = person(1001, "王芳")
    await wang.say(f"/start {codes['1-1-101']}")
    before = await residents(db)

    question = await wang.say(f"/start {codes['1-1-102']}")
    assert "1幢1单元101室" in question and "1幢1单元102室" in question
    assert await residents(db) == before  # nothing moves until confirmed
    message = await wang.last_message()
    choices = buttons(message)
    assert set(choices) == {"改绑到这一户", "保持原绑定"}
    (moved,) = await wang.press(message, choices["改绑到这一户"])
    assert "1幢1单元102室" in moved
    assert "102室" in await wang.say("/me")

    # The same button again, or a forged one, changes nothing.
    answer = await wang.press_answer(message, choices["改绑到这一户"])
    assert answer["text"] == "这个按钮已失效，请重新操作。"


async def test_unbind_and_language(db, person):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    wang = person(1001, "王芳")
    await wang.say(f"/start {codes['5--101']}")

    await wang.say("/lang")
    message = await wang.last_message()
    assert "Language set to English." in await wang.press(message, buttons(message)["English"])
    assert "Your household: 运南新村, building 5, room 101" in await wang.say("/me")

    await wang.say("/unbind")
    message = await wang.last_message()
    (done,) = await wang.press(message, buttons(message)["Unbind"])
    assert "no longer bound" in done
    assert await residents(db) == []
    assert "not bound" in await wang.say("/me")


async def test_help_and_command_menu_in_both_languages(db, person, telegram):
    await import_sample_registry(db)
    wang = person(1001, "王芳")
    answer = await wang.say("/help")
    assert "/start" in answer and "邀请码" in answer
    anna = person(1003, "Anna", language_code="en-GB")
    assert "invite code" in await anna.say("/help")

    menus = await telegram.commands()
    descriptions = {
        (menu.get("language_code") or ""): {
            c["command"]: c["description"] for c in menu["commands"]
        }
        for menu in menus
        if menu["scope"] == {"type": "default"}
    }
    assert descriptions[""]["me"] == "查看我的绑定"
    assert descriptions["zh"]["me"] == "查看我的绑定"
    assert descriptions["en"]["me"] == "Your binding"


async def test_wrong_codes_lock_out_after_five_tries(db, person):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    guesser = person(1009, "猜")
    first_try = datetime.now(SHANGHAI)
    for left in (4, 3, 2, 1):
        assert f"还可以再试{left}次" in await guesser.say(f"/start 7KQ2M9XD4HTR{left}")
    # The fifth wrong code says until when the lock lasts: an hour after the first.
    locked = await guesser.say("/start 7KQ2M9XD4HTR0")
    assert "次数太多" in locked and "0次" not in locked
    shown = re.search(r"请在(\d{4}-\d\d-\d\d \d\d:\d\d)之后再试", locked)
    assert shown, locked
    until = datetime.strptime(shown[1], "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    assert timedelta(minutes=58) < until - first_try < timedelta(minutes=61)
    answer = await guesser.say(f"/start {codes['5--101']}")
    assert answer == locked
    assert await residents(db) == []
    async with db.session() as session:
        binds = (
            await session.exec(select(func.count()).where(AuditEvent.action == "resident/bind"))
        ).one()
    assert binds == 0


async def test_english_counts_its_last_try_in_the_singular(db, person):
    await import_sample_registry(db)
    guesser = person(1010, "Guess", language_code="en")
    for left in (4, 3, 2):
        assert f"{left} tries left." in await guesser.say(f"/start 7KQ2M9XD4HTR{left}")
    assert (await guesser.say("/start 7KQ2M9XD4HTR1")).endswith("1 try left.")


async def test_a_resident_who_binds_during_a_round_gets_its_question_at_once(db, person):
    await import_sample_registry(db)
    yunnan, nanxi = await issue_codes(db, "运南新村"), await issue_codes(db, "南溪小区")
    await open_round(db, "运南新村")
    await open_menu(db, "南溪小区", override_reason="试点")  # a pilot, before any round 1
    wang = person(1001, "王芳")
    bound, question = await wang.send(f"/start {yunnan['5--101']}", replies=2)
    assert "绑定成功" in bound and "还没有答复" in question
    ballot = await wang.last_message()
    await wang.press(ballot, buttons(ballot)["同意"], kind="edit")

    # Her husband binds later: the question comes with the household's answer so far.
    husband = person(1002, "张伟")
    bound, question = await husband.send(f"/start {yunnan['5--101']}", replies=2)
    assert "绑定成功" in bound
    assert "同意改造吗？" in question and "您家的答复：✅ 同意 · " in question
    assert set(buttons(await husband.last_message())) == {"同意", "不同意"}

    # In a community whose menu is open, the menu's question.
    anna = person(1003, "Anna", language_code="en")
    bound, question = await anna.send(f"/start {nanxi['1-1-101']}", replies=2)
    assert "You are now bound" in bound
    assert "请选择" in question and "Your household has not chosen yet." in question
    assert set(buttons(await anna.last_message())) == {"Open the menu"}


def chat_menu(menus: list[dict], telegram_id: int) -> dict[str, str]:
    (menu,) = [m for m in menus if m["scope"] == {"type": "chat", "chat_id": telegram_id}]
    return {c["command"]: c["description"] for c in menu["commands"]}


async def test_staff_and_chosen_languages_get_menus_of_their_own(db, person, telegram, running_bot):
    await import_sample_registry(db)
    async with db.session() as session:
        await add_staff(session, 2001, Role.STAFF, ["南溪小区"], CLI)
    await help.register_commands(running_bot)  # as at start-up
    assert "notice" in chat_menu(await telegram.commands(), 2001)

    anna = person(1003, "Anna")  # a Chinese app, but she reads English
    await anna.say("/lang")
    await anna.press(await anna.last_message(), "v1:lang:en")
    menu = chat_menu(await telegram.commands(), 1003)
    assert menu["me"] == "Your binding" and "notice" not in menu
