"""python-telegram-bot's own Bot against the sandbox: it must not tell it from Telegram."""

from __future__ import annotations

import asyncio

import pytest
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter

from .helpers import ALICE, BOB, png, png_b64


async def test_get_me_describes_the_sandbox_bot(bot):
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "linli_demo_bot"
    assert me.first_name == "linli (sandbox)"
    assert me.can_read_all_group_messages is False


async def test_get_updates_returns_a_user_message_with_its_command_entity(bot, tg):
    await tg.send(ALICE, "/start join")
    (update,) = await bot.get_updates(timeout=0)
    assert update.message.text == "/start join"
    assert update.message.from_user.id == ALICE["id"]
    assert update.message.chat.type == "private"
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/start")


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(bot, tg):
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    started = asyncio.get_running_loop().time()
    await tg.send(ALICE, "hello")
    updates = await asyncio.wait_for(poll, 3)
    assert [u.message.text for u in updates] == ["hello"]
    assert asyncio.get_running_loop().time() - started < 2


async def test_an_empty_long_poll_ends_after_its_timeout(bot):
    started = asyncio.get_running_loop().time()
    assert await bot.get_updates(timeout=1) == ()
    assert asyncio.get_running_loop().time() - started >= 0.9


async def test_offsets_confirm_earlier_updates(bot, tg):
    for text in ("one", "two", "three"):
        await tg.send(ALICE, text)
    first = await bot.get_updates()
    assert [u.message.text for u in first] == ["one", "two", "three"]
    rest = await bot.get_updates(offset=first[1].update_id + 1)
    assert [u.message.text for u in rest] == ["three"]
    # The confirmed ones are gone for good.
    assert [u.message.text for u in await bot.get_updates()] == ["three"]
    assert [u.message.text for u in await bot.get_updates(limit=1, offset=-1)] == ["three"]


async def test_a_negative_offset_keeps_only_the_newest_updates(bot, tg):
    for text in ("one", "two", "three"):
        await tg.send(ALICE, text)
    assert [u.message.text for u in await bot.get_updates(offset=-2)] == ["two", "three"]
    assert [u.message.text for u in await bot.get_updates()] == ["two", "three"]


async def test_send_message_with_html_and_an_inline_keyboard(bot, tg):
    await tg.send(ALICE, "/start")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="vote:yes")]])
    sent = await bot.send_message(
        ALICE["id"], "<b>Vote</b> now &amp; here", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    assert sent.text == "Vote now & here"
    assert sent.entities[0].type == "bold" and sent.entities[0].length == 4
    assert sent.from_user.id == bot.id
    assert sent.chat.id == ALICE["id"]
    assert sent.reply_markup == keyboard
    event = await tg.wait_for(ALICE["id"], after=0)
    assert event["message"]["message_id"] == sent.message_id


async def test_message_ids_increase_per_chat(bot, tg):
    await tg.send(ALICE, "hi")
    await tg.send(BOB, "hi")
    first = await bot.send_message(ALICE["id"], "a")
    second = await bot.send_message(ALICE["id"], "b")
    to_bob = await bot.send_message(BOB["id"], "c")
    assert first.message_id == 2 and second.message_id == 3
    assert to_bob.message_id == 2


async def test_a_reply_keyboard_is_kept_for_the_chat_page(bot, tg):
    await tg.send(ALICE, "hi")
    markup = ReplyKeyboardMarkup([[KeyboardButton("Share")], ["Cancel"]], resize_keyboard=True)
    sent = await bot.send_message(ALICE["id"], "choose", reply_markup=markup)
    assert sent.reply_markup is None  # as with Telegram: only inline keyboards come back
    (last,) = [m for m in await tg.history(ALICE["id"]) if m["from_bot"]]
    assert last["keyboard"]["keyboard"] == [[{"text": "Share"}], [{"text": "Cancel"}]]


async def test_edit_message_text_and_not_modified(bot, tg):
    await tg.send(ALICE, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await bot.send_message(ALICE["id"], "before", reply_markup=keyboard)
    edited = await bot.edit_message_text(
        "after", chat_id=ALICE["id"], message_id=sent.message_id, reply_markup=keyboard
    )
    assert edited.text == "after"
    assert edited.edit_date is not None
    assert edited.reply_markup == keyboard
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text(
            "after", chat_id=ALICE["id"], message_id=sent.message_id, reply_markup=keyboard
        )
    # Editing without reply_markup drops the keyboard, as Telegram does.
    plain = await bot.edit_message_text("after", chat_id=ALICE["id"], message_id=sent.message_id)
    assert plain.reply_markup is None
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=ALICE["id"], message_id=999)
    kinds = [e["kind"] for e in await tg.events(ALICE["id"])]
    assert kinds == ["user_message", "message", "edit", "edit"]


async def test_edit_reply_markup_and_delete(bot, tg):
    await tg.send(ALICE, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await bot.send_message(ALICE["id"], "menu", reply_markup=keyboard)
    edited = await bot.edit_message_reply_markup(ALICE["id"], sent.message_id, reply_markup=None)
    assert edited.reply_markup is None
    assert await bot.delete_message(ALICE["id"], sent.message_id)
    history = await tg.history(ALICE["id"])
    assert [m["text"] for m in history] == ["hi"]
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(ALICE["id"], sent.message_id)


async def test_answer_callback_query_once(bot, tg):
    await tg.send(ALICE, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await bot.send_message(ALICE["id"], "menu", reply_markup=keyboard)
    pressed = await tg.press(ALICE, sent.message_id, "go")
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert query.id == pressed["callback_query_id"]
    assert query.data == "go"
    assert query.message.message_id == sent.message_id
    assert query.message.reply_markup == keyboard
    assert await query.answer("Done", show_alert=True)
    answer = await tg.wait_for(ALICE["id"], after=0, kind="callback_answer")
    assert answer["text"] == "Done" and answer["show_alert"] is True
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await query.answer()


async def test_send_photo_then_download_it(bot, tg):
    await tg.send(ALICE, "hi")
    image = png(1600, 900)
    sent = await bot.send_photo(ALICE["id"], image, caption="<i>plan</i>", parse_mode="HTML")
    assert sent.caption == "plan"
    assert sent.caption_entities[0].type == "italic"
    largest = sent.photo[-1]
    assert (largest.width, largest.height) == (1280, 720)
    assert [size.width for size in sent.photo] == [90, 320, 800, 1280]
    file = await bot.get_file(largest.file_id)
    assert file.file_size == len(image)
    assert bytes(await file.download_as_bytearray()) == image
    assert await tg.file_bytes(largest.file_id) == image
    # The same photo can be sent again by file_id.
    again = await bot.send_photo(ALICE["id"], largest.file_id)
    assert again.photo[-1].file_id == largest.file_id


async def test_send_document(bot, tg):
    await tg.send(ALICE, "hi")
    sent = await bot.send_document(ALICE["id"], b"a,b\n1,2\n", filename="report.csv")
    document = sent.document
    assert document.file_name == "report.csv"
    assert document.mime_type == "text/csv"
    assert document.file_size == 8
    file = await bot.get_file(document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"
    with pytest.raises(BadRequest, match="(?i)can't use file of type Document as Photo"):
        await bot.send_photo(ALICE["id"], document.file_id)


async def test_a_photo_that_is_no_image_fails_like_telegram(bot, tg):
    await tg.send(ALICE, "hi")
    with pytest.raises(BadRequest, match="(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(ALICE["id"], b"not an image")


async def test_a_user_photo_can_be_fetched_by_the_bot(bot, tg):
    sent = await tg.send(ALICE, photo_b64=png_b64(4, 3))
    (update,) = await bot.get_updates()
    photo = update.message.photo[-1]
    assert (photo.width, photo.height) == (4, 3)
    assert photo.file_id == sent["message"]["photo"][-1]["file_id"]
    file = await bot.get_file(photo.file_id)
    assert bytes(await file.download_as_bytearray()) == png(4, 3)


async def test_location_and_chat_action(bot, tg):
    await tg.send(ALICE, "hi")
    sent = await bot.send_location(ALICE["id"], latitude=31.23, longitude=121.47)
    assert sent.location.latitude == pytest.approx(31.23)
    assert await bot.send_chat_action(ALICE["id"], "typing")
    action = await tg.wait_for(ALICE["id"], after=0, kind="chat_action")
    assert action["action"] == "typing"


async def test_commands_are_stored_per_scope_and_language(bot, tg):
    chinese = [BotCommand("start", "开始"), BotCommand("help", "帮助")]
    english = [BotCommand("start", "Start")]
    scope = BotCommandScopeAllPrivateChats()
    assert await bot.set_my_commands(chinese, scope=scope, language_code="zh")
    assert await bot.set_my_commands(english, scope=scope, language_code="en")
    assert await bot.get_my_commands(scope=scope, language_code="zh") == tuple(chinese)
    assert await bot.get_my_commands(scope=scope, language_code="en") == tuple(english)
    assert await bot.get_my_commands() == ()
    stored = await tg.commands()
    assert {(s["scope"]["type"], s["language_code"]) for s in stored} == {
        ("all_private_chats", "zh"),
        ("all_private_chats", "en"),
    }
    assert await bot.delete_my_commands(scope=scope, language_code="en")
    assert await bot.get_my_commands(scope=scope, language_code="en") == ()
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("not valid", "x")])


async def test_menu_button_and_get_chat(bot, tg):
    await tg.send(ALICE, "hi")
    assert await bot.set_chat_menu_button(ALICE["id"], MenuButtonCommands())
    assert await bot.get_chat_menu_button(ALICE["id"]) == MenuButtonCommands()
    chat = await bot.get_chat(ALICE["id"])
    assert chat.first_name == "Alice" and chat.username == "alice"
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.get_chat(555)


async def test_a_blocked_user_is_forbidden(bot, tg):
    await tg.send(ALICE, "hi")
    await tg.block(ALICE["id"])
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(ALICE["id"], "still there?")
    await tg.block(ALICE["id"], blocked=False)
    assert (await bot.send_message(ALICE["id"], "welcome back")).text == "welcome back"


async def test_unknown_chats_and_users_met_in_groups(bot, tg):
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(4242, "hello")
    await tg.send(BOB, "hi all", chat={"id": -100500, "type": "group", "title": "Block 5"})
    assert (await bot.send_message(-100500, "hello group")).chat.title == "Block 5"
    with pytest.raises(Forbidden, match="(?i)bot can't initiate conversation"):
        await bot.send_message(BOB["id"], "hello Bob")


async def test_rate_limit_answers_retry_after(bot, tg):
    await tg.send(ALICE, "hi")
    await tg.set_limits(True)
    await bot.send_message(ALICE["id"], "one")
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(ALICE["id"], "two")
    retry_after = raised.value.retry_after  # an int or a timedelta, by PTB's settings
    assert getattr(retry_after, "total_seconds", lambda: retry_after)() >= 1
    assert (await tg.stats())["too_many_requests"] == 1
    await tg.set_limits(False)
    await bot.send_message(ALICE["id"], "three")


async def test_edit_caption_and_copy_message(bot, tg):
    await tg.send(ALICE, "hi")
    await tg.send(BOB, "hi")
    photo = await bot.send_photo(ALICE["id"], png(), caption="old")
    edited = await bot.edit_message_caption(
        ALICE["id"], photo.message_id, caption="<b>new</b>", parse_mode="HTML"
    )
    assert edited.caption == "new"
    assert edited.caption_entities[0].type == "bold"
    with pytest.raises(BadRequest, match="(?i)there is no text in the message to edit"):
        await bot.edit_message_text("text", ALICE["id"], photo.message_id)
    copied = await bot.copy_message(BOB["id"], ALICE["id"], photo.message_id)
    (last,) = [m for m in await tg.history(BOB["id"]) if m["message_id"] == copied.message_id]
    assert last["caption"] == "new"
    assert last["photo"] == edited.to_dict()["photo"]
