"""Repairs end to end: a roof leak goes to the fund and ends rated; a lift goes to 物业."""

from __future__ import annotations

from sqlmodel import func, select

from bot.flows import registry
from bot.flows.audit import CLI
from storage.models import RepairRequest, Role
from tests.e2e.conftest import buttons
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_round1 import next_message
from tests.registry import import_sample_registry, issue_codes

STAFF, ADMIN = 9300, 9900


async def press(person, label: str, replies: int = 1) -> list[str]:
    """Press the button labelled ``label`` on the newest bot message that has one."""
    history = await person.client.history(person.id)
    message = next(m for m in reversed(history) if m["from_bot"] and label in buttons(m))
    return await person.press(message, buttons(message)[label], replies=replies)


async def open_in_queue(staff, number: str) -> None:
    """/queue, then the request: its card and the buttons of what may happen next."""
    await staff.say("/queue")
    queue = await staff.last_message()
    await staff.press(queue, next(d for k, d in buttons(queue).items() if number in k), replies=2)


async def setup(db) -> dict[str, str]:
    await import_sample_registry(db)
    async with db.session() as session:
        meiwan = await registry.community_named(session, "梅湾花园")
        meiwan.property_manager = "禾城物业 0573-8888 0000"
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区", "梅湾花园"], CLI)
        await registry.add_staff(session, ADMIN, Role.ADMIN, [], CLI)
    return {**await issue_codes(db, "南溪小区"), **await issue_codes(db, "梅湾花园")}


async def test_an_urgent_roof_leak_goes_to_the_fund_and_ends_rated(db, person, telegram):
    codes = await setup(db)
    wang = person(1001, "王芳")
    await wang.say(f"/start {codes['1-1-101']}")

    assert "是什么问题" in await wang.say("/repair")
    (where,) = await press(wang, "屋面漏水")
    assert "公共部位" in where
    (spot,) = await press(wang, "公共部位")
    assert "1幢" in spot
    (urgent,) = await press(wang, "就是 1幢")
    assert "紧急" in urgent
    (spot_again,) = await press(wang, "◀ 上一步")  # back a step, and on again
    assert "具体位置" in spot_again
    assert "紧急" in await wang.say("1幢 顶楼楼梯间上方屋面")
    (describe,) = await press(wang, "紧急，现在有危险")
    assert "描述" in describe
    assert "照片" in await wang.say("顶楼楼梯间漏水，墙面大片渗水，电线附近有水")
    assert "已收到 1 张" in await wang.say(None, photo_b64=PNG)
    (location,) = await press(wang, "照片发完了")
    assert "位置" in location
    summary = await wang.say(None, location={"latitude": 30.7522, "longitude": 120.7555})
    assert "类别：屋面漏水" in summary and "1幢 顶楼楼梯间上方屋面" in summary
    (filed,) = await press(wang, "提交")
    assert "危急维修资金" in filed and "1995 年交付，早于 2000 年" in filed
    number = filed.split("编号 ")[1].split("。")[0]

    # A second press of the spent Submit button files nothing more.
    again = await wang.press_answer(await wang.last_message(), "v1:rep:submit")
    assert "没有正在填写的报修" in again["text"]
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(RepairRequest))).one() == 1

    # Staff work it from the queue.
    staff = person(STAFF, "社工")
    await staff.say("/queue")
    queue = await staff.last_message()
    assert "🔴" in next(label for label in buttons(queue) if number in label)
    data = next(d for k, d in buttons(queue).items() if number in k)
    (card, _) = await staff.press(queue, data, replies=2)
    assert "去向：危急维修资金" in card
    seq = await telegram.last_seq()
    await press(staff, "受理")
    assert "已受理" in (await next_message(telegram, wang.id, seq, number))["text"]

    await open_in_queue(staff, number)
    await press(staff, "看照片")  # staff download the resident's photo
    photo = (await staff.last_message())["photo"][-1]
    assert (await telegram.file_bytes(photo["file_id"])).startswith(b"\x89PNG")

    await open_in_queue(staff, number)
    (ask_amount,) = await press(staff, "填写估价")
    assert "元" in ask_amount
    assert "请输入金额" in await staff.say("三千二")  # not an amount: nothing changes
    seq = await telegram.last_seq()
    estimated = await staff.say("3217.47")
    assert "业主及公共收益 ¥643.49，政府补助 ¥2,573.98" in estimated
    told = await next_message(telegram, wang.id, seq, "估价")
    assert "¥3,217.47" in told["text"] and "¥643.49" in told["text"]

    for action in ("批准资金", "开始维修", "已完工"):
        await open_in_queue(staff, number)
        await press(staff, action)
    done = await next_message(telegram, wang.id, seq, "已完工")
    await wang.press(done, buttons(done)["确认已修好"])
    (thanks,) = await press(wang, "5★")
    assert "5★" in thanks

    # The household's own list shows it confirmed; the admin's fund report counts it.
    await wang.say("/myrequests")
    listed = await wang.last_message()
    assert any(number in label and "已确认完成" in label for label in buttons(listed))
    report = await person(ADMIN, "管理员").send("/fundreport", replies=3)
    assert "使用 1 次，共 ¥3,217.47" in report[0]


async def test_a_lift_in_a_newer_community_goes_to_the_property_manager(db, person):
    codes = await setup(db)
    li = person(1002, "李强")
    await li.say(f"/start {codes['8-1-101']}")
    await li.say("/repair")
    await press(li, "电梯")
    await press(li, "公共部位")
    await press(li, "就是 8幢")
    await press(li, "紧急，现在有危险")
    await li.say("电梯停在两层之间，按钮没有反应")
    await press(li, "照片发完了")
    await press(li, "不发位置")
    (filed,) = await press(li, "提交")
    assert "转交小区物业 禾城物业 0573-8888 0000" in filed
    assert "2008 年交付，不早于 2000 年" in filed and "已建立维修资金" in filed


async def test_bad_input_in_the_intake_is_answered_and_changes_nothing(db, person, telegram):
    codes = await setup(db)
    wang = person(1001, "王芳")
    stranger = person(1009, "陌生人")
    assert "绑定" in await stranger.say("/repair")
    await wang.say(f"/start {codes['1-1-101']}")
    await wang.say("/repair")
    assert "按钮" in await wang.say("漏水了")  # typing where a button is expected
    assert "按钮" in await wang.say(None, photo_b64=PNG)
    await press(wang, "燃气")
    await press(wang, "自家房屋")
    await press(wang, "不紧急")
    assert "5–2000" in await wang.say("漏")  # too short to be a description
    await wang.say("厨房燃气管接口有异味")
    assert "照片" in await wang.say("这里没有照片")
    for _ in range(5):
        await wang.say(None, photo_b64=PNG)
    assert "最多 5 张" in await wang.say(None, photo_b64=PNG)
    (cancelled,) = await press(wang, "取消")
    assert "已取消" in cancelled
    stale = await wang.press_answer(await wang.last_message(), "v1:rep:submit")
    assert "没有正在填写的报修" in stale["text"]
    forged = await wang.press_answer(await wang.last_message(), "v1:rep:show:999")
    assert "找不到" in forged["text"]
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(RepairRequest))).one() == 0
