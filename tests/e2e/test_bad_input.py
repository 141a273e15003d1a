"""Whatever a user can send that the bot did not ask for: a clear answer, and nothing changes."""

from __future__ import annotations

import base64

import pytest
from sqlmodel import func, select

from storage.models import AuditEvent, Resident
from tests.registry import import_sample_registry, issue_codes

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4a40000000049454e44ae426082"
    )
).decode()

# What a user is told, in the language of their Telegram client (bot/i18n/*/linli.po).
ANSWERS = {
    "zh-hans": {
        "bind.not_a_code": "这不是邻里的邀请码",
        "bind.revoked_code": "这个邀请码已经作废",
        "chat.private_only": "邻里只在私聊中服务",
        "chat.edit_ignored": "我不会读取修改过的消息",
    },
    "en": {
        "bind.not_a_code": "That is not a linli invite code",
        "bind.revoked_code": "This invite code has been revoked",
        "chat.private_only": "linli only works in private chats",
        "chat.edit_ignored": "I don't read edited messages",
    },
}
in_each_language = pytest.mark.parametrize("language_code", sorted(ANSWERS))


async def changes(db) -> tuple[int, int]:
    """Residents and audit rows: what any real change would add to."""
    async with db.session() as session:
        return (
            (await session.exec(select(func.count()).select_from(Resident))).one(),
            (await session.exec(select(func.count()).select_from(AuditEvent))).one(),
        )


@pytest.fixture
async def registry(db):
    await import_sample_registry(db)
    return await issue_codes(db, "运南新村")


@pytest.mark.parametrize(
    ("message", "fields", "zh", "en"),
    [
        (
            "/frobnicate now",
            {},
            "我不认识命令「/frobnicate」",
            "I don't know the command /frobnicate",
        ),
        ("你好，我家漏水了", {}, "还没有绑定您家", "not bound to a household"),
        (None, {"sticker": {"emoji": "😀"}}, "只能读取文字", "only read text"),
        (None, {"photo_b64": PNG}, "只能读取文字", "only read text"),
        (
            None,
            {"location": {"latitude": 30.75, "longitude": 120.76}},
            "只能读取文字",
            "only read text",
        ),
        ("ABCDEF0123456789ABCDEF0123456789", {}, "还没有绑定您家", "not bound to a household"),
        ("'; DROP TABLE resident; --", {}, "还没有绑定您家", "not bound to a household"),
        ("漏\x00水", {}, "无法处理的字符", "cannot be processed"),
    ],
)
@pytest.mark.parametrize("language_code", ["zh-hans", "en"])
async def test_unexpected_input_from_an_unbound_user(
    db, registry, person, message, fields, zh, en, language_code
):
    before = await changes(db)
    stranger = person(2001, "陌生人", language_code=language_code)
    answer = await stranger.say(message, **fields)
    assert (en if language_code == "en" else zh) in answer
    assert await changes(db) == before


@in_each_language
async def test_codes_of_other_formats_and_revoked_codes(db, registry, person, language_code):
    told = ANSWERS[language_code]
    wang = person(2002, "王", language_code=language_code)
    await wang.say("/start")
    before = await changes(db)
    assert told["bind.not_a_code"] in await wang.say("https://example.org/invite?abc")
    assert told["bind.not_a_code"] in await wang.say("/start 12345")
    assert await changes(db) == before

    old = registry["5--101"]
    await issue_codes(db, "运南新村")  # reissued: the old slip is revoked
    before = await changes(db)
    assert told["bind.revoked_code"] in await wang.say(f"/start {old}")
    assert (await changes(db))[0] == before[0]


async def test_a_bound_users_free_text_is_taken_as_a_question(db, registry, person):
    wang = person(2003, "王")
    await wang.say(f"/start {registry['5--102']}")
    await wang.send("随便说点什么")
    assert "转给社区工作人员" in str(await wang.last_message())  # the FAQ has no answer
    before = await changes(db)
    assert "只能读取文字" in await wang.say(None, sticker={"emoji": "🏠"})
    # PostgreSQL cannot store a NUL character: the question is refused, not half kept.
    assert "无法处理的字符" in await wang.say("电梯\x00坏了")
    assert await changes(db) == before


@in_each_language
async def test_group_chat_is_told_once_and_nothing_else(
    db, registry, person, telegram, language_code
):
    member = person(2004, "群友", language_code=language_code)
    group = {"id": -100500, "type": "group", "title": "南溪小区业主群"}
    seq = await telegram.last_seq()
    await telegram.send(member.user, "/start", chat=group)
    told = await telegram.wait_for(-100500, after=seq)
    assert ANSWERS[language_code]["chat.private_only"] in told["message"]["text"]

    await telegram.send(member.user, f"/start {registry['5--101']}", chat=group)
    await member.say("/me")  # a private message, answered after the group one was handled
    history = await telegram.history(-100500)
    assert sum(1 for m in history if m["from_bot"]) == 1
    assert (await changes(db))[0] == 0


@in_each_language
async def test_edited_message_is_not_acted_on(db, registry, person, telegram, language_code):
    wang = person(2005, "王", language_code=language_code)
    await wang.say("/start")
    sent = await telegram.send(wang.user, "hello")
    await wang._replies(1)
    before = await changes(db)
    answer = await wang.say(registry["5--101"], edit_message_id=sent["message"]["message_id"])
    assert ANSWERS[language_code]["chat.edit_ignored"] in answer
    assert await changes(db) == before


async def test_forged_buttons_are_refused(db, registry, person):
    wang = person(2006, "王")
    await wang.say(f"/start {registry['5--101']}")
    message = await wang.last_message()
    for data in ["v1:move:999:yes", "v1:move:x:yes", "v1:unbind:maybe", "v1:lang:fr", "v9:?", ""]:
        answer = await wang.press_answer(message, data)
        assert answer["text"] == "这个按钮已失效，请重新操作。"
    assert (await changes(db))[0] == 1
