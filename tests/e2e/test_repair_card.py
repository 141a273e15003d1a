"""The staff's card of a repair request end to end: who, what, where and since when, with
the resident's pin and photos; the next moves offered on it after every move, so that a
fund repair takes a handful of taps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.flows import registry
from bot.flows.audit import CLI
from storage.models import RepairRequest, RepairState, Role
from storage.types import utcnow
from tests.e2e.conftest import buttons
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_repair import STAFF, filed, move, newest_with_button, open_card, press, setup
from tests.e2e.test_repair_paths import state_of
from tests.e2e.test_round1 import next_message

WANG, ENGLISH_STAFF = 1001, 9301
PIN = {"latitude": 30.7522, "longitude": 120.7555}
HOUSEHOLD = {"zh_Hans": "南溪小区 1幢1单元101室", "en": "南溪小区, building 1, unit 1, room 101"}


async def make_older(db, request_id: int, age: timedelta) -> None:
    """The request filed ``age`` ago (and a minute): to the bot, the clock has moved on."""
    async with db.session() as session:
        await session.exec(
            update(RepairRequest)
            .where(col(RepairRequest.id) == request_id)
            .values(created_at=utcnow() - age - timedelta(minutes=1))
        )


async def queue_line(staff, number: str) -> tuple[dict, str]:
    """/queue: its message, and the label of request ``number``'s line."""
    await staff.say("/queue")
    queue = await newest_with_button(staff, number)
    return queue, next(label for label in buttons(queue) if number in label)


async def test_staff_see_who_what_where_and_since_when_with_the_pin_and_photos(
    db, person, telegram
):
    codes = await setup(db)
    async with db.session() as session:
        await registry.add_staff(session, ENGLISH_STAFF, Role.STAFF, ["南溪小区"], CLI)
    wang, staff = person(WANG, "王芳"), person(STAFF, "社工")
    english = person(ENGLISH_STAFF, "Lee", language_code="en")
    for member in (staff, english):
        await member.say("/help")  # the bot may only write to people who have written to it
    await wang.say(f"/start {codes['1-1-101']}")

    # 王芳 reports her building's leaking roof with two photos and her pin.
    await wang.say("/repair")
    for label in ("屋面漏水", "公共部位", "就是1幢", "紧急，现在有危险"):
        await press(wang, label)
    await wang.say("顶楼楼梯间漏水，墙面大片渗水")
    for _ in range(2):
        await wang.say(None, photo_b64=PNG)
    await press(wang, "照片发完了")
    await wang.say(None, location=PIN)
    seq = await telegram.last_seq()
    (submitted,) = await press(wang, "提交")
    number = submitted.split("编号")[1].split("。")[0]

    # Staff's notice says who, what, where and since when, each in their language.
    notice = await next_message(telegram, STAFF, seq, number)
    assert notice["text"] == (
        f"新报修{number}（刚刚）\n住户：{HOUSEHOLD['zh_Hans']}\n"
        "类别：屋面漏水（紧急，现在有危险）\n位置：1幢"
    )
    notice_en = await next_message(telegram, ENGLISH_STAFF, seq, number)
    assert notice_en["text"] == (
        f"New repair request {number} (just now)\nHousehold: {HOUSEHOLD['en']}\n"
        "Category: Roof leak (Urgent: a danger now)\nWhere: 1幢"
    )
    assert "查看报修" in buttons(notice)

    # Three hours on, the queue's line says so, and the card too.
    async with db.session() as session:
        request = (await session.exec(select(RepairRequest))).one()
    await make_older(db, request.id, timedelta(hours=3))
    queue, line = await queue_line(staff, number)
    assert line == f"🔴 {number} 屋面漏水 · {HOUSEHOLD['zh_Hans']} · 3小时前 · 已提交"
    card = await open_card(staff, queue, buttons(queue)[line], number)
    assert f"住户：{HOUSEHOLD['zh_Hans']}\n类别：屋面漏水（紧急，现在有危险）\n" in card["text"]
    assert "照片：2张\n" in card["text"] and "（3小时前）\n" in card["text"]

    # Before the card came the pin and the photos, as one album.
    *_, pin, first, second, shown = [m for m in await staff.client.history(STAFF) if m["from_bot"]]
    assert shown["message_id"] == card["message_id"]
    assert pin["location"] == pytest.approx(PIN)
    assert first["media_group_id"] == second["media_group_id"]
    assert [first["caption"], second["caption"]] == [f"{number}的第1张照片", f"{number}的第2张照片"]
    assert (await telegram.file_bytes(second["photo"][-1]["file_id"])).startswith(b"\x89PNG")

    # A move edits the card: the pin and the photos are not sent again.
    sent_before = len(await staff.client.history(STAFF))
    _, accepted = await move(staff, "受理")
    assert accepted.startswith(f"{number} · 已受理\n住户：{HOUSEHOLD['zh_Hans']}")
    assert len(await staff.client.history(STAFF)) == sent_before

    # English: plural-correct ages, one hour, then two days.
    await make_older(db, request.id, timedelta(hours=1))
    _, line = await queue_line(english, number)
    assert line == f"🔴 {number} Roof leak · {HOUSEHOLD['en']} · 1 hour ago · accepted"
    await make_older(db, request.id, timedelta(days=2))
    queue, line = await queue_line(english, number)
    assert line.endswith(" · 2 days ago · accepted")
    card = await open_card(english, queue, buttons(queue)[line], number)
    assert f"Household: {HOUSEHOLD['en']}\n" in card["text"] and "(2 days ago)\n" in card["text"]


def offered(card: dict) -> list[str]:
    return list(buttons(card))


async def test_a_fund_repair_takes_seven_taps_from_the_notice_to_done(db, person, telegram):
    """Accept, estimate, approve, start, done at the estimate: each from the card as the last
    move left it, with no /queue in between. It took about 15 before (the queue, the
    request and the move for each)."""
    codes = await setup(db)
    wang, staff = person(WANG, "王芳"), person(STAFF, "社工")
    await staff.say("/help")
    await wang.say(f"/start {codes['1-1-101']}")
    seq = await telegram.last_seq()
    request = await filed(db, wang.id)  # an urgent roof leak in 南溪小区 (1995): the fund
    number = request.number
    notice = await next_message(telegram, STAFF, seq, number)
    taps = 0

    card = await open_card(staff, notice, buttons(notice)["查看报修"], number)
    taps += 1
    assert offered(card) == ["受理", "不受理", "不走维修资金", "请住户补充"]

    said, card_text = await move(staff, "受理")
    taps += 1
    assert said == f"{number}现在是「已受理」，已通知住户。"
    card = await staff.last_message()
    assert card_text.startswith(f"{number} · 已受理")
    assert offered(card) == ["填写估价", "不受理", "不走维修资金", "请住户补充"]

    (ask_amount,) = await press(staff, "填写估价")
    taps += 1
    assert "元" in ask_amount
    estimated, card_text = await staff.send("3217.47", replies=2)
    assert "业主及公共收益¥643.49，政府补助¥2,573.98" in estimated
    card = await staff.last_message()
    assert card_text.startswith(f"{number} · 已估价")
    assert offered(card) == ["批准资金", "修改估价", "请住户补充"]

    for label, state, then in [
        ("批准资金", "资金已批准", ["开始维修", "请住户补充"]),
        ("开始维修", "维修中", ["已完工，填写决算", "请住户补充"]),
    ]:
        said, card_text = await move(staff, label)
        taps += 1
        assert said == f"{number}现在是「{state}」，已通知住户。"
        assert card_text.startswith(f"{number} · {state}")
        assert offered(await newest_with_button(staff, then[0])) == then

    (ask_cost,) = await press(staff, "已完工，填写决算")
    taps += 1
    assert "估价是¥3,217.47" in ask_cost
    seq = await telegram.last_seq()
    done, card_text = await press(staff, "与估价相同", replies=2)
    taps += 1
    assert "决算¥3,217.47" in done and card_text.startswith(f"{number} · 已完工")
    assert offered(await staff.last_message()) == ["关闭", "请住户补充"]
    assert taps == 7
    assert await state_of(db, request.id) == RepairState.DONE

    # The household is asked whether it is fixed, and says so.
    asked = await next_message(telegram, WANG, seq, "已完工")
    await wang.press(asked, buttons(asked)["确认已修好"])
    assert await state_of(db, request.id) == RepairState.CONFIRMED
