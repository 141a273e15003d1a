"""Quality supervisors: staff appoint a household's residents; notices can go to them alone."""

from __future__ import annotations

from bot.flows import registry
from bot.flows.audit import CLI
from storage.models import Role
from tests.e2e.conftest import buttons
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_notices import STAFF, choose, compose
from tests.e2e.test_outbox import received, wait_until_delivered
from tests.e2e.test_repair import press
from tests.e2e.test_round1 import next_message
from tests.registry import import_sample_registry, issue_codes


async def test_supervisors_are_appointed_and_addressed_by_notices(db, person, telegram):
    await import_sample_registry(db)
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
    await choose(staff, "任命 南溪小区 的监督员")
    assert "格式" in await staff.say("一幢一单元")
    assert "没有这个住户" in await staff.say("9-9-999")
    assert "2 位居民已任命" in await staff.say("1-1-101")
    assert "王芳" in await staff.say("/supervisors")

    await compose(staff, "明天上午 9 点请监督员到 3 幢检查外墙保温施工")
    await choose(staff, "南溪小区：工程质量监督员")
    (preview,) = await choose(staff, "立即发送")
    assert "发给 2 位居民" in preview
    await choose(staff, "发送通知")
    await wait_until_delivered(db)
    got = await received(telegram, [1001, 1002, 1003], "请监督员到 3 幢检查")
    assert got == {1001: 1, 1002: 1}

    await staff.say("/supervisors")
    panel = await staff.last_message()
    await staff.press(panel, buttons(panel)["免去 李强"])
    assert "李强" not in await staff.say("/supervisors")
    assert "只供工作人员" in await zhao.say("/supervisors")  # residents cannot appoint


async def test_a_supervisors_observation_is_handled_and_counted(db, person, telegram):
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区"], CLI)
    codes = await issue_codes(db, "南溪小区")
    wang, zhao = person(1001, "王芳"), person(1003, "赵敏")
    await wang.say(f"/start {codes['1-1-101']}")
    await zhao.say(f"/start {codes['1-1-102']}")
    staff = person(STAFF, "社工")
    await staff.say("/supervisors")
    await choose(staff, "任命 南溪小区 的监督员")
    await staff.say("1-1-101")

    assert "不是监督员" in await zhao.say("/inspect")
    assert "哪类问题" in await wang.say("/inspect")
    await choose(wang, "质量")
    await choose(wang, "严重")
    assert "描述" in await wang.say("3幢北侧外墙")
    assert "提交" in await wang.say("保温板接缝没有打胶，下雨会渗水")
    assert "照片 1 张" in await wang.say(None, photo_b64=PNG)
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
    assert "已解决 1 项" in await wang.say("/progress")
