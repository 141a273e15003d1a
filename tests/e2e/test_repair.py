"""Repairs end to end: a roof leak goes to the fund and ends rated; a lift goes to 物业;
a reopened repair goes back to work; nobody reaches another household's request; the fund
report for admins."""

from __future__ import annotations

import csv
import io

from sqlmodel import func, select

from bot.flows import exports, registry, repair
from bot.flows.audit import CLI
from storage.models import (
    AuditEvent,
    Broadcast,
    Dialogue,
    RepairRequest,
    RepairRoute,
    RepairState,
    Role,
)
from tests.e2e.conftest import buttons
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_outbox import wait_until_delivered
from tests.e2e.test_round1 import next_message
from tests.registry import import_sample_registry, issue_codes
from tests.sheets import first_sheet
from tests.test_consultation import bind_all
from tests.test_repair import RULES, file, seed_fund_year

STAFF, OTHER_STAFF, ADMIN = 9300, 9400, 9900
QUEUE_ACTIONS = [
    "show", "acc", "rej", "ask", "est", "ok", "go", "fin", "same", "done", "close",
    "fund", "prop",
]  # fmt: skip


async def press(person, label: str, replies: int = 1) -> list[str]:
    """Press the button labelled ``label`` on the newest bot message that has one."""
    message = await newest_with(person, label)
    return await person.press(message, buttons(message)[label], replies=replies)


async def newest_with(person, label: str) -> dict:
    """The newest bot message with a button labelled ``label``."""
    history = await person.client.history(person.id)
    return next(m for m in reversed(history) if m["from_bot"] and label in buttons(m))


async def move(staff, label: str) -> tuple[str, str]:
    """Press a move of one press on the request's card: what the bot says of it at once,
    and the card as it is edited in place, offering the moves that follow."""
    card = await newest_with(staff, label)
    staff.seen = await staff.client.last_seq()
    await staff.client.press(staff.user, card["message_id"], buttons(card)[label])
    said = await staff.client.wait_for(staff.id, after=staff.seen, kind="callback_answer")
    edited = await staff.client.wait_for(staff.id, after=said["seq"], kind="edit")
    assert edited["message"]["message_id"] == card["message_id"]
    staff.seen = edited["seq"]
    return said["text"], edited["message"]["text"]


async def open_card(staff, message: dict, data: str, number: str) -> dict:
    """Press a button that opens request ``number``: its card, which follows its pin and
    photos."""
    staff.seen = await staff.client.last_seq()
    await staff.client.press(staff.user, message["message_id"], data)
    event = await staff.client.wait_for(
        staff.id, after=staff.seen, predicate=lambda e: is_card(e["message"], number)
    )
    staff.seen = event["seq"]
    return event["message"]


def is_card(message: dict, number: str) -> bool:
    return message.get("text", "").startswith(f"{number} · ")


async def filed(db, telegram_id: int, **details):
    """A request filed through the flows, without a photo (the sandbox would not know a
    made-up file id)."""
    return await file(db, telegram_id, photo=None, **details)


async def newest_with_button(person, label_part: str) -> dict:
    """The newest bot message with a button whose label contains ``label_part``."""
    history = await person.client.history(person.id)
    return next(
        m
        for m in reversed(history)
        if m["from_bot"] and any(label_part in label for label in buttons(m))
    )


async def open_in_queue(staff, number: str) -> str:
    """/queue, then the request: its card, with the buttons of what may happen next."""
    await staff.say("/queue")
    queue = await newest_with_button(staff, number)
    data = next(d for k, d in buttons(queue).items() if number in k)
    return (await open_card(staff, queue, data, number))["text"]


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
    wang, staff = person(1001, "王芳"), person(STAFF, "社工")
    await staff.say("/help")  # the bot may only write to people who have written to it
    await wang.say(f"/start {codes['1-1-101']}")

    assert "是什么问题" in await wang.say("/repair")
    (where,) = await press(wang, "屋面漏水")
    assert "公共部位" in where
    (spot,) = await press(wang, "公共部位")
    assert "1幢" in spot
    (urgent,) = await press(wang, "就是1幢")
    assert "紧急" in urgent
    (spot_again,) = await press(wang, "◀ 上一步")  # back a step, and on again
    assert "具体位置" in spot_again
    assert "紧急" in await wang.say("1幢 顶楼楼梯间上方屋面")
    (describe,) = await press(wang, "紧急，现在有危险")
    assert "描述" in describe
    assert "照片" in await wang.say("顶楼楼梯间漏水，墙面大片渗水，电线附近有水")
    assert "已收到1张" in await wang.say(None, photo_b64=PNG)
    (location,) = await press(wang, "照片发完了")
    assert "位置" in location
    summary = await wang.say(None, location={"latitude": 30.7522, "longitude": 120.7555})
    assert "类别：屋面漏水" in summary and "1幢 顶楼楼梯间上方屋面" in summary
    (filed,) = await press(wang, "提交")
    assert "危急维修资金" in filed and "1995年交付，早于2000年" in filed
    number = filed.split("编号")[1].split("。")[0]

    # A second press of the spent Submit button files nothing more.
    again = await wang.press_answer(await wang.last_message(), "v1:rep:submit")
    assert "没有正在填写的报修" in again["text"]
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(RepairRequest))).one() == 1

    # Staff hear of it, and work it from the queue.
    await next_message(telegram, STAFF, 0, f"新报修{number}")
    await staff.say("/queue")
    queue = await newest_with_button(staff, number)  # the outbox's news may come after it
    assert "🔴" in next(label for label in buttons(queue) if number in label)
    data = next(d for k, d in buttons(queue).items() if number in k)
    card = await open_card(staff, queue, data, number)
    assert "去向：危急维修资金" in card["text"]
    # The resident's photo came before the card: staff download it.
    history = await staff.client.history(STAFF)
    photo = next(m for m in reversed(history) if "photo" in m)["photo"][-1]
    assert (await telegram.file_bytes(photo["file_id"])).startswith(b"\x89PNG")
    seq = await telegram.last_seq()
    await move(staff, "受理")
    assert "已受理" in (await next_message(telegram, wang.id, seq, number))["text"]

    await open_in_queue(staff, number)
    (ask_amount,) = await press(staff, "填写估价")
    assert "元" in ask_amount
    assert "请输入金额" in await staff.say("三千二")  # not an amount: nothing changes
    seq = await telegram.last_seq()
    estimated, _ = await staff.send("3217.47", replies=2)  # and the card again
    assert "业主及公共收益¥643.49，政府补助¥2,573.98" in estimated
    told = await next_message(telegram, wang.id, seq, "估价")
    assert "¥3,217.47" in told["text"] and "¥643.49" in told["text"]

    for action in ("批准资金", "开始维修"):
        await open_in_queue(staff, number)
        await move(staff, action)

    # The work is done at a final cost other than the estimate; the split follows it.
    await open_in_queue(staff, number)
    (ask_cost,) = await press(staff, "已完工，填写决算")
    assert "估价是¥3,217.47" in ask_cost and "与估价相同" in buttons(await staff.last_message())
    for not_an_amount in ("三千三", "-3300", "3300.001"):
        assert "请输入金额" in await staff.say(not_an_amount)
    async with db.session() as session:
        request = (await session.exec(select(RepairRequest))).one()
        assert (request.state, request.cost_fen) == (RepairState.IN_PROGRESS, None)
    seq = await telegram.last_seq()
    finished, _ = await staff.send("3,300.00", replies=2)
    assert "决算¥3,300.00：业主及公共收益¥660.00，政府补助¥2,640.00" in finished
    done = await next_message(telegram, wang.id, seq, "已完工")
    assert "决算¥3,300.00：业主及公共收益承担¥660.00，政府补助¥2,640.00" in done["text"]
    seq = await telegram.last_seq()
    await wang.press(done, buttons(done)["确认已修好"])
    # The household hears it too; waited for first, so that it is not taken for the reply.
    await next_message(telegram, wang.id, seq, "修好了。谢谢")
    (thanks,) = await press(wang, "5★")
    assert "5★" in thanks

    # The household's own list shows it confirmed, its page both amounts; the admin's fund
    # report counts the final cost.
    await wang.say("/myrequests")
    listed = await newest_with_button(wang, number)
    assert any(number in label and "已确认完成" in label for label in buttons(listed))
    (page,) = await press(wang, next(label for label in buttons(listed) if number in label))
    assert "估价：¥3,217.47，决算¥3,300.00（业主及公共收益¥660.00，政府补助¥2,640.00）" in page
    report = await person(ADMIN, "管理员").send("/fundreport", replies=4)
    assert "使用1次，共¥3,300.00；业主及公共收益¥660.00，政府补助¥2,640.00" in report[0]


async def report_a_stuck_lift(li) -> str:
    """李强 of 梅湾花园 (delivered 2008, with a maintenance fund) reports a stuck lift."""
    await li.say("/repair")
    await press(li, "电梯")
    await press(li, "公共部位")
    await press(li, "就是8号楼")
    await press(li, "紧急，现在有危险")
    await li.say("电梯停在两层之间，按钮没有反应")
    await press(li, "照片发完了")
    await press(li, "不发位置")
    (filed,) = await press(li, "提交")
    return filed


async def test_a_lift_in_a_newer_community_goes_to_the_property_manager(db, person, telegram):
    codes = await setup(db)
    li = person(1002, "李强")
    # The registry writes 8号楼, and so does the bot.
    assert "梅湾花园 8号楼1单元101室" in await li.say(f"/start {codes['8-1-101']}")
    filed = await report_a_stuck_lift(li)
    # The manager takes no repairs in linli: the household is given the phone, told plainly.
    assert "邻里不会替您转交，请您直接联系物业：禾城物业 0573-8888 0000" in filed
    assert "2008年交付，不早于2000年" in filed and "已建立维修资金" in filed
    # Why the fund does not apply: the conditions it met are no reason against it.
    assert "涉及公共部位" not in filed and "属于紧急情况" not in filed

    # Registered with a Telegram account that never wrote to the bot (which Telegram
    # then lets it not write to), the manager is still to be called.
    manager = person(9700, "禾城物业")
    async with db.session() as session:
        meiwan = await registry.community_named(session, "梅湾花园")
        meiwan.property_manager_telegram_id = manager.id
    assert "请您直接联系物业：禾城物业" in await report_a_stuck_lift(li)
    # Once the manager has written to the bot, they get the next request themselves,
    # and the household is told so.
    await manager.say("/help")
    seq = await telegram.last_seq()
    filed = await report_a_stuck_lift(li)
    assert "已通过邻里转交小区物业禾城物业 0573-8888 0000处理" in filed
    assert "请您直接联系" not in filed
    handed = await next_message(telegram, manager.id, seq, "邻里转来一份报修")
    assert "梅湾花园 8号楼1单元101室" in handed["text"], handed["text"]
    assert "电梯（紧急，现在有危险）" in handed["text"] and "电梯停在两层之间" in handed["text"]
    async with db.session() as session:
        handed_over = select(func.count()).where(AuditEvent.action == "repair/to_property")
        assert (await session.exec(handed_over)).one() == 1


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
    assert "2–2000" in await wang.say("漏")  # too short to be a description
    await wang.say("厨房燃气管接口有异味")
    assert "照片" in await wang.say("这里没有照片")
    for _ in range(5):
        await wang.say(None, photo_b64=PNG)
    assert "最多5张" in await wang.say(None, photo_b64=PNG)
    (cancelled,) = await press(wang, "取消")
    assert "已取消" in cancelled
    stale = await wang.press_answer(await wang.last_message(), "v1:rep:submit")
    assert "没有正在填写的报修" in stale["text"]
    forged = await wang.press_answer(await wang.last_message(), "v1:rep:show:999")
    assert "找不到" in forged["text"]
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(RepairRequest))).one() == 0


async def file_roof_leak(wang) -> str:
    """王芳 reports an urgent leak of her building's roof through the chat; its number."""
    await wang.say("/repair")
    for label in ("屋面漏水", "公共部位", "就是1幢", "紧急，现在有危险"):
        await press(wang, label)
    await wang.say("顶楼楼梯间漏水，墙面大片渗水")
    await press(wang, "照片发完了")
    await press(wang, "不发位置")
    (filed,) = await press(wang, "提交")
    return filed.split("编号")[1].split("。")[0]


async def test_a_reopened_repair_goes_back_to_work_and_staff_hear_why(db, person, telegram):
    codes = await setup(db)
    wang, staff = person(1001, "王芳"), person(STAFF, "社工")
    await wang.say(f"/start {codes['1-1-101']}")
    await staff.say("/help")  # the bot may only write to people who have written to it
    seq = await telegram.last_seq()
    number = await file_roof_leak(wang)
    await next_message(telegram, STAFF, seq, "新报修")  # before staff say anything
    await open_in_queue(staff, number)
    await move(staff, "受理")
    await open_in_queue(staff, number)
    await press(staff, "填写估价")
    await staff.send("3217.47", replies=2)
    for action in ("批准资金", "开始维修"):
        await open_in_queue(staff, number)
        await move(staff, action)
    await open_in_queue(staff, number)
    await press(staff, "已完工，填写决算")
    seq = await telegram.last_seq()
    await staff.send("3300", replies=2)
    done = await next_message(telegram, wang.id, seq, "已完工")

    # The household says it is not fixed, and why; staff are told, with the reason.
    (ask_reason,) = await wang.press(done, buttons(done)["没修好，重新打开"])
    assert f"请说明{number}哪里还没修好" in ask_reason
    seq = await telegram.last_seq()
    await telegram.send(wang.user, "楼梯间还在滴水")
    await next_message(telegram, wang.id, seq, "已重新打开：楼梯间还在滴水")
    told = await next_message(telegram, STAFF, seq, "重新打开")
    assert f"住户重新打开了报修{number}，说还没修好：楼梯间还在滴水" in told["text"]

    # From that message staff open the request and send it back to work.
    card = await open_card(staff, told, buttons(told)["查看报修"], number)
    assert "已重新打开：楼梯间还在滴水" in card["text"]  # its history, with the reason
    seq = await telegram.last_seq()
    await move(staff, "开始维修")
    assert "已开始维修" in (await next_message(telegram, wang.id, seq, number))["text"]
    async with db.session() as session:
        assert (await session.exec(select(RepairRequest.state))).one() == RepairState.IN_PROGRESS

    # This time it costs what was estimated: one press, and the dialogue for typing ends.
    await open_in_queue(staff, number)
    await press(staff, "已完工，填写决算")
    seq = await telegram.last_seq()
    (same, _) = await press(staff, "与估价相同", replies=2)  # and the card again
    assert "决算¥3,217.47：业主及公共收益¥643.49，政府补助¥2,573.98" in same
    done = await next_message(telegram, wang.id, seq, "已完工")
    assert "决算¥3,217.47：业主及公共收益承担¥643.49，政府补助¥2,573.98" in done["text"]
    async with db.session() as session:
        assert await session.get(Dialogue, STAFF) is None
        request = (await session.exec(select(RepairRequest))).one()
    assert (request.cost_fen, request.owners_fen, request.government_fen) == (
        321_747,
        64_349,
        257_398,
    )


async def test_neighbours_and_other_staff_cannot_reach_a_request(db, person, telegram):
    """A household of the same building, and staff of another community, press the buttons
    of 王芳's requests with their ids: each is refused, and nothing changes."""
    await setup(db)
    residents = await bind_all(db, "南溪小区")
    wang, neighbour_id = residents["1-1-101"], residents["1-1-102"]
    done = await filed(db, wang)  # an urgent roof leak: the fund
    waiting = await filed(db, wang, common=False)  # her own flat, with a question for her
    async with db.session() as session:
        await registry.add_staff(session, OTHER_STAFF, Role.STAFF, ["运南新村"], CLI)
        member = await registry.staff_member(session, STAFF)
        await repair.staff_move(session, done.id, RepairState.TRIAGED, member, CLI)
        await repair.estimate(session, done.id, 321_747, member, CLI, RULES)
        for to in (RepairState.APPROVED, RepairState.IN_PROGRESS):
            await repair.staff_move(session, done.id, to, member, CLI)
        await repair.finish_fund_repair(session, done.id, None, member, CLI, RULES)
        await repair.ask_resident(session, waiting.id, "漏水点在哪个房间？", member, CLI)

    async def everything() -> tuple:
        async with db.session() as session:
            return (
                list(await session.exec(select(RepairRequest).order_by(RepairRequest.id))),
                (await session.exec(select(func.count()).select_from(AuditEvent))).one(),
                (await session.exec(select(func.count()).select_from(Broadcast))).one(),
                list(await session.exec(select(Dialogue))),
            )

    before = await everything()
    assert [(r.state, r.route) for r in before[0]] == [
        (RepairState.DONE, RepairRoute.FUND),
        (RepairState.SUBMITTED, RepairRoute.ORDINARY),
    ]
    neighbour, other_staff = person(neighbour_id, "邻居"), person(OTHER_STAFF, "运南社工")
    await neighbour.say("/help")  # a message of the bot's to press buttons on
    host = await neighbour.last_message()
    resident_buttons = [
        *(f"v1:rep:{action}:{done.id}" for action in ("show", "ok", "re")),
        f"v1:rep:rate:{done.id}:5",
        *(f"v1:rep:{action}:{waiting.id}" for action in ("show", "wd", "ans")),
    ]
    for data in resident_buttons:
        refused = await neighbour.press_answer(host, data)
        assert refused["text"] == "找不到这条报修，或它不属于您。" and refused["show_alert"], data
    for data in (f"v1:rq:show:{done.id}", f"v1:rq:acc:{waiting.id}"):  # staff's buttons
        refused = await neighbour.press_answer(host, data)
        assert refused["text"] == "这个按钮已失效，请重新操作。" and refused["show_alert"], data

    assert "没有待处理的报修" in await other_staff.say("/queue")
    host = await other_staff.last_message()
    staff_buttons = [
        f"v1:rq:{action}:{request.id}" for request in (done, waiting) for action in QUEUE_ACTIONS
    ]
    for data in staff_buttons:
        refused = await other_staff.press_answer(host, data)
        assert refused["text"] == "找不到这条报修，或它不属于您。" and refused["show_alert"], data
    assert await everything() == before

    # The household itself is still let in.
    owner = person(wang, "王芳")
    await owner.say("/help")
    opened = await owner.press_answer(await owner.last_message(), f"v1:rep:show:{done.id}")
    assert "text" not in opened


async def test_admins_get_the_fund_report_for_a_period_and_a_community(db, person, telegram):
    await setup(db)
    await seed_fund_year(db, 2020, 4202, 1_073_540_000)  # the city's 4,202 uses, 10,735,400 yuan
    admin = person(ADMIN, "管理员")
    (table, *_) = await admin.send("/fundreport 2020", replies=4)
    assert (
        "危急维修资金2020-01-01至2020-12-31（全部小区）：使用4202次，共¥10,735,400.00；"
        "业主及公共收益¥2,147,080.01，政府补助¥8,588,319.99。"
    ) in table
    assert "南溪小区 2020-02：" in table and "运南新村 2020-01：" in table
    chart, as_csv, as_xlsx = (await admin.client.history(ADMIN))[-3:]
    assert (await telegram.file_bytes(chart["photo"][-1]["file_id"])).startswith(b"\x89PNG")
    assert as_csv["document"]["file_name"] == "危急维修资金-全市-2020-01-01至2020-12-31.csv"
    content = (await telegram.file_bytes(as_csv["document"]["file_id"])).decode("utf-8-sig")
    *_, totals = csv.reader(io.StringIO(content))
    assert totals == ["合计 total", "", "4202", "10735400.00", "2147080.01", "8588319.99"]
    assert as_xlsx["document"]["file_name"] == "危急维修资金-全市-2020-01-01至2020-12-31.xlsx"
    content = await telegram.file_bytes(as_xlsx["document"]["file_id"])
    sheet = first_sheet(content)
    assert [cell.value for cell in sheet[sheet.max_row]][2:] == [
        4202,
        10735400,
        2147080.01,
        8588319.99,
    ]
    assert sheet.cell(sheet.max_row, 4).number_format == exports.MONEY_FORMAT

    # Days, both included, and one community: 运南新村 used it in January and April.
    (table, *_) = await admin.send("/fundreport 2020-01-01 2020-06-30 运南新村", replies=4)
    head, *lines = table.splitlines()
    assert head.startswith("危急维修资金2020-01-01至2020-06-30（运南新村）：")
    assert [line.split("：")[0] for line in lines] == ["运南新村 2020-01", "运南新村 2020-04"]
    document = (await admin.client.history(ADMIN))[-1]["document"]
    assert document["file_name"] == "危急维修资金-运南新村-2020-01-01至2020-06-30.xlsx"
    assert "使用0次" in await admin.say("/fundreport 2019")


async def test_fund_report_mistakes_are_answered_in_the_admins_language(db, person):
    await setup(db)
    chinese, english = person(ADMIN, "管理员"), person(ADMIN, "Admin", language_code="en")
    for typed in ("/fundreport 20x", "/fundreport 2020-01-01", "/fundreport 2020-02-30 2020-03-01"):
        assert "请这样写" in await chinese.say(typed)
        assert "Write it like this" in await english.say(typed)
    reversed_days = "/fundreport 2020-12-31 2020-01-01"
    assert "结束日期2020-01-01早于开始日期2020-12-31" in await chinese.say(reversed_days)
    assert "The last day 2020-01-01 is before the first day 2020-12-31" in await english.say(
        reversed_days
    )
    assert "没有名为「火星小区」的小区" in await chinese.say("/fundreport 2020 火星小区")
    assert "no community named 火星小区" in await english.say("/fundreport 2020 火星小区")
    assert "只供管理员" in await person(STAFF, "社工").say("/fundreport 2020")


async def test_an_earlier_steps_button_brings_back_the_current_question(db, person):
    """Were the next question lost (the bot stopped just after saving an answer), the
    resident's only buttons are the earlier step's: pressing one asks again where they are."""
    codes = await setup(db)
    wang = person(1001, "王芳")
    await wang.say(f"/start {codes['1-1-101']}")
    await wang.say("/repair")
    categories = await wang.last_message()
    await press(wang, "屋面漏水")
    refused = await wang.press_answer(categories, buttons(categories)["墙面渗水"])
    assert "过时" in refused["text"] and refused["show_alert"]
    again = await next_message(wang.client, wang.id, refused["seq"], "在哪里")
    assert "公共部位" in buttons(again)
    async with db.session() as session:  # the first answer stands
        (draft,) = (await session.exec(select(Dialogue))).all()
    assert (draft.data["step"], draft.data["category"]) == ("place", "roof_leak")


async def test_staff_take_a_request_off_the_fund_and_the_household_hears_where_it_goes(
    db, person, telegram
):
    """Off the fund means to the property manager, or to the ordinary channel where the
    community has none; the household is told which, and why."""
    codes = await setup(db)
    wang, li, staff = person(1001, "王芳"), person(1002, "李强"), person(STAFF, "社工")
    await staff.say("/help")
    await wang.say(f"/start {codes['1-1-101']}")  # 南溪小区: no property manager
    await li.say(f"/start {codes['8-1-101']}")  # 梅湾花园: 禾城物业
    fund_request = await filed(db, wang.id)
    property_request = await filed(db, li.id, urgent=False)
    assert (fund_request.route, property_request.route) == (RepairRoute.FUND, RepairRoute.PROPERTY)
    await wait_until_delivered(db)  # staff's news of both, before they open the queue

    for resident, request, label, route in [
        (wang, fund_request, "不走维修资金", "一般渠道"),
        (li, property_request, "改走维修资金", "危急维修资金"),
    ]:
        await open_in_queue(staff, request.number)
        (why,) = await press(staff, label)
        assert "理由" in why
        seq = await telegram.last_seq()
        done, _ = await staff.send("经现场核实", replies=2)  # and the card again
        assert request.number in done and route in done and "已通知住户" in done
        told = await next_message(telegram, resident.id, seq, request.number)
        assert told["text"] == f"报修{request.number}改由{route}处理。原因：经现场核实"
        await resident.say("/myrequests")
        listed = await newest_with_button(resident, request.number)
        (page,) = await press(resident, next(k for k in buttons(listed) if request.number in k))
        assert f"去向：{route}" in page
    async with db.session() as session:
        routes = dict((await session.exec(select(RepairRequest.number, RepairRequest.route))).all())
    assert routes == {
        fund_request.number: RepairRoute.ORDINARY,
        property_request.number: RepairRoute.FUND,
    }
