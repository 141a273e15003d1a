"""Repairs end to end, the paths besides the fund's straight line: staff reject with a
reason, close a repair the household left unanswered, ask the household for more; the
household withdraws; a revised estimate; the queue and /myrequests in pages."""

from __future__ import annotations

from sqlmodel import select

from bot.flows import registry, repair
from bot.flows.audit import CLI
from storage.models import RepairRequest, RepairState
from tests.e2e.conftest import buttons
from tests.e2e.test_outbox import wait_until_delivered
from tests.e2e.test_repair import (
    STAFF,
    filed,
    move,
    newest_with_button,
    open_card,
    open_in_queue,
    press,
    setup,
)
from tests.e2e.test_round1 import next_message

WANG, LI = 1001, 1002
PREVIOUS, NEXT = "◀ 上一页", "下一页 ▶"
STALE = "这个按钮已失效，请重新操作。"


async def ready(db, person) -> tuple:
    """王芳 of 南溪小区 bound, and the staff member having written to the bot."""
    codes = await setup(db)
    wang, staff = person(WANG, "王芳"), person(STAFF, "社工")
    await staff.say("/help")  # the bot may only write to people who have written to it
    await wang.say(f"/start {codes['1-1-101']}")
    return codes, wang, staff


async def state_of(db, request_id: int) -> RepairState:
    async with db.session() as session:
        return RepairState((await session.get(RepairRequest, request_id)).state)


async def open_in_my_requests(resident, number: str, replies: int = 1) -> list[str]:
    """/myrequests, then the request's page: its card and history (and what may be done)."""
    await resident.say("/myrequests")
    listed = await newest_with_button(resident, number)
    label = next(label for label in buttons(listed) if number in label)
    return await press(resident, label, replies=replies)


async def test_staff_reject_with_a_reason_and_the_household_is_told_why(db, person, telegram):
    _, wang, staff = await ready(db, person)
    request = await filed(db, wang.id, common=False)  # her own flat
    number = request.number
    await wait_until_delivered(db)  # staff's news of it, before they open the queue
    await open_in_queue(staff, number)
    (why,) = await press(staff, "不受理")
    assert f"请写明不受理{number}的理由" in why
    seq = await telegram.last_seq()
    (rejected, card) = await staff.send("户内水管属于自用部分，请自行维修", replies=2)
    assert f"{number}已不受理，已通知住户" in rejected
    assert card.startswith(f"{number} · 未受理") and not buttons(await staff.last_message())
    told = await next_message(telegram, wang.id, seq, number)
    assert told["text"] == f"报修{number}未被受理，原因：户内水管属于自用部分，请自行维修"

    await wang.say("/myrequests")
    listed = await newest_with_button(wang, number)
    label = next(label for label in buttons(listed) if number in label)
    assert label.endswith("· 未受理")
    (page,) = await press(wang, label)  # finished: nothing more to offer
    assert "未受理：户内水管属于自用部分，请自行维修" in page  # its history, with the reason
    assert await state_of(db, request.id) == RepairState.REJECTED
    assert "没有待处理的报修" in await staff.say("/queue")


async def test_staff_close_a_done_repair_the_household_did_not_confirm(db, person, telegram):
    _, wang, staff = await ready(db, person)
    request = await filed(db, wang.id, common=False)
    number = request.number
    await wait_until_delivered(db)
    seq = await telegram.last_seq()
    await open_in_queue(staff, number)
    for action in ("受理", "开始维修", "已完工"):  # each from the card as it was edited
        await move(staff, action)
    done = await next_message(telegram, wang.id, seq, "已完工")

    await open_in_queue(staff, number)
    seq = await telegram.last_seq()
    (closed, card) = await move(staff, "关闭")
    assert closed == f"{number}现在是「已关闭」，已通知住户。"
    assert card.startswith(f"{number} · 已关闭")
    told = await next_message(telegram, wang.id, seq, number)
    assert told["text"] == f"报修{number}已关闭。"
    assert await state_of(db, request.id) == RepairState.CLOSED
    assert "没有待处理的报修" in await staff.say("/queue")

    # The household's buttons of the done repair no longer change it.
    late = await wang.press_answer(done, buttons(done)["确认已修好"])
    assert late["text"] == "报修现在是「已关闭」，不能变为「已确认完成」。" and late["show_alert"]
    assert await state_of(db, request.id) == RepairState.CLOSED


async def test_the_household_withdraws_a_request(db, person, telegram):
    _, wang, staff = await ready(db, person)
    request = await filed(db, wang.id, common=False)
    number = request.number
    await wait_until_delivered(db)
    (card, _) = await open_in_my_requests(wang, number, replies=2)
    assert card.startswith(f"{number} · 已提交")
    assert "撤回报修" in buttons(await wang.last_message())
    (told,) = await press(wang, "撤回报修")  # the household hears it through the outbox
    assert told == f"报修{number}已撤回。"
    assert await state_of(db, request.id) == RepairState.WITHDRAWN
    (page,) = await open_in_my_requests(wang, number)  # nothing left to offer
    assert page.startswith(f"{number} · 已撤回")
    assert "没有待处理的报修" in await staff.say("/queue")


async def test_staff_ask_and_the_households_answer_reaches_the_requests_history(
    db, person, telegram
):
    _, wang, staff = await ready(db, person)
    request = await filed(db, wang.id)
    number = request.number
    await wait_until_delivered(db)
    await open_in_queue(staff, number)
    (what,) = await press(staff, "请住户补充")
    assert f"要请{number}的住户补充什么" in what
    seq = await telegram.last_seq()
    (done_asking, _) = await staff.send("漏水点在哪个房间上方？", replies=2)  # and the card
    assert f"已向{number}的住户提问" in done_asking
    asked = await next_message(telegram, wang.id, seq, "工作人员想了解")
    assert asked["text"] == f"关于您的报修{number}，工作人员想了解：漏水点在哪个房间上方？"

    (prompt,) = await wang.press(asked, buttons(asked)["回复工作人员"])
    assert "漏水点在哪个房间上方？" in prompt
    seq = await telegram.last_seq()
    assert f"已把您的回复加入{number}" in await wang.say("在 602 室卧室上方")
    told = await next_message(telegram, STAFF, seq, "住户回复")
    assert told["text"] == f"报修{number}的住户回复：在 602 室卧室上方"

    # Staff open it from that message: the question and the answer are in its history.
    card = (await open_card(staff, told, buttons(told)["查看报修"], number))["text"]
    assert "工作人员提问：漏水点在哪个房间上方？" in card
    assert "住户回复：在 602 室卧室上方" in card
    assert await state_of(db, request.id) == RepairState.SUBMITTED  # asking moves nothing


async def test_staff_revise_the_estimate_and_the_household_hears_the_new_split(
    db, person, telegram
):
    _, wang, staff = await ready(db, person)
    request = await filed(db, wang.id)  # an urgent roof leak in 南溪小区 (1995): the fund
    number = request.number
    await wait_until_delivered(db)
    await open_in_queue(staff, number)
    await move(staff, "受理")
    await open_in_queue(staff, number)
    await press(staff, "填写估价")
    await staff.send("3217.47", replies=2)

    await open_in_queue(staff, number)
    offered = buttons(await staff.last_message())
    assert "批准资金" in offered and "修改估价" in offered
    (ask,) = await press(staff, "修改估价")
    assert f"{number}现在的估价是¥3,217.47" in ask
    same = await staff.say("3217.47")  # no new amount: refused, and nothing changes
    assert same == "估价已经是¥3,217.47。要修改，请输入新的金额（元），或发送 /cancel。"
    assert "请输入金额" in await staff.say("三千五")
    seq = await telegram.last_seq()
    (revised, _) = await staff.send("3500.03", replies=2)
    assert revised == f"{number}估价¥3,500.03：业主及公共收益¥700.01，政府补助¥2,800.02。"
    told = await next_message(telegram, wang.id, seq, "调整为")
    assert told["text"] == (
        f"您的报修{number}的估价由¥3,217.47调整为¥3,500.03，"
        "其中业主及公共收益承担¥700.01，政府补助¥2,800.02。"
    )
    async with db.session() as session:
        after = await session.get(RepairRequest, request.id)
    assert (after.state, after.estimate_fen, after.owners_fen, after.government_fen) == (
        RepairState.ESTIMATED,
        350_003,
        70_001,
        280_002,
    )

    # Its history shows both figures; once the money is approved the estimate stands.
    card = await open_in_queue(staff, number)
    assert "估价已调整：¥3,217.47 → ¥3,500.03" in card
    seq = await telegram.last_seq()
    await move(staff, "批准资金")
    approved = await next_message(telegram, wang.id, seq, "已批准")
    assert "（¥3,500.03）" in approved["text"]
    await open_in_queue(staff, number)
    assert "修改估价" not in buttons(await staff.last_message())
    stale = await newest_with_button(staff, "修改估价")
    refused = await staff.press_answer(stale, buttons(stale)["修改估价"])
    assert refused["text"] == "报修现在是「资金已批准」，不能变为「已估价」。"
    assert await state_of(db, request.id) == RepairState.APPROVED


async def labels_now(person, message: dict) -> list[str]:
    """The button labels of ``message`` as the chat shows it now (after any edits)."""
    history = await person.client.history(person.id)
    (now,) = [m for m in history if m["message_id"] == message["message_id"]]
    return list(buttons(now))


async def test_more_than_a_page_of_requests_is_reached_through_the_pages(db, person, telegram):
    """25 open requests: the queue shows 20 (urgent first, then newest) and ▶ the other 5,
    down to the oldest ordinary one; a page button the queue has outgrown, or a forged one,
    is answered and changes nothing. /myrequests pages the household's own list alike."""
    codes, wang, staff = await ready(db, person)
    requests = [await filed(db, wang.id, urgent=n % 4 == 0) for n in range(25)]
    in_order = sorted(requests, key=lambda r: (not r.urgent, -r.id))
    await wait_until_delivered(db)

    queue_text = await staff.say("/queue")
    assert queue_text.endswith("第1/2页")
    first = await staff.last_message()
    labels = list(buttons(first))
    assert labels[-1] == NEXT and PREVIOUS not in labels
    assert [label.split()[1] for label in labels[:-1]] == [r.number for r in in_order[:20]]

    (second,) = await staff.press(first, buttons(first)[NEXT], kind="edit")  # in place
    assert second.endswith("第2/2页")
    labels = await labels_now(staff, first)
    assert labels[-1] == PREVIOUS and NEXT not in labels
    assert [label.split()[1] for label in labels[:-1]] == [r.number for r in in_order[20:]]
    oldest = in_order[-1]
    assert not oldest.urgent and oldest.id == requests[1].id
    page = await newest_with_button(staff, oldest.number)
    data = next(data for label, data in buttons(page).items() if oldest.number in label)
    await open_card(staff, page, data, oldest.number)

    await staff.say("/queue")
    first = await staff.last_message()
    async with db.session() as session:  # six are rejected meanwhile: one page is left
        member = await registry.staff_member(session, STAFF)
        for request in requests[:6]:
            await repair.staff_move(session, request.id, RepairState.REJECTED, member, CLI, "重复")
    await wait_until_delivered(db)  # the household hears of each before it writes again
    shown = await labels_now(staff, first)
    outgrown = await staff.press_answer(first, buttons(first)[NEXT])
    assert outgrown["text"] == "列表已经变了，现在只有1页。请重新打开列表。"
    assert outgrown["show_alert"] and await labels_now(staff, first) == shown
    for data, said in [
        ("v1:rq:page:0", outgrown["text"]),
        ("v1:rq:page:2", outgrown["text"]),
        ("v1:rq:page:x", STALE),
        ("v1:rq:page:99999999999", STALE),
    ]:
        forged = await staff.press_answer(first, data)
        assert forged["text"] == said and forged["show_alert"], data
    assert await labels_now(staff, first) == shown
    refused = await wang.press_answer(await wang.last_message(), "v1:rq:page:1")
    assert refused["text"] == STALE  # a resident sees no queue

    # The household's own list: all 25, newest first, the rejected ones among them.
    listed_text = await wang.say("/myrequests")
    assert listed_text.endswith("第1/2页")
    mine = await wang.last_message()
    (page_two,) = await wang.press(mine, buttons(mine)[NEXT], kind="edit")
    assert page_two.endswith("第2/2页")
    labels = await labels_now(wang, mine)
    assert [label.split()[0] for label in labels[:-1]] == [r.number for r in requests[4::-1]]
    assert labels[-1] == PREVIOUS and all(label.endswith("未受理") for label in labels[:-1])
    gone = await wang.press_answer(mine, "v1:rep:page:3")
    assert gone["text"] == "列表已经变了，现在只有2页。请重新打开列表。" and gone["show_alert"]

    # Another household presses a page button: its own (empty) list, nobody else's.
    li = person(LI, "李强")
    await li.say(f"/start {codes['8-1-101']}")
    theirs = await li.press_answer(await li.last_message(), "v1:rep:page:1")
    assert theirs["text"] == "您家还没有报修记录。发送 /repair 报修。"
    async with db.session() as session:
        states = list(await session.exec(select(RepairRequest.state).order_by(RepairRequest.id)))
    assert states == [RepairState.REJECTED] * 6 + [RepairState.SUBMITTED] * 19
