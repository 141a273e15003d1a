"""The control API: playing users, watching the bot, and changing the rules."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox import SandboxError

from .helpers import ALICE, BOB, GROUP, OTHER_TOKEN, TOKEN, png_b64


async def bot_says(http: httpx.AsyncClient, chat_id: int, text: str, token: str = TOKEN) -> dict:
    response = await http.post(f"/bot{token}/sendMessage", json={"chat_id": chat_id, "text": text})
    return response.json()["result"]


async def test_wait_for_sees_an_event_that_happened_before_the_wait(http, tg):
    seen = await tg.last_seq()
    await tg.send(ALICE, "hi")
    await bot_says(http, ALICE["id"], "hello Alice")
    event = await tg.wait_for(ALICE["id"], after=seen)
    assert event["message"]["text"] == "hello Alice"
    assert event["seq"] > seen


async def test_wait_for_waits_for_a_later_event(http, tg):
    await tg.send(ALICE, "hi")
    seen = await tg.last_seq()

    async def answer_later() -> None:
        await asyncio.sleep(0.2)
        await bot_says(http, ALICE["id"], "later")

    task = asyncio.create_task(answer_later())
    event = await tg.wait_for(ALICE["id"], after=seen, timeout=5)
    await task
    assert event["message"]["text"] == "later"


async def test_wait_for_times_out_with_what_arrived(http, tg):
    await tg.send(ALICE, "hi")
    await bot_says(http, ALICE["id"], "not this one")
    with pytest.raises(TimeoutError) as raised:
        await tg.wait_for(
            ALICE["id"],
            after=0,
            timeout=0.5,
            predicate=lambda e: e["message"]["text"] == "this one",
        )
    assert "not this one" in str(raised.value)


async def test_history_shows_current_state(http, tg):
    await tg.send(ALICE, "hi")
    sent = await bot_says(http, ALICE["id"], "draft")
    gone = await bot_says(http, ALICE["id"], "to delete")
    target = {"chat_id": ALICE["id"], "message_id": sent["message_id"], "text": "final"}
    await http.post(f"/bot{TOKEN}/editMessageText", json=target)
    await http.post(
        f"/bot{TOKEN}/deleteMessage",
        json={"chat_id": ALICE["id"], "message_id": gone["message_id"]},
    )
    history = await tg.history(ALICE["id"])
    assert [(m["text"], m["from_bot"]) for m in history] == [("hi", False), ("final", True)]
    assert "edit_date" in history[1]


async def test_a_user_edit_becomes_an_edited_message_update(bot, tg):
    sent = await tg.send(ALICE, "helo")
    edit = await tg.send(ALICE, "hello", edit_message_id=sent["message"]["message_id"])
    assert edit["message"]["text"] == "hello"
    updates = await bot.get_updates()
    assert updates[-1].edited_message.text == "hello"
    assert updates[-1].edited_message.message_id == sent["message"]["message_id"]


async def test_group_messages_media_and_replies(bot, tg):
    await tg.send(BOB, "hello neighbours", chat=GROUP)
    photo = await tg.send(BOB, photo_b64=png_b64(), caption="the crack", chat=GROUP)
    await tg.send(
        BOB, document_b64="aGVsbG8=", file_name="notes.txt", chat=GROUP, reply_to_message_id=1
    )
    await tg.send(BOB, sticker={"emoji": "👍"}, chat=GROUP)
    await tg.send(BOB, location={"latitude": 31.2, "longitude": 121.5})
    await tg.send(BOB, contact={"phone_number": "+8613800000000", "first_name": "Bob"})
    updates = [u.message for u in await bot.get_updates()]
    assert updates[0].chat.type == "supergroup" and updates[0].chat.title == "Building 3"
    assert updates[1].caption == "the crack"
    assert updates[1].photo[-1].file_id == photo["message"]["photo"][-1]["file_id"]
    assert updates[2].document.file_name == "notes.txt"
    assert updates[2].document.mime_type == "text/plain"
    assert updates[2].reply_to_message.text == "hello neighbours"
    assert updates[3].sticker.emoji == "👍"
    assert updates[4].location.longitude == pytest.approx(121.5)
    assert updates[4].chat.type == "private"
    assert updates[5].contact.phone_number == "+8613800000000"


async def test_press_sends_a_callback_query_with_forged_data(bot, http, tg):
    await tg.send(ALICE, "hi")
    keyboard = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    sent = (
        await http.post(
            f"/bot{TOKEN}/sendMessage",
            json={"chat_id": ALICE["id"], "text": "pick", "reply_markup": keyboard},
        )
    ).json()["result"]
    await tg.press(ALICE, sent["message_id"], "forged:999")
    query = (await bot.get_updates())[-1].callback_query
    assert query.data == "forged:999"
    assert query.message.text == "pick"
    with pytest.raises(SandboxError, match="does not exist"):
        await tg.press(ALICE, 999, "a")


async def test_inject_queues_any_update_shape(bot, tg):
    result = await tg.inject({"my_chat_member": {"odd": "shape"}})
    assert result["queued"] is True
    raw = await bot.get_updates()
    assert raw[-1].update_id == result["update_id"]
    # Telegram leaves chat_member updates out unless they are asked for by name.
    assert (await tg.inject({"chat_member": {}}))["queued"] is False


async def test_bad_control_requests_say_what_is_wrong(tg):
    with pytest.raises(SandboxError, match="first_name"):
        await tg.send({"id": 5}, "hi")
    with pytest.raises(SandboxError, match="too long"):
        await tg.send(ALICE, "x" * 4097)
    with pytest.raises(SandboxError, match="exactly one of"):
        await tg.send(ALICE)
    with pytest.raises(SandboxError, match="unknown"):
        await tg.history(4242)


async def test_bots_do_not_see_each_other(sandbox, http, tg):
    await tg.send(ALICE, "for the first bot")
    async with sandbox.client(OTHER_TOKEN) as other:
        assert await other.events() == []
        response = await http.post(
            f"/bot{OTHER_TOKEN}/sendMessage", json={"chat_id": ALICE["id"], "text": "x"}
        )
        assert response.status_code == 400
    assert (await tg.stats())["pending_updates"] == 1


async def test_stats_count_calls_and_messages(http, tg):
    await tg.send(ALICE, "hi")
    await bot_says(http, ALICE["id"], "one")
    await http.post(f"/bot{TOKEN}/getMe")
    stats = await tg.stats()
    assert stats["calls"] == {"sendMessage": 1, "getMe": 1}
    assert stats["sent_messages"] == 1
    assert stats["pending_updates"] == 1
    assert stats["too_many_requests"] == 0
    assert stats["webhook_url"] is None


async def test_reset_forgets_everything(http, tg):
    await tg.send(ALICE, "hi")
    await tg.reset()
    assert await tg.events() == []
    response = await http.post(
        f"/bot{TOKEN}/sendMessage", json={"chat_id": ALICE["id"], "text": "x"}
    )
    assert response.json()["description"] == "Bad Request: chat not found"


async def test_the_stream_serves_events_as_server_sent_events(sandbox, http, tg):
    await tg.send(ALICE, "first")
    await bot_says(http, ALICE["id"], "second")
    url = f"/control/bot{TOKEN}/stream"
    async with http.stream("GET", url, params={"chat_id": ALICE["id"]}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        events = await read_events(lines, 2)
        assert [e["kind"] for e in events] == ["user_message", "message"]
        await bot_says(http, ALICE["id"], "third")
        (live,) = await read_events(lines, 1)
        assert live["message"]["text"] == "third"
    # Resuming after the last seen event gives only what came later.
    headers = {"Last-Event-ID": str(events[0]["seq"])}
    async with http.stream("GET", url, headers=headers) as response:
        resumed = await read_events(response.aiter_lines(), 2)
        assert [e["message"]["text"] for e in resumed] == ["second", "third"]


async def read_events(lines: AsyncIterator[str], count: int) -> list[dict]:
    """Read ``count`` SSE events from a stream's lines, checking that each id is its seq."""
    events: list[dict] = []
    event_id = None
    async with asyncio.timeout(5):
        while len(events) < count:
            line = await anext(lines)
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: "):
                event = json.loads(line[6:])
                assert event["seq"] == event_id
                events.append(event)
    return events


async def test_file_bytes_of_an_unknown_file(tg):
    with pytest.raises(SandboxError):
        await tg.file_bytes("nope")


async def test_blocking_and_coming_back_are_my_chat_member_updates(bot, tg):
    await tg.send(ALICE, "hi")
    await tg.block(ALICE["id"])
    await tg.send(ALICE, "/start")  # writing again unblocks, as in Telegram
    updates = await bot.get_updates()
    blocked, unblocked = updates[1].my_chat_member, updates[2].my_chat_member
    assert blocked.new_chat_member.status == "kicked"
    assert unblocked.old_chat_member.status == "kicked"
    assert unblocked.new_chat_member.status == "member"
    assert updates[3].message.text == "/start"
    assert (await bot.send_message(ALICE["id"], "welcome back")).text == "welcome back"


async def test_redelivery_hands_out_the_same_update_again(bot, tg):
    sent = await tg.send(ALICE, "once")
    first = await bot.get_updates(timeout=1)
    assert [u.update_id for u in first] == [sent["update_id"]]
    # The bot confirmed it; Telegram may still deliver it once more.
    assert (await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)) == ()
    await tg.redeliver(sent["update_id"])
    again = await bot.get_updates(offset=first[-1].update_id + 1, timeout=1)
    assert [(u.update_id, u.message.text) for u in again] == [(sent["update_id"], "once")]
    assert (await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)) == ()
    with pytest.raises(SandboxError, match="no update 999999"):
        await tg.redeliver(999999)


async def test_users_added_in_bulk_can_be_written_to(bot, tg):
    await tg.add_users([{"id": 70_000 + n, "first_name": f"u{n}"} for n in range(3)])
    sent = await bot.send_message(70_002, "hello")
    assert sent.chat.id == 70_002
    assert await bot.get_updates(timeout=0) == ()
    with pytest.raises(SandboxError, match="users"):
        await tg._call("POST", "/users", json={"users": "nope"})


async def test_an_outage_fails_calls_with_502_but_not_polling(http, tg):
    await tg.send(ALICE, "hi")
    await tg.outage(calls=2)
    for _ in range(2):
        response = await http.post(
            f"/bot{TOKEN}/sendMessage", json={"chat_id": ALICE["id"], "text": "x"}
        )
        assert response.status_code == 502
        assert response.json() == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    polled = await http.post(f"/bot{TOKEN}/getUpdates", json={"timeout": 0})
    assert polled.status_code == 200 and polled.json()["result"]
    assert (await bot_says(http, ALICE["id"], "back"))["text"] == "back"
    with pytest.raises(SandboxError, match="calls must be 0 or more"):
        await tg.outage(calls=-1)
