"""Round 1 rules a resident would notice: housemates, reminders, /vote, repeats, forgeries."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import func, select

from bot.flows import consultation, registry
from bot.flows.audit import CLI
from storage.models import AuditEvent, Ballot
from storage.types import utcnow
from tests.e2e.conftest import buttons
from tests.e2e.test_outbox import wait_until_delivered
from tests.e2e.test_round1 import SHANGHAI, next_message
from tests.registry import import_sample_registry, issue_codes


async def open_round(db, community: str, **options) -> consultation.Consultation:
    """Round 1 for ``community``, opened through the flow; returns once its announcement
    has reached the bound residents, so that a resident's next reply is the reply."""
    async with db.session() as session:
        found = await registry.community_named(session, community)
        opened = await consultation.open_round1(
            session,
            found.id,
            "改造意愿征询",
            "同意改造吗？",
            options.pop("closes_at", utcnow() + timedelta(days=7)),
            CLI,
            **options,
        )
    await wait_until_delivered(db, some=False)
    return opened


def is_reminder(event: dict) -> bool:
    return "【提醒】" in (event["message"].get("text") or "")


async def audit_rows(db, action: str) -> int:
    async with db.session() as session:
        statement = select(func.count()).where(AuditEvent.action == action)
        return (await session.exec(statement)).one()


def local(moment) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def recorded_at(db, consultation_id: int | None) -> str:
    """When the household's one ballot was recorded, on Shanghai's clock."""
    async with db.session() as session:
        ballot = (
            await session.exec(select(Ballot).where(Ballot.consultation_id == consultation_id))
        ).one()
    return local(ballot.cast_at)


async def test_the_ballot_message_shows_the_answer_and_is_edited_when_it_changes(
    db, person, telegram
):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    wang, anna = person(6001, "王芳"), person(6009, "Anna", language_code="en")
    await wang.say(f"/start {codes['5--101']}")
    await anna.say(f"/start {codes['5--102']}")
    seq = await telegram.last_seq()
    opened = await open_round(db, "运南新村")
    question = (await telegram.wait_for(wang.id, after=seq))["message"]

    seq = await telegram.last_seq()
    (edited,) = await wang.press(question, buttons(question)["同意"], kind="edit")
    toast = await telegram.wait_for(wang.id, after=seq, kind="callback_answer")
    assert toast["text"] == "已记录您家的答复：同意"
    assert f"您家的答复：✅ 同意 · {await recorded_at(db, opened.id)}记录" in edited
    ballot = await wang.last_message()
    assert ballot["message_id"] == question["message_id"]  # the same message, no receipt
    assert "截止" in ballot["text"] and set(buttons(ballot)) == {"同意", "不同意"}

    (changed,) = await wang.press(ballot, buttons(ballot)["不同意"], kind="edit")
    assert f"您家的答复：✅ 不同意 · {await recorded_at(db, opened.id)}记录" in changed
    assert "✅ 同意" not in changed

    (shown,) = await wang.send("/vote")
    assert "您家的答复：✅ 不同意" in shown

    question = (await telegram.wait_for(anna.id, after=0, predicate=has_buttons))["message"]
    (edited,) = await anna.press(question, buttons(question)["Agree"], kind="edit")
    async with db.session() as session:
        (ballot_time,) = (
            await session.exec(
                select(Ballot.cast_at).where(
                    Ballot.consultation_id == opened.id, Ballot.cast_by == anna.id
                )
            )
        ).all()
    assert f"Your household's answer: ✅ Agree · recorded {local(ballot_time)}" in edited


def has_buttons(event: dict) -> bool:
    return "reply_markup" in event["message"]


async def test_housemates_hear_who_changed_the_household_answer(db, person, telegram):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    wang, li = person(6001, "王芳"), person(6002, "李强")
    anna = person(6010, "Anna", language_code="en")
    nameless = person(6011, " ")
    for resident in (wang, li, anna, nameless):
        await resident.say(f"/start {codes['5--101']}")
    opened = await open_round(db, "运南新村")

    await wang.say("/vote")
    ballot = await wang.last_message()
    assert "还没有答复" in ballot["text"]
    await wang.press(ballot, f"v1:vote:{opened.id}:agree", kind="edit")
    seq = await telegram.last_seq()
    await li.say("/vote")
    assert "您家的答复：✅ 同意" in (await li.last_message())["text"]
    await li.press(await li.last_message(), f"v1:vote:{opened.id}:disagree", kind="edit")
    told = await next_message(telegram, wang.id, seq, "改为")
    assert told["text"].startswith("李强把您家的答复改为：不同意。")
    assert set(buttons(told)) == {"同意", "不同意"}  # answer again from the notice
    told = await next_message(telegram, anna.id, seq, "changed")
    assert told["text"].startswith("李强 changed your household's answer to: Disagree.")

    # Somebody whose name says nothing is "another member of the household".
    seq = await telegram.last_seq()
    await nameless.say("/vote")
    await nameless.press(await nameless.last_message(), f"v1:vote:{opened.id}:agree", kind="edit")
    told = await next_message(telegram, wang.id, seq, "改为")
    assert told["text"].startswith("另一位家庭成员把您家的答复改为：同意。")
    told = await next_message(telegram, anna.id, seq, "changed")
    assert told["text"].startswith("Another member of your household changed")


async def test_a_repeated_update_records_once(db, person, telegram):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    wang = person(6003, "王")
    sent = await telegram.send(wang.user, f"/start {codes['5--102']}")
    await wang._replies(1)
    opened = await open_round(db, "运南新村")
    await wang.say("/vote")
    pressed = await telegram.press(
        wang.user, (await wang.last_message())["message_id"], f"v1:vote:{opened.id}:agree"
    )
    await wang._replies(1, kind="edit")

    await telegram.redeliver(sent["update_id"])
    await telegram.redeliver(pressed["update_id"])
    await wang.say("/me")  # answered only after both repeats were handled (one chat, in order)
    assert await audit_rows(db, "resident/bind") == 1
    assert await audit_rows(db, "ballot/cast") == 1
    history = await telegram.history(wang.id)
    assert sum("绑定成功" in (m.get("text") or "") for m in history) == 1


async def test_forged_and_foreign_vote_buttons_are_refused(db, person):
    await import_sample_registry(db)
    yunnan = await issue_codes(db, "运南新村")
    nanxi = await issue_codes(db, "南溪小区")
    wang = person(6004, "王")
    await wang.say(f"/start {nanxi['1-1-101']}")
    foreign = await open_round(db, "运南新村")
    message = await wang.last_message()
    for data, expected in [
        (f"v1:vote:{foreign.id}:agree", "不属于您所在的小区"),
        (f"v1:vote:{foreign.id}:maybe", "按钮已失效"),
        ("v1:vote:abc:agree", "按钮已失效"),
        (f"v1:vote:{foreign.id + 50}:agree", "按钮已失效"),
        ("v1:vote:1", "按钮已失效"),
    ]:
        assert expected in (await wang.press_answer(message, data))["text"]
    stranger = person(6005, "陌生人")
    await stranger.say("/help")
    refused = await stranger.press_answer(
        await stranger.last_message(), f"v1:vote:{foreign.id}:agree"
    )
    assert "还没有绑定您家" in refused["text"]
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Ballot))).one() == 0
    assert yunnan  # the foreign community's households exist but nobody voted


async def test_automatic_reminder_reaches_only_households_without_an_answer(db, person, telegram):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    answered, silent = person(6006, "答"), person(6007, "未答")
    await answered.say(f"/start {codes['5--101']}")
    await silent.say(f"/start {codes['5--102']}")
    opened = await open_round(
        db,
        "运南新村",
        closes_at=utcnow() + timedelta(days=1, seconds=1),
        remind_before=timedelta(days=1),
    )
    await answered.say("/vote")
    await answered.press(await answered.last_message(), f"v1:vote:{opened.id}:agree", kind="edit")
    seq = await telegram.last_seq()
    reminder = await telegram.wait_for(silent.id, after=seq, predicate=is_reminder)
    assert "还没有答复" in reminder["message"]["text"]
    await asyncio.sleep(0.5)
    later = await telegram.events(chat_id=answered.id, after=seq)
    assert not any("【提醒】" in (e.get("message", {}).get("text") or "") for e in later)


async def test_a_reminder_sent_by_hand_leaves_the_automatic_one_due(db, person, telegram):
    """Staff remind early by hand; the automatic reminder before closing still goes out."""
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    silent = person(6008, "未答")
    await silent.say(f"/start {codes['5--102']}")
    opened = await open_round(
        db,
        "运南新村",
        closes_at=utcnow() + timedelta(days=1, seconds=3),
        remind_before=timedelta(days=1),
    )
    seq = await telegram.last_seq()
    async with db.session() as session:
        assert await consultation.remind(session, opened.id, CLI) == 1
    by_hand = await telegram.wait_for(silent.id, after=seq, predicate=is_reminder)
    automatic = await telegram.wait_for(silent.id, after=by_hand["seq"], predicate=is_reminder)
    assert "还没有答复" in automatic["message"]["text"]


async def test_staff_act_only_for_their_communities(db, person):
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, 6100, registry.Role.STAFF, ["南溪小区"], CLI)
    foreign = await open_round(db, "运南新村")
    own = await open_round(db, "南溪小区")
    staff = person(6100, "南溪社工")
    panel = await staff.send("/staff")
    assert "南溪小区" in panel[0] and "运南新村" not in panel[0]
    message = await staff.last_message()
    assert set(buttons(message)) >= {"结果：南溪小区", "提醒：南溪小区", "结束：南溪小区"}
    for action in ("results", "remind", "remindyes", "remindno", "close", "closeyes", "keep"):
        refused = await staff.press_answer(message, f"v1:cons:{action}:{foreign.id}")
        assert "按钮已失效" in refused["text"]
    async with db.session() as session:
        assert (await consultation.tally(session, foreign.id)).status == "open"
        assert (await consultation.tally(session, own.id)).status == "open"

    resident = person(6101, "居民")
    assert "只供工作人员使用" in await resident.say("/staff")
    assert "只供工作人员使用" in await resident.say("/results")
    assert "只供管理员" in await staff.say("/ranking")
    refused = await resident.press_answer(message, f"v1:cons:closeyes:{own.id}")
    assert "按钮已失效" in refused["text"]


async def test_staff_are_stopped_before_the_work_not_after(db, person):
    """A round already open is said at the first step; a second reminder within the quiet
    time is asked about; closing can be called off."""
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, 6200, registry.Role.STAFF, ["南溪小区"], CLI)
    opened = await open_round(db, "南溪小区")
    staff = person(6200, "南溪社工")
    await staff.send("/staff")
    panel = await staff.last_message()
    (pick,) = await staff.press(panel, buttons(panel)["发起第一轮征询"])
    assert "请选择要征询的小区" in pick
    picker = await staff.last_message()
    refused = await staff.press_answer(picker, buttons(picker)["南溪小区"])
    assert "南溪小区已经有一个进行中的第一轮征询" in refused["text"] and refused["show_alert"]

    (sent,) = await staff.press(panel, buttons(panel)["提醒：南溪小区"])
    assert "发送提醒" in sent
    assert await audit_rows(db, "consultation/remind") == 1
    (asked,) = await staff.press(panel, buttons(panel)["提醒：南溪小区"])
    assert "发送过提醒" in asked and "再次提醒" in asked
    question = await staff.last_message()
    (kept,) = await staff.press(question, buttons(question)["不发送"], kind="edit")
    assert "未作改动" in kept
    assert await audit_rows(db, "consultation/remind") == 1  # nothing sent
    await staff.press(panel, buttons(panel)["提醒：南溪小区"])
    question = await staff.last_message()
    (again,) = await staff.press(question, buttons(question)["仍然再次提醒"])
    assert "发送提醒" in again
    assert await audit_rows(db, "consultation/remind") == 2

    (confirm,) = await staff.press(panel, buttons(panel)["结束：南溪小区"])
    assert "确定现在结束" in confirm
    question = await staff.last_message()
    assert set(buttons(question)) == {"确定结束", "不，继续征询"}
    (kept,) = await staff.press(question, buttons(question)["不，继续征询"], kind="edit")
    assert "未作改动" in kept
    assert opened.id is not None
    async with db.session() as session:
        assert (await consultation.tally(session, opened.id)).status == "open"
