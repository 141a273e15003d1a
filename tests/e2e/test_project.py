"""Project stages: staff advance them, residents are told and can look; mutes are respected."""

from __future__ import annotations

from datetime import date

from bot.flows import project, registry
from bot.flows.audit import CLI
from storage.models import Role, Stage
from tests.e2e.conftest import buttons
from tests.e2e.test_outbox import received, wait_until_delivered
from tests.registry import import_sample_registry, issue_codes

STAFF = 9200


async def test_advancing_a_stage_tells_residents_who_have_not_muted_it(db, person, telegram):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    neighbour_codes = await issue_codes(db, "南溪小区")
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["运南新村"], CLI)
        community = await registry.community_named(session, "运南新村")
        await project.plan(session, community.id, Stage.CONSTRUCTION_START, date(2027, 3, 1), CLI)
    wang, li = person(7001, "王"), person(7002, "李")
    await wang.say(f"/start {codes['5--101']}")
    await li.say(f"/start {codes['5--102']}")
    zhao = person(7004, "赵")  # of another community: not told
    await zhao.say(f"/start {neighbour_codes['1-1-101']}")

    # 李 mutes progress notices in /settings.
    await li.say("/settings")
    settings = await li.last_message()
    await li.press(settings, buttons(settings)["改造进度通知：开"], kind="edit")
    assert "改造进度通知：关" in buttons(await li.last_message())

    staff = person(STAFF, "社工")
    shown = await staff.say("/project")
    assert "开工：计划2027-03-01" in shown
    message = await staff.last_message()
    (after,) = await staff.press(message, buttons(message)["进入下一阶段：方案设计"])
    assert "✅ 方案设计" in after
    await wait_until_delivered(db)
    got = await received(telegram, [wang.id, li.id, zhao.id], "改造方案设计已经开始")
    assert dict(got) == {wang.id: 1}

    # The old button again (a double press) changes nothing.
    refused = await staff.press_answer(message, buttons(message)["进入下一阶段：方案设计"])
    assert "不是下一个阶段" in refused["text"]
    progress = await wang.say("/progress")
    assert "✅ 方案设计" in progress and "▫️ 开工：计划2027-03-01" in progress

    outsider = person(7003, "外人")
    assert "只供工作人员使用" in await outsider.say("/project")
    assert "还没有绑定您家" in await outsider.say("/progress")
    foreign = await wang.press_answer(message, f"v1:proj:adv:{community.id}:construction_start")
    assert "按钮已失效" in foreign["text"]
