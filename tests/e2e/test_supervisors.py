"""Quality supervisors: staff appoint a household's residents while the community is under
renovation; notices can go to them alone; their observations reach only their community's staff."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.flows import dialogues, registry
from bot.flows.audit import CLI
from storage.models import Observation, ObservationState, Role, Supervisor
from tests.e2e.conftest import Person, buttons
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_notices import STAFF, choose, compose
from tests.e2e.test_outbox import received, wait_until_delivered
from tests.e2e.test_repair import press
from tests.e2e.test_round1 import next_message
from tests.registry import import_sample_registry, issue_codes
from tests.test_supervision import renovating

YUNNAN_STAFF = STAFF + 1  # serves 运南新村 only
JIAXING = {"latitude": 30.7522, "longitude": 120.7555}


async def appointed_supervisor(db, person) -> tuple[Person, Person]:
    """王芳 of 南溪小区 1-1-101, appointed through /supervisors and told so; and the staff
    member."""
    await import_sample_registry(db)
    await renovating(db, "南溪小区")
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区"], CLI)
    codes = await issue_codes(db, "南溪小区")
    wang, staff = person(1001, "王芳"), person(STAFF, "社工")
    await wang.say(f"/start {codes['1-1-101']}")
    await staff.say("/supervisors")
    await choose(staff, "任命南溪小区的监督员")
    seq = await wang.client.last_seq()
    assert "1位居民已任命" in await staff.say("1-1-101")
    await next_message(wang.client, wang.id, seq, "您已被任命为")
    return wang, staff


async def report(supervisor: Person, *media: dict) -> int:
    """/inspect through to "submit", sending the ``media`` messages; the observation's id."""
    await supervisor.say("/inspect")
    await choose(supervisor, "安全")
    await choose(supervisor, "严重")
    await supervisor.say("5幢脚手架")
    await supervisor.say("脚手架没有防护网")
    for fields in media:
        assert "已收到" in await supervisor.say(None, **fields)
    (sent,) = await press(supervisor, "提交")
    return int(re.search(r"#(\d+)", sent)[1])


async def test_supervisors_are_appointed_and_addressed_by_notices(db, person, telegram):
    await import_sample_registry(db)
    await renovating(db, "南溪小区")
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区"], CLI)
        yunnan = await registry.community_named(session, "运南新村")
    codes = await issue_codes(db, "南溪小区")
    wang, li, zhao = person(1001, "王芳"), person(1002, "李强"), person(1003, "赵敏")
    await wang.say(f"/start {codes['1-1-101']}")
    await li.say(f"/start {codes['1-1-101']}")
    await zhao.say(f"/start {codes['1-1-102']}")

    staff = person(STAFF, "社工")
    assert "南溪小区：—" in await staff.say("/supervisors")
    forged = await staff.press_answer(await staff.last_message(), f"v1:sup:add:{yunnan.id}:new")
    assert forged["show_alert"]  # not a community this staff member serves
    await choose(staff, "任命南溪小区的监督员")
    assert "格式" in await staff.say("一幢一单元")
    assert "没有这个住户" in await staff.say("9-9-999")
    assert "2位居民已任命" in await staff.say("1-1-101")
    assert "王芳" in await staff.say("/supervisors")

    await compose(staff, "明天上午 9 点请监督员到 3 幢检查外墙保温施工")
    await choose(staff, "南溪小区：工程质量监督员")
    _, preview = await choose(staff, "立即发送", replies=2)
    assert "发给南溪小区的质量监督员，共2位居民" in preview
    await choose(staff, "发送通知")
    await wait_until_delivered(db)
    got = await received(telegram, [1001, 1002, 1003], "请监督员到 3 幢检查")
    assert got == {1001: 1, 1002: 1}

    await staff.say("/supervisors")
    panel = await staff.last_message()
    await staff.press(panel, buttons(panel)["免去李强"])
    assert "李强" not in await staff.say("/supervisors")
    assert "只供工作人员" in await zhao.say("/supervisors")  # residents cannot appoint


async def test_supervisors_are_appointed_only_in_a_community_under_renovation(db, person):
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区"], CLI)
    codes = await issue_codes(db, "南溪小区")
    await person(1001, "王芳").say(f"/start {codes['1-1-101']}")
    staff = person(STAFF, "社工")
    await staff.say("/supervisors")
    panel = await staff.last_message()
    refused = await staff.press_answer(panel, buttons(panel)["任命南溪小区的监督员"])
    assert refused["show_alert"] and "南溪小区不在改造中" in refused["text"]
    assert "已任命" not in await staff.say("1-1-101")  # no appointment was waiting for it
    async with db.session() as session:
        assert (await session.exec(select(Supervisor))).all() == []

    await renovating(db, "南溪小区")  # the project is planned: the works are coming
    await staff.say("/supervisors")
    await choose(staff, "任命南溪小区的监督员")
    assert "1位居民已任命" in await staff.say("1-1-101")


async def test_a_supervisors_observation_is_handled_and_counted(db, person, telegram):
    wang, staff = await appointed_supervisor(db, person)
    codes = await issue_codes(db, "南溪小区")
    zhao = person(1003, "赵敏")
    await zhao.say(f"/start {codes['1-1-102']}")

    refused = await zhao.say("/inspect")
    assert "您现在不是工程质量监督员" in refused and "由本社区的工作人员任命" in refused
    assert "哪类问题" in await wang.say("/inspect")
    await choose(wang, "质量")
    await choose(wang, "严重")
    assert "描述" in await wang.say("3幢北侧外墙")
    assert "提交" in await wang.say("保温板接缝没有打胶，下雨会渗水")
    assert "照片1张" in await wang.say(None, photo_b64=PNG)
    seq = await telegram.last_seq()
    (sent,) = await press(wang, "提交")
    assert "已提交监督意见" in sent
    told = await next_message(telegram, STAFF, seq, "质量监督员反映问题")
    (card, _photo) = await staff.press(told, buttons(told)["处理"], replies=2)
    assert "保温板接缝" in card and "严重" in card

    for action, note, expected in [
        ("确认收到", None, "工作人员已收到"),
        ("交施工单位", "已通知施工单位周五前返工", "已交施工单位：已通知施工单位周五前返工"),
        ("已解决", None, "已解决"),
    ]:
        seq = await telegram.last_seq()
        await staff.press(told, buttons(told)["处理"], replies=2)
        await press(staff, action)
        if note:
            await staff.say(note)
        assert expected in (await next_message(telegram, wang.id, seq, "#"))["text"]
    assert "已解决1项" in await wang.say("/progress")


async def test_a_dismissed_supervisor_is_told_and_can_no_longer_report(db, person, telegram):
    wang, staff = await appointed_supervisor(db, person)
    appointed = (await wang.last_message())["text"]
    assert "您已被任命为南溪小区的工程质量监督员" in appointed and "/inspect" in appointed
    await wang.say("/inspect")
    await choose(wang, "安全")
    await choose(wang, "严重")
    await wang.say("5幢脚手架")
    assert "提交" in await wang.say("脚手架没有防护网")  # the report is ready to send
    draft = await wang.last_message()

    seq = await telegram.last_seq()
    await staff.say("/supervisors")
    await choose(staff, "免去王芳")
    told = await next_message(telegram, wang.id, seq, "不再担任")
    assert "南溪小区的工程质量监督员" in told["text"]
    refused = await wang.press_answer(draft, buttons(draft)["提交"])
    assert refused["show_alert"] and "您现在不是工程质量监督员" in refused["text"]
    assert "您现在不是工程质量监督员" in await wang.say("/inspect")
    async with db.session() as session:
        assert (await session.exec(select(Observation))).all() == []
        assert await dialogues.current(session, wang.id) is None  # the draft ended


async def test_a_location_pin_is_kept_and_shown_to_staff(db, person, telegram):
    wang, staff = await appointed_supervisor(db, person)
    seq = await telegram.last_seq()
    number = await report(wang, {"location": JIAXING})
    async with db.session() as session:
        observation = await session.get(Observation, number)
    assert (observation.latitude, observation.longitude) == (30.7522, 120.7555)

    told = await next_message(telegram, STAFF, seq, "质量监督员反映问题")
    (card, _pin) = await staff.press(told, buttons(told)["处理"], replies=2)
    assert "脚手架没有防护网" in card
    assert (await staff.last_message())["location"] == JIAXING


async def test_staff_of_another_community_can_neither_see_nor_move_an_observation(
    db, person, telegram
):
    wang, staff = await appointed_supervisor(db, person)
    async with db.session() as session:
        await registry.add_staff(session, YUNNAN_STAFF, Role.STAFF, ["运南新村"], CLI)
    other = person(YUNNAN_STAFF, "运南社工")
    await other.say("/help")
    seq = await telegram.last_seq()
    number = await report(wang, {"photo_b64": PNG})
    await next_message(telegram, STAFF, seq, "质量监督员反映问题")
    await wait_until_delivered(db)

    chat = await other.last_message()
    for action in ("show", "ack", "assign", "done", "nope"):
        refused = await other.press_answer(chat, f"v1:obs:{action}:{number}:0")
        assert refused["show_alert"] and "找不到这条监督意见" in refused["text"], action
    seen = await telegram.events(YUNNAN_STAFF, after=seq)
    assert [e for e in seen if e["kind"] == "message"] == []  # no notice, no card, no photo
    async with db.session() as session:
        observation = await session.get(Observation, number)
        assert observation.state == ObservationState.OPEN
        assert await dialogues.current(session, YUNNAN_STAFF) is None  # no note asked for

    seq = await telegram.last_seq()  # the community's own staff still can
    await staff.press(await staff.last_message(), f"v1:obs:ack:{number}:0")
    assert "工作人员已收到" in (await next_message(telegram, wang.id, seq, "#"))["text"]
