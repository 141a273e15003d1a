"""Questions end to end: the FAQ answers, staff answer the rest, repair reports are recognised."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import func, select

from bot.flows import dialogues, registry, repair
from bot.flows.audit import CLI
from storage.models import FaqEntry, Question, QuestionState, Role
from storage.types import utcnow
from tests.e2e.conftest import buttons
from tests.e2e.test_round1 import next_message
from tests.registry import import_sample_registry, issue_codes
from tests.test_repair import file

STAFF = 9600
YUNNAN_STAFF = 9601  # serves 运南新村 only


async def bound_resident(db, person):
    """王芳 of 南溪小区, bound; the community's staff member has started the bot too."""
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区"], CLI)
    await person(STAFF, "社工").say("/help")
    codes = await issue_codes(db, "南溪小区")
    wang = person(1001, "王芳")
    await wang.say(f"/start {codes['1-1-101']}")
    return wang


async def test_the_faq_answers_in_the_residents_own_words(db, person):
    wang = await bound_resident(db, person)
    answer = await wang.say("没到80%会怎么样？")  # plain text, outside any dialogue
    assert "暂缓改造" in answer
    answered = await wang.last_message()
    (glad,) = await wang.press(answered, buttons(answered)["👍 这回答了我的问题"])
    assert "很高兴" in glad
    english = person(1002, "Anna", language_code="en")
    codes = await issue_codes(db, "南溪小区")
    await english.say(f"/start {codes['1-1-102']}")
    assert "20%" in await english.say("/ask who pays for emergency repairs")


async def test_a_question_with_several_likely_answers_offers_them_to_pick(db, person):
    wang = await bound_resident(db, person)
    assert "哪一个" in await wang.say("维修资金怎么用？")
    offer = await wang.last_message()
    candidates = [label for label in buttons(offer) if label != "问社区工作人员"]
    assert 2 <= len(candidates) <= 3 and "危急维修资金是谁出钱？" in candidates
    (answer,) = await wang.press(offer, buttons(offer)["危急维修资金是谁出钱？"])
    assert "常见问题：危急维修资金是谁出钱？" in answer and "政府财政补助 80%" in answer
    answered = await wang.last_message()
    (glad,) = await wang.press(answered, buttons(answered)["👍 这回答了我的问题"])
    assert "很高兴" in glad


async def questions(db) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(Question))).one()


async def test_an_off_topic_question_goes_to_staff_not_to_an_unrelated_answer(db, person, telegram):
    wang = await bound_resident(db, person)
    seq = await telegram.last_seq()
    told = await wang.say("小区附近哪家面馆好吃？")
    assert "已把您的问题转给社区工作人员" in told and "点菜" not in told
    assert buttons(await wang.last_message()) == {}
    notified = await next_message(telegram, STAFF, seq, "新的居民咨询")
    assert "面馆" in notified["text"]
    staff = person(STAFF, "社工")
    await staff.say("/inbox")
    assert any("面馆" in label for label in buttons(await staff.last_message()))
    # A question the FAQ does answer, in traditional characters, is answered at once.
    answer = await wang.say("點菜式的改造方案怎麼選？")
    assert answer.startswith("常见问题：点菜式的改造方案怎么选？") and "基础类项目" in answer


async def staff_ask(db, telegram, wang, request, question: str) -> None:
    """The community's staff ask the household about a request; 王芳 is told."""
    seq = await telegram.last_seq()
    async with db.session() as session:
        member = await registry.staff_member(session, STAFF)
        assert member is not None
        await repair.ask_resident(session, request.id, question, member, CLI)
    await next_message(telegram, wang.id, seq, question)


async def test_greetings_and_thanks_are_answered_kindly_and_never_reach_the_inbox(
    db, person, telegram
):
    wang = await bound_resident(db, person)
    seq = await telegram.last_seq()
    for greeting in ("你好", "您好！", "Hello", "早上好呀"):
        assert "有问题直接发给我" in await wang.say(greeting), greeting
    for thanks in ("谢谢 👍", "謝謝！", "好的", "thank you"):
        assert "不客气" in await wang.say(thanks), thanks
    english = person(1002, "Anna", language_code="en")
    codes = await issue_codes(db, "南溪小区")
    await english.say(f"/start {codes['1-1-102']}")
    assert "You're welcome" in await english.say("Thanks!")
    # A greeting with a question in it is a question.
    assert "已把您的问题转给社区工作人员" in await wang.say("你好，小区附近哪家面馆好吃？")
    assert await questions(db) == 1
    staff_messages = await telegram.wait_for(
        STAFF, after=seq, predicate=lambda e: "新的居民咨询" in (e["message"].get("text") or "")
    )
    assert "面馆" in staff_messages["message"]["text"]


async def test_typing_instead_of_pressing_answer_staff_answers_them(db, person, telegram):
    wang = await bound_resident(db, person)
    request = await file(db, wang.id, common=False)
    await staff_ask(db, telegram, wang, request, "漏水点在哪个房间上方？")

    seq = await telegram.last_seq()
    sent = await wang.say("在 602 室卧室上方")  # typed, "回复工作人员" not pressed
    assert sent == f"已把您的回复加入{request.number}，工作人员会收到。"
    told = await next_message(telegram, STAFF, seq, "住户回复")
    assert told["text"] == f"报修{request.number}的住户回复：在 602 室卧室上方"
    assert await questions(db) == 0  # not taken for a question to the FAQ
    # Answered, staff wait no more: what she types next is a question again.
    assert "暂缓改造" in await wang.say("没到80%会怎么样？")


async def test_with_staff_waiting_on_two_requests_the_resident_chooses_which(db, person, telegram):
    wang = await bound_resident(db, person)
    roof = await file(db, wang.id)
    flat = await file(db, wang.id, common=False)
    await staff_ask(db, telegram, wang, roof, "屋面哪一块在漏？")
    await staff_ask(db, telegram, wang, flat, "家里什么时候有人？")

    assert "请选择您要回复的一件" in await wang.say("明天上午在家")
    choice = await wang.last_message()
    labels = list(buttons(choice))
    assert labels == [f"{roof.number} 屋面哪一块在漏？", f"{flat.number} 家里什么时候有人？"]
    (prompt,) = await wang.press(choice, buttons(choice)[labels[1]])
    assert "家里什么时候有人？" in prompt
    seq = await telegram.last_seq()
    assert f"已把您的回复加入{flat.number}" in await wang.say("明天上午在家")
    told = await next_message(telegram, STAFF, seq, "住户回复")
    assert told["text"] == f"报修{flat.number}的住户回复：明天上午在家"
    assert await questions(db) == 0


async def faq_entries(db) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(FaqEntry))).one()


async def test_a_question_the_faq_cannot_answer_goes_to_staff_and_back(db, person, telegram):
    wang = await bound_resident(db, person)
    assert "问题" in await wang.say("/ask")
    seq = await telegram.last_seq()
    (no_match,) = await wang.send("小区什么时候装充电桩")
    assert "没有找到" in no_match and "已把您的问题转给社区工作人员" in no_match
    assert buttons(await wang.last_message()) == {}  # nothing more to press
    notified = await next_message(telegram, STAFF, seq, "新的居民咨询")
    assert "充电桩" in notified["text"]

    staff = person(STAFF, "社工")
    await staff.say("/inbox")
    inbox = await staff.last_message()
    (thread, _) = await staff.press(inbox, next(iter(buttons(inbox).values())), replies=2)
    assert "充电桩" in thread
    await staff.press(await staff.last_message(), "v1:inbox:reply:1")
    seq = await telegram.last_seq()
    assert "已发给" in await staff.say("预计明年三月开工，装在东门停车场")
    answer = await next_message(telegram, wang.id, seq, "回复了您的问题")
    assert "东门停车场" in answer["text"]

    await wang.press(answer, buttons(answer)["继续回复"])
    seq = await telegram.last_seq()
    await wang.say("一共装几个？")
    assert "一共装几个" in (await next_message(telegram, STAFF, seq, "居民回复"))["text"]
    entries = await faq_entries(db)
    (added,) = await staff.press(await staff.last_message(), "v1:inbox:faq:1")
    assert "已加入本小区的常见问题" in added
    again = await staff.press_answer(await staff.last_message(), "v1:inbox:faq:1")
    assert again["show_alert"] and "已经在本小区的常见问题里" in again["text"]
    assert await faq_entries(db) == entries + 1  # one entry, however often it is pressed
    seq = await telegram.last_seq()
    (closed,) = await staff.press(await staff.last_message(), "v1:inbox:close:1")
    assert "已办结" in closed
    assert "办结" in (await next_message(telegram, wang.id, seq, "已办结"))["text"]
    # The answer is in the community's FAQ now.
    assert "东门停车场" in await wang.say("充电桩什么时候装？")


async def test_a_repair_in_a_question_is_offered_the_repair_dialogue(db, person, telegram):
    wang = await bound_resident(db, person)
    assert "报修" in await wang.say("楼道的灯坏了好几天了")
    offer = await wang.last_message()
    (intake,) = await wang.press(offer, buttons(offer)["是的，我要报修"])
    assert "是什么问题" in intake
    await wang.say("/cancel")

    assert "报修" in await wang.say("下水道堵了")  # a question after all
    offer, seq = await wang.last_message(), await telegram.last_seq()
    (sent,) = await wang.press(offer, buttons(offer)["不，我是想咨询"])
    assert "已把您的问题转给社区工作人员" in sent  # the FAQ has nothing on it
    assert "下水道" in (await next_message(telegram, STAFF, seq, "新的居民咨询"))["text"]
    again = await wang.press_answer(offer, buttons(offer)["不，我是想咨询"])
    assert again["show_alert"] and "已经在工作人员那里" in again["text"]


async def test_not_answering_round_1_is_explained_as_not_agreeing(db, person):
    wang = await bound_resident(db, person)
    answer = await wang.say("不投票算弃权吗？")
    assert "80%" in answer and "不答复和答复不同意的效果一样" in answer


async def test_an_answered_resident_may_still_ask_staff_who_are_reminded(db, person, telegram):
    wang = await bound_resident(db, person)
    assert "暂缓改造" in await wang.say("没到80%会怎么样？")
    answered, seq = await wang.last_message(), await telegram.last_seq()
    (sent,) = await wang.press(answered, buttons(answered)["问社区工作人员"])
    assert "已转给" in sent
    await next_message(telegram, STAFF, seq, "新的居民咨询")
    seq = await telegram.last_seq()
    async with db.session() as session:  # two days pass without an answer
        await session.exec(update(Question).values(waiting_since=utcnow() - timedelta(hours=49)))
    reminder = await next_message(telegram, STAFF, seq, "已等待超过")
    assert "咨询#1已等待超过48小时" in reminder["text"]


async def test_nobody_else_reads_the_inbox_or_anothers_question(db, person):
    wang = await bound_resident(db, person)
    await wang.say("小区什么时候装充电桩")
    stranger = person(1009, "陌生人")
    assert "工作人员" in await stranger.say("/inbox")
    assert "请先用邀请码绑定" in await stranger.say("/ask")  # told before typing a question
    async with db.session() as session:
        assert await dialogues.current(session, stranger.id) is None
    codes = await issue_codes(db, "南溪小区")
    neighbour = person(1003, "邻居")
    await neighbour.say(f"/start {codes['1-1-201']}")
    refused = await neighbour.press_answer(await neighbour.last_message(), "v1:ask:staff:1")
    assert "找不到" in refused["text"]


async def test_odd_questions_get_clear_answers_and_a_repeat_files_one(db, person, telegram):
    wang = await bound_resident(db, person)
    for wordless in ("😀😀😀", "？？？", "?!…"):
        assert "请用文字写下您的问题" in await wang.say(wordless), wordless
    assert "问题" in await wang.say("/ask")
    assert "请用文字写下您的问题" in await wang.say("👍👍")
    assert "1–2000" in await wang.say("问" * 4000)
    async with db.session() as session:
        assert (await session.exec(select(func.count()).select_from(Question))).one() == 0
        assert (await dialogues.current(session, wang.id)).kind == "ask"  # still asking
    seq = await telegram.last_seq()
    sent = await telegram.send(wang.user, "小区什么时候装充电桩")
    await next_message(telegram, wang.id, seq, "没有找到")
    await telegram.redeliver(sent["update_id"])  # Telegram delivers it again
    await wang.say("/me")  # answered after the repeat was handled
    async with db.session() as session:
        questions = (await session.exec(select(func.count()).select_from(Question))).one()
    assert questions == 1  # this one, once


async def test_staff_of_another_community_cannot_open_or_answer_a_question(db, person, telegram):
    wang = await bound_resident(db, person)
    seq = await telegram.last_seq()
    await wang.say("小区什么时候装充电桩")
    told = await next_message(telegram, STAFF, seq, "新的居民咨询")
    staff = person(STAFF, "社工")
    await staff.press(told, "v1:inbox:reply:1")
    assert "已发给" in await staff.say("预计明年三月开工")
    async with db.session() as session:
        await registry.add_staff(session, YUNNAN_STAFF, Role.STAFF, ["运南新村"], CLI)
        entries = (await session.exec(select(func.count()).select_from(FaqEntry))).one()

    other = person(YUNNAN_STAFF, "运南社工")
    assert "没有待回复" in await other.say("/inbox")
    chat, seq = await other.last_message(), await telegram.last_seq()
    for action in ("show", "reply", "close", "faq"):
        refused = await other.press_answer(chat, f"v1:inbox:{action}:1")
        assert refused["show_alert"] and "找不到这个问题" in refused["text"], action
    seen = await telegram.events(YUNNAN_STAFF, after=seq)
    assert [e for e in seen if e["kind"] == "message"] == []  # the thread was not shown
    async with db.session() as session:
        assert (await session.get(Question, 1)).state == QuestionState.OPEN
        assert (await session.exec(select(func.count()).select_from(FaqEntry))).one() == entries
        assert await dialogues.current(session, YUNNAN_STAFF) is None  # no reply awaited
