"""Round 1 end to end: staff open it in the chat, households answer, it closes, the city ranks."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest.mock import ANY
from zoneinfo import ZoneInfo

import pytest

from bot.flows import consultation, importing, registry
from bot.flows.audit import CLI, Actor
from storage.models import Role
from storage.types import utcnow
from tests.e2e.conftest import buttons, has, ticks
from tests.registry import issue_codes
from tests.sheets import first_sheet

ADMIN = 9001
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def import_city(db, tmp_path) -> None:
    """解放新村 with ten households, and two more communities to rank against."""
    (tmp_path / "c.csv").write_text(
        "小区,交付年份\n解放新村,1992\n建设小区,1996\n新华苑,2001\n", encoding="utf-8"
    )
    rows = ["小区,楼栋,单元,室"]
    rows += [f"解放新村,1,1,{room}" for room in range(101, 111)]
    rows += [f"建设小区,2,1,{room}" for room in range(101, 106)]
    rows += [f"新华苑,3,1,{room}" for room in range(101, 105)]
    (tmp_path / "h.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    async with db.session() as session:
        await importing.import_communities(session, tmp_path / "c.csv", CLI)
        await importing.import_households(session, tmp_path / "h.csv", CLI)
        await registry.add_staff(session, ADMIN, Role.ADMIN, [], CLI)


async def closed_round_by_flows(db, community: str, agree: int, residents_from: int) -> None:
    """A round of another community run to the end through the flows themselves."""
    from bot.flows import binding
    from bot.flows.people import meet

    codes = sorted((await issue_codes(db, community)).values())
    async with db.session() as session:
        found = await registry.community_named(session, community)
        for offset, code in enumerate(codes):
            await meet(session, residents_from + offset, "居民", "zh-hans")
            await binding.bind(
                session,
                residents_from + offset,
                code,
                binding.Limits(),
                Actor(residents_from + offset),
            )
    async with db.session() as session:
        opened = await consultation.open_round1(
            session, found.id, "改造意愿征询", "同意改造吗？", utcnow() + timedelta(days=1), CLI
        )
    for offset in range(agree):
        async with db.session() as session:
            await consultation.cast(
                session, opened.id, residents_from + offset, "agree", Actor(residents_from + offset)
            )
    async with db.session() as session:
        await consultation.close(session, opened.id, CLI)


async def next_message(telegram, chat_id: int, after: int, contains: str) -> dict:
    event = await telegram.wait_for(
        chat_id,
        after=after,
        predicate=lambda e: contains in (e["message"].get("text") or ""),
    )
    return event["message"]


@pytest.mark.slow
async def test_ten_households_reach_exactly_eighty_percent(db, tmp_path, person, telegram):
    await import_city(db, tmp_path)
    await closed_round_by_flows(db, "建设小区", agree=5, residents_from=7000)  # 100%
    await closed_round_by_flows(db, "新华苑", agree=3, residents_from=7100)  # 75%: postponed
    codes = await issue_codes(db, "解放新村")
    residents = [person(8000 + i, f"居民{i}") for i in range(10)]
    for resident, room in zip(residents, range(101, 111), strict=True):
        assert "绑定成功" in await resident.say(f"/start {codes[f'1-1-{room}']}")

    # The admin opens the round in the chat.
    admin = person(ADMIN, "管理员")
    await admin.say("/staff")
    panel = await admin.last_message()
    await admin.press(panel, buttons(panel)["发起第一轮征询"])
    pick = await admin.last_message()
    assert "解放新村" in (await admin.press(pick, buttons(pick)["解放新村"]))[0]
    assert "问题" in await admin.say("解放新村改造意愿征询")
    assert "截止时间" in await admin.say("您是否同意本小区实施老旧小区改造？")
    closes = (utcnow() + timedelta(days=3)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    preview = await admin.say(closes)
    assert "总户数10" in preview and "10位已绑定的居民" in preview
    seq = await telegram.last_seq()
    preview_message = await admin.last_message()
    (opened,) = await admin.press(preview_message, buttons(preview_message)["发出征询"])
    assert "征询已发起" in opened

    # Every resident receives the question through the outbox and answers.
    questions = [await next_message(telegram, r.id, seq, "改造意愿征询") for r in residents]
    choices = ["agree"] * 8 + ["disagree"]
    for resident, question, choice in zip(residents, questions, choices, strict=False):
        label = "同意" if choice == "agree" else "不同意"
        (recorded,) = await resident.press(question, buttons(question)[label], kind="edit")
        assert f"您家的答复：✅ {label} · " in recorded
    changer, question = residents[0], questions[0]
    assert (
        "✅ 不同意" in (await changer.press(question, buttons(question)["不同意"], kind="edit"))[0]
    )
    assert "✅ 同意" in (await changer.press(question, buttons(question)["同意"], kind="edit"))[0]
    # residents[9] stays silent.

    before = await telegram.last_seq()
    answer = await admin.send("/results", replies=3)
    assert "解放新村" in answer[0] and "同意比例80.0%" in answer[0]
    chart = (await telegram.wait_for(ADMIN, after=before, predicate=has("photo")))["message"]
    sheet = (await telegram.wait_for(ADMIN, after=before, predicate=has("document")))["message"]
    assert (await telegram.file_bytes(chart["photo"][-1]["file_id"])).startswith(b"\x89PNG")
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    assert sheet["document"]["file_name"] == f"改造意愿征询结果-{month}.xlsx"
    rows = first_sheet(await telegram.file_bytes(sheet["document"]["file_id"])).iter_rows(min_row=2)
    jiefang = next([c.value for c in row] for row in rows if row[0].value == "解放新村")
    assert jiefang[3:8] == [10, 8, 1, 1, 0.8]  # households, agree, disagree, silent, approval

    # The admin closes it; everybody hears the outcome with the figures.
    await admin.say("/staff")
    panel = await admin.last_message()
    await admin.press(panel, buttons(panel)["结束：解放新村"])
    confirm = await admin.last_message()
    seq = await telegram.last_seq()
    closed = await admin.press(confirm, buttons(confirm)["确定结束"], replies=2)
    assert "已结束" in closed[0] and "同意8，不同意1，未答复1" in closed[0]
    for resident in residents:
        outcome = await next_message(telegram, resident.id, seq, "征询结果")
        assert "同意比例80.0%，达到80%的要求" in outcome["text"]

    # A press after closing says so, shows the outcome and changes nothing.
    alert = await residents[9].press_answer(questions[9], buttons(questions[9])["同意"])
    assert "已经结束" in alert["text"] and alert["show_alert"]
    async with db.session() as session:
        tallies = await consultation.current_tallies(session)
    assert {t.community: (t.agree, t.disagree) for t in tallies}["解放新村"] == (8, 1)

    # The city ranking: 建设小区 100%, 解放新村 80%, then 新华苑 postponed.
    ranking = await admin.send("/ranking", replies=3)
    order = [ranking[0].index(name) for name in ("建设小区", "解放新村", "新华苑")]
    assert order == sorted(order)
    document = (await admin.last_message())["document"]
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    assert document["file_name"] == f"全市改造意愿征询排名-{month}.xlsx"
    sheet = first_sheet(await telegram.file_bytes(document["file_id"]))
    assert [c.value for c in sheet[2]][:9] == [1, "建设小区", ANY, 5, 5, 0, 0, 1.0, 0.8]
    assert sheet["H2"].number_format == "0.0%" and sheet["K2"].is_date


async def test_scheduled_closing_survives_a_restart(db, tmp_path, bot_settings):
    """The closing time is in the database: a bot started after it closes the round at once."""
    from bot.app import build_application
    from storage.db import Database

    await import_city(db, tmp_path)
    async with db.session() as session:
        found = await registry.community_named(session, "新华苑")
        opened = await consultation.open_round1(
            session, found.id, "改造意愿征询", "同意改造吗？", utcnow() + timedelta(days=7), CLI
        )
        opened.closes_at = utcnow()  # the bot was down when the round should have closed

    database = Database(bot_settings.database.url)
    application = build_application(bot_settings, database)
    async with application:
        await application.post_init(application)
        await application.start()
        async for _ in ticks():
            async with db.session() as session:
                result = await consultation.tally(session, opened.id)
            if result.status == "closed":
                break
        await application.stop()
        await application.post_stop(application)
    await database.dispose()
    assert result.status == "closed" and not result.reached
