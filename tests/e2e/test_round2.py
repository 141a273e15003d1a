"""Round 2 end to end: staff open the menu, ten households order, staff settle the plan."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.flows import exports, menu, registry, round2
from bot.flows.audit import CLI
from storage.models import AuditEvent, Ballot, Consultation
from storage.types import utcnow
from tests.e2e.conftest import buttons
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_outbox import wait_until_delivered
from tests.e2e.test_round1 import (
    ADMIN,
    SHANGHAI,
    closed_round_by_flows,
    import_city,
    next_message,
)
from tests.sheets import first_sheet

RESIDENTS = 8000
BUDGET_YUAN = 1_000_000


@pytest.fixture
def bot_settings(bot_settings):
    """Menus opened in the chat allow 1 to 4 items within ¥1,000,000."""
    rules = {"menu_min_items": 1, "menu_max_items": 4, "menu_budget_yuan": BUDGET_YUAN}
    return bot_settings.model_copy(
        update={"consultation": bot_settings.consultation.model_copy(update=rules)}
    )


def labelled(message: dict, starting: str) -> str:
    """The callback data of the button whose label contains ``starting``."""
    return next(data for label, data in buttons(message).items() if starting in label)


def info_of(message: dict, name: str) -> str:
    """The callback data of the ℹ️ button beside the item called ``name``."""
    rows = message["reply_markup"]["inline_keyboard"]
    return next(row[1]["callback_data"] for row in rows if name in row[0]["text"])


async def order(resident, menu_message: dict, *names: str) -> dict:
    """Toggle items by name (turning pages as needed); the menu message as it is then."""
    message = menu_message
    for name in names:
        while not any(name in label for label in buttons(message)):
            await resident.press(message, labelled(message, "下一页"), kind="edit")
            message = await resident.last_message()
        await resident.press(message, labelled(message, name), kind="edit")
        message = await resident.last_message()
    return message


async def first_page(resident, message: dict) -> dict:
    while any("上一页" in label for label in buttons(message)):
        await resident.press(message, labelled(message, "上一页"), kind="edit")
        message = await resident.last_message()
    return message


async def open_menu(db, community: str, **options) -> Consultation:
    """Round 2 for ``community``, opened through the flow."""
    async with db.session() as session:
        found = await registry.community_named(session, community)
        assert found.id is not None
        return await round2.open_round2(
            session,
            found.id,
            "方案征询",
            "请选择",
            utcnow() + timedelta(days=3),
            CLI,
            **options,
        )


@pytest.mark.slow
async def test_ten_households_order_from_the_menu_and_get_the_plan(db, tmp_path, person, telegram):
    await import_city(db, tmp_path)
    residents = [person(RESIDENTS + i, f"居民{i}") for i in range(10)]
    await telegram.add_users([r.user for r in residents])
    await closed_round_by_flows(db, "解放新村", agree=10, residents_from=RESIDENTS)  # 100%
    await wait_until_delivered(db)  # round 1's outcome, before anything else arrives

    # The admin opens round 2 from the staff panel.
    admin = person(ADMIN, "管理员")
    await admin.say("/staff")
    panel = await admin.last_message()
    await admin.press(panel, buttons(panel)["开启方案征询（点菜）"])
    pick = await admin.last_message()
    await admin.press(pick, buttons(pick)["解放新村"])
    await admin.say("解放新村改造方案征询")
    await admin.say("请选择您家最希望实施的改造项目")
    closes = (utcnow() + timedelta(days=3)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    preview = await admin.say(closes)
    assert "方案征询" in preview and "总户数10" in preview
    seq = await telegram.last_seq()
    preview_message = await admin.last_message()
    await admin.press(preview_message, buttons(preview_message)["发出征询"])

    questions = [await next_message(telegram, r.id, seq, "改造方案征询") for r in residents]
    menus = []
    for resident, question in zip(residents, questions, strict=True):
        (page,) = await resident.press(question, buttons(question)["打开菜单点菜"])
        assert "已包含（基础类）：屋面整修" in page and "第1/3页" in page
        menus.append(await resident.last_message())

    # The first household goes over the budget with the lifts, is refused, and fixes it.
    wang = residents[0]
    over = await order(wang, menus[0], "加装电梯")
    assert "超过了预算" in over["text"] and "✅ 加装电梯" in str(buttons(over))
    refusal = await wang.press_answer(over, labelled(over, "提交"))
    assert "超过了预算" in refusal["text"] and refusal["show_alert"]
    async with db.session() as session:
        (opened,) = await round2.needing_staff(session)
        assert (await round2.tally(session, opened.id)).answered == 0  # nothing recorded
    fixed = await order(wang, over, "加装电梯", "绿化提升", "电动车充电设施")
    (recorded,) = await wang.press(fixed, labelled(fixed, "提交"), kind="edit")
    confirmation = await next_message(telegram, wang.id, 0, "已记录您家")
    assert "绿化提升、电动车充电设施（2项，合计¥400,000）" in confirmation["text"]

    # Six more want greenery; three of them also the reading room (on page 2).
    for index in range(1, 10):
        resident, message = residents[index], menus[index]
        names = ["绿化提升"] if index <= 6 else []
        names += ["智慧书屋"] if index <= 3 else []
        names += ["公共照明"] if index > 6 else []
        message = await order(resident, message, *names)
        await resident.press(message, labelled(message, "提交"), kind="edit")
        await next_message(telegram, resident.id, 0, "已记录您家")

    # The second household changes its mind: no reading room after all.
    li = residents[1]
    (again,) = await li.send("/vote", replies=1)
    assert "已于" in again
    vote_message = await li.last_message()
    await li.press(vote_message, buttons(vote_message)["打开菜单点菜"])
    message = await order(li, await li.last_message(), "智慧书屋")
    message = await first_page(li, message)
    await li.press(message, labelled(message, "提交"), kind="edit")
    changed = await next_message(telegram, li.id, 0, "已更新您家")
    assert "绿化提升（1项" in changed["text"]

    # Staff watch the tallies: round 1's table and chart, round 2's table, chart and sheet.
    # Round 1's table, chart and sheet, then round 2's.
    replies = await admin.send("/results", replies=6)
    table = next(text for text in replies if "绿化提升" in text)
    assert "总户数10，已提交10户" in table
    assert "绿化提升：7户（70.0% / 70.0%）" in table
    assert "智慧书屋：2户（20.0% / 20.0%）" in table
    document = (await admin.last_message())["document"]
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    assert document["file_name"] == f"解放新村-方案征询-{month}.xlsx"
    sheet = first_sheet(await telegram.file_bytes(document["file_id"]))
    greenery = next(row for row in sheet.iter_rows(min_row=2) if "绿化提升" in str(row[2].value))
    assert (greenery[0].value, greenery[5].value, greenery[6].value) == (1, 7, 0.7)
    assert (greenery[4].number_format, greenery[6].number_format) == (exports.MONEY_FORMAT, "0.0%")

    # The admin closes it: the plan takes greenery (70% of answers), not the reading room.
    await admin.say("/staff")
    panel = await admin.last_message()
    await admin.press(panel, buttons(panel)["结束：解放新村"])
    confirm = await admin.last_message()
    seq = await telegram.last_seq()
    await admin.press(confirm, labelled(confirm, "确定结束"), replies=2)
    for resident in residents:
        await next_message(telegram, resident.id, seq, "方案征询结束")
    settle = await admin.last_message()
    assert "移出：绿化提升" in buttons(settle) and "加入：智慧书屋" in buttons(settle)

    # Staff put the reading room in, with a reason, and confirm.
    await admin.press(settle, buttons(settle)["加入：智慧书屋"])
    assert "理由" in (await admin.last_message())["text"]
    await admin.send("居民代表会议建议保留书屋", replies=2)
    settle = await admin.last_message()
    seq = await telegram.last_seq()
    (confirmed,) = await admin.press(settle, buttons(settle)["确认方案并通知居民"])
    assert "已确认" in confirmed
    for resident in residents:
        plan = await next_message(telegram, resident.id, seq, "【改造方案】")
        assert "• 绿化提升 (7/10)" in plan["text"] and "• 智慧书屋 (2/10)" in plan["text"]
        assert "• 屋面整修" in plan["text"] and "公共照明" not in plan["text"]
        chart = await telegram.wait_for(
            resident.id, after=seq, predicate=lambda e: "photo" in e["message"]
        )
        assert chart["message"]["caption"].startswith("解放新村改造方案")

    async with db.session() as session:
        settled = await session.get(Consultation, opened.id)
        reasons = (
            await session.exec(
                select(AuditEvent.details).where(AuditEvent.action == "plan/include")
            )
        ).all()
    assert settled.plan_confirmed_at is not None
    assert reasons == [{"item": "U02", "reason": "居民代表会议建议保留书屋"}]


async def test_forged_presses_and_a_repeated_submit_change_nothing(db, tmp_path, person, telegram):
    await import_city(db, tmp_path)
    await closed_round_by_flows(db, "解放新村", agree=10, residents_from=RESIDENTS)
    await closed_round_by_flows(db, "建设小区", agree=5, residents_from=RESIDENTS + 100)
    await wait_until_delivered(db)  # round 1's outcomes are settled before anyone chats
    async with db.session() as session:
        ours = await round2.open_round2(
            session,
            (await registry.community_named(session, "解放新村")).id,
            "方案征询",
            "请选择",
            utcnow() + timedelta(days=3),
            CLI,
            codes=["B01", "I01", "I02", "I03"],
        )
        theirs = await round2.open_round2(
            session,
            (await registry.community_named(session, "建设小区")).id,
            "方案征询",
            "请选择",
            utcnow() + timedelta(days=3),
            CLI,
        )
    await wait_until_delivered(db)  # the openings' announcements, before the chat goes on
    items = await catalogue(db)
    wang = person(RESIDENTS, "王")
    await wang.say("/vote")
    vote_message = await wang.last_message()
    (page,) = await wang.press(vote_message, buttons(vote_message)["打开菜单点菜"])
    assert "第1/1页" in page
    message = await wang.last_message()

    (described,) = await wang.press(message, info_of(message, "绿化提升"))
    assert "估算金额：¥250,000" in described and "绿化率" in described

    for data, expected in [
        (f"v1:menu:{ours.id}:tog:{items['B01']}", "基础类项目无论如何都会实施"),
        (f"v1:menu:{ours.id}:tog:{items['U01']}", "按钮已失效"),  # not on this menu
        (f"v1:menu:{ours.id}:tog:999999", "按钮已失效"),
        (f"v1:menu:{ours.id}:info:{items['U01']}", "按钮已失效"),
        (f"v1:menu:{ours.id}:page:3", "按钮已失效"),
        (f"v1:menu:{theirs.id}:send:0", "不属于您所在的小区"),
        (f"v1:menu:{ours.id}:cook:0", "按钮已失效"),
        ("v1:menu:x:tog:1", "按钮已失效"),
    ]:
        assert expected in (await wang.press_answer(message, data))["text"], data

    await wang.press(message, labelled(message, "绿化提升"), kind="edit")
    history = await telegram.history(wang.id)
    message = next(m for m in history if m["message_id"] == message["message_id"])
    seq = await telegram.last_seq()
    pressed = await telegram.press(wang.user, message["message_id"], labelled(message, "提交"))
    await next_message(telegram, wang.id, seq, "已记录您家")
    await telegram.redeliver(pressed["update_id"])  # Telegram delivers the press again
    await wang.say("/me")  # answered after the redelivered press was handled
    async with db.session() as session:
        submits = (
            await session.exec(select(AuditEvent).where(AuditEvent.action == "selection/submit"))
        ).all()
        result = await round2.tally(session, ours.id)
    assert len(submits) == 1 and result.answered == 1
    assert {row.item.code: row.households for row in result.items}["I01"] == 1


async def test_the_menu_message_shows_when_the_household_submitted(db, tmp_path, person, telegram):
    await import_city(db, tmp_path)
    await closed_round_by_flows(db, "解放新村", agree=10, residents_from=RESIDENTS)
    ours = await open_menu(db, "解放新村", codes=["B01", "I01", "I02", "I03"])
    await wait_until_delivered(db)  # the opening's announcement, before the chat goes on
    wang = person(RESIDENTS, "王")
    await wang.say("/vote")
    vote_message = await wang.last_message()
    (page,) = await wang.press(vote_message, buttons(vote_message)["打开菜单点菜"])
    assert "您家还没有提交。" in page

    message = await order(wang, await wang.last_message(), "绿化提升")
    (submitted,) = await wang.press(message, labelled(message, "提交"), kind="edit")
    async with db.session() as session:
        ballot = (await session.exec(select(Ballot).where(Ballot.consultation_id == ours.id))).one()
    at = ballot.cast_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert f"✅ 您家已提交 · {at}记录" in submitted

    history = await telegram.history(wang.id)  # the menu message, above the confirmation
    shown = next(m for m in history if m["message_id"] == message["message_id"])
    (changed,) = await wang.press(shown, labelled(shown, "绿化提升"), kind="edit")
    assert f"有改动尚未提交；您家于{at}提交的选择仍然有效。" in changed


async def test_an_items_picture_is_shown_on_request(db, tmp_path, person, telegram):
    await import_city(db, tmp_path)
    await closed_round_by_flows(db, "解放新村", agree=10, residents_from=RESIDENTS)
    await wait_until_delivered(db)
    picture = base64.b64decode(PNG)
    (tmp_path / "park.png").write_bytes(picture)
    long_description = "施工期间分段围挡，保留通行。" * 70  # 980 characters: too long for a caption
    (tmp_path / "menu.csv").write_text(
        "编号,类别,估算金额,名称,说明,图片\n"
        "P01,完善类,120000,口袋公园,利用边角空地建小游园。,park.png\n"
        "P02,提升类,30000,智能快递柜,每个楼栋门口设快递柜。,\n"
        f"P03,完善类,500000,道路改造,{long_description},park.png\n",
        encoding="utf-8",
    )
    async with db.session() as session:
        await menu.load_catalogue(session, tmp_path / "menu.csv", CLI)
        await round2.open_round2(
            session,
            (await registry.community_named(session, "解放新村")).id,
            "方案征询",
            "请选择",
            utcnow() + timedelta(days=3),
            CLI,
        )
    await wait_until_delivered(db)  # the opening's announcement, before the chat goes on
    wang = person(RESIDENTS, "王")
    await wang.say("/vote")
    vote_message = await wang.last_message()
    await wang.press(vote_message, buttons(vote_message)["打开菜单点菜"])
    message = await wang.last_message()

    await wang.press(message, info_of(message, "口袋公园"))
    shown = await wang.last_message()
    assert await telegram.file_bytes(shown["photo"][-1]["file_id"]) == picture
    assert shown["caption"] == "口袋公园（完善类）\n估算金额：¥120,000\n利用边角空地建小游园。"

    (described,) = await wang.press(message, info_of(message, "智能快递柜"))
    assert described == "智能快递柜（提升类）\n估算金额：¥30,000\n每个楼栋门口设快递柜。"
    assert "photo" not in await wang.last_message()

    await wang.press(message, info_of(message, "道路改造"), replies=2)
    history = await telegram.history(wang.id)
    shown, described = [m for m in history if m["from_bot"]][-2:]
    assert await telegram.file_bytes(shown["photo"][-1]["file_id"]) == picture
    assert "caption" not in shown and described["text"].endswith(long_description)


async def catalogue(db) -> dict[str, int]:
    async with db.session() as session:
        return {item.code: item.id for item in await menu.catalogue(session)}
