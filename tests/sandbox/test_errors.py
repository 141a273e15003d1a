"""Error answers, exactly as Telegram shapes them, checked over raw HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from sandbox import run_sandbox

from .helpers import ALICE, TOKEN, png


def error(response, code: int, description: str) -> None:
    assert response.status_code == code
    assert response.json() == {"ok": False, "error_code": code, "description": description}


async def test_a_token_of_the_wrong_form_is_unauthorized(http):
    error(await http.post("/botnot-a-token/getMe"), 401, "Unauthorized")
    error(await http.get("/botabc:def/getMe"), 401, "Unauthorized")


async def test_an_unknown_method_is_not_found(api):
    error(await api("sendTelepathy", json={}), 404, "Not Found")


async def test_method_names_ignore_case_and_get_works(http):
    response = await http.get(f"/bot{TOKEN}/GETME")
    assert response.json()["ok"] is True
    assert response.json()["result"]["username"] == "linli_demo_bot"


async def test_chat_not_found_and_empty_or_long_text(api, tg):
    error(
        await api("sendMessage", json={"chat_id": 5, "text": "x"}),
        400,
        "Bad Request: chat not found",
    )
    await tg.send(ALICE, "hi")
    chat = {"chat_id": ALICE["id"]}
    error(await api("sendMessage", json=chat), 400, "Bad Request: message text is empty")
    error(
        await api("sendMessage", json={**chat, "text": "   "}),
        400,
        "Bad Request: message text is empty",
    )
    error(
        await api("sendMessage", json={**chat, "text": "x" * 4097}),
        400,
        "Bad Request: message is too long",
    )
    # The limit applies after the markup is removed.
    markup = {**chat, "text": "<b>" + "x" * 4096 + "</b>", "parse_mode": "HTML"}
    assert (await api("sendMessage", json=markup)).json()["ok"] is True


async def test_caption_too_long(api, tg):
    await tg.send(ALICE, "hi")
    response = await api(
        "sendPhoto",
        data={"chat_id": str(ALICE["id"]), "caption": "c" * 1025},
        files={"photo": ("p.png", png(), "image/png")},
    )
    error(response, 400, "Bad Request: message caption is too long")


async def test_broken_html_cannot_be_parsed(api, tg):
    await tg.send(ALICE, "hi")
    response = await api(
        "sendMessage", json={"chat_id": ALICE["id"], "text": "<b>bold", "parse_mode": "HTML"}
    )
    error(
        response,
        400,
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    )
    response = await api(
        "sendMessage", json={"chat_id": ALICE["id"], "text": "1 < 2", "parse_mode": "HTML"}
    )
    error(
        response,
        400,
        'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
    )


async def test_unescaped_markdown_v2_cannot_be_parsed(api, tg):
    await tg.send(ALICE, "hi")
    response = await api(
        "sendMessage", json={"chat_id": ALICE["id"], "text": "Done.", "parse_mode": "MarkdownV2"}
    )
    error(
        response,
        400,
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped "
        "with the preceding '\\'",
    )


async def test_edit_errors(api, tg):
    await tg.send(ALICE, "hi")
    sent = (await api("sendMessage", json={"chat_id": ALICE["id"], "text": "same"})).json()
    target = {"chat_id": ALICE["id"], "message_id": sent["result"]["message_id"]}
    error(
        await api("editMessageText", json={**target, "text": "same"}),
        400,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )
    error(
        await api("editMessageText", json={**target, "message_id": 77, "text": "new"}),
        400,
        "Bad Request: message to edit not found",
    )


async def test_callback_data_over_64_bytes(api, tg):
    await tg.send(ALICE, "hi")
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]}
    response = await api(
        "sendMessage", json={"chat_id": ALICE["id"], "text": "t", "reply_markup": markup}
    )
    error(response, 400, "Bad Request: BUTTON_DATA_INVALID")


async def test_an_unknown_callback_query(api):
    error(
        await api("answerCallbackQuery", json={"callback_query_id": "42"}),
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )


async def test_blocked_user(api, tg):
    await tg.send(ALICE, "hi")
    await tg.block(ALICE["id"])
    error(
        await api("sendMessage", json={"chat_id": ALICE["id"], "text": "x"}),
        403,
        "Forbidden: bot was blocked by the user",
    )


async def test_get_updates_while_a_webhook_is_set(api):
    assert (await api("setWebhook", json={"url": "http://127.0.0.1:9/hook"})).json()["ok"]
    error(
        await api("getUpdates", json={}),
        409,
        "Conflict: can't use getUpdates method while webhook is active; "
        "use deleteWebhook to delete the webhook first",
    )
    assert (await api("deleteWebhook", json={})).json()["ok"]
    assert (await api("getUpdates", json={})).json() == {"ok": True, "result": []}


async def test_too_many_requests_carries_retry_after(api, tg):
    await tg.send(ALICE, "hi")
    await tg.set_limits(True, per_chat_per_second=1)
    assert (await api("sendMessage", json={"chat_id": ALICE["id"], "text": "1"})).json()["ok"]
    response = await api("sendMessage", json={"chat_id": ALICE["id"], "text": "2"})
    assert response.status_code == 429
    assert response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }


async def test_file_is_too_big():
    async with run_sandbox(max_upload_bytes=1000) as sandbox, sandbox.client(TOKEN) as tg:
        await tg.send(ALICE, "hi")
        async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
            response = await http.post(
                f"/bot{TOKEN}/sendDocument",
                data={"chat_id": str(ALICE["id"])},
                files={"document": ("big.bin", b"x" * 1001)},
            )
    error(response, 400, "Bad Request: file is too big")


@pytest.mark.parametrize("path", ["/file/bot123:abc/photos/none.jpg", f"/file/bot{TOKEN}/x/y"])
async def test_a_missing_file_is_not_found(http, path):
    error(await http.get(path), 404, "Not Found")


async def test_errors_never_show_the_token(api, http, tg):
    responses = [
        await api("sendMessage", json={"chat_id": 1, "text": "x"}),
        await api("noSuchMethod"),
        await http.get(f"/control/bot{TOKEN}/chats/99/messages"),
    ]
    for response in responses:
        assert TOKEN not in response.text
        assert TOKEN.partition(":")[2] not in json.dumps(response.json())
