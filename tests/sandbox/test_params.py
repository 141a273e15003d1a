"""Parameters arrive as a query string, JSON, a url-encoded form or a multipart form."""

from __future__ import annotations

import json

from .helpers import ALICE, TOKEN, png

KEYBOARD = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}


async def test_query_string(http, tg):
    await tg.send(ALICE, "hi")
    response = await http.get(
        f"/bot{TOKEN}/sendMessage", params={"chat_id": ALICE["id"], "text": "from the query"}
    )
    assert response.json()["result"]["text"] == "from the query"


async def test_json_body_with_typed_values(api, tg):
    await tg.send(ALICE, "hi")
    response = await api(
        "sendMessage",
        json={
            "chat_id": ALICE["id"],
            "text": "bold",
            "entities": [{"type": "bold", "offset": 0, "length": 4}],
            "reply_markup": KEYBOARD,
            "protect_content": True,
        },
    )
    result = response.json()["result"]
    assert result["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    assert result["reply_markup"] == KEYBOARD
    assert result["has_protected_content"] is True


async def test_url_encoded_form_with_json_text_and_string_booleans(api, tg):
    await tg.send(ALICE, "hi")
    response = await api(
        "sendMessage",
        data={
            "chat_id": str(ALICE["id"]),
            "text": "123",
            "reply_markup": json.dumps(KEYBOARD),
            "protect_content": "false",
            "reply_parameters": json.dumps({"message_id": 1}),
        },
    )
    result = response.json()["result"]
    assert result["text"] == "123"
    assert result["reply_markup"] == KEYBOARD
    assert "has_protected_content" not in result
    assert result["reply_to_message"]["text"] == "hi"


async def test_multipart_form_with_an_upload_by_attach(api, tg):
    await tg.send(ALICE, "hi")
    response = await api(
        "sendPhoto",
        data={
            "chat_id": str(ALICE["id"]),
            "photo": "attach://picture",
            "caption": "*yes*",
            "parse_mode": "MarkdownV2",
        },
        files={"picture": ("p.png", png(10, 20), "image/png")},
    )
    result = response.json()["result"]
    assert result["caption"] == "yes"
    assert result["caption_entities"] == [{"type": "bold", "offset": 0, "length": 3}]
    assert (result["photo"][-1]["width"], result["photo"][-1]["height"]) == (10, 20)


async def test_broken_json_in_a_form_field(api, tg):
    await tg.send(ALICE, "hi")
    response = await api(
        "sendMessage",
        data={"chat_id": str(ALICE["id"]), "text": "x", "reply_markup": "{not json"},
    )
    assert response.status_code == 400
    assert response.json()["description"] == (
        "Bad Request: can't parse reply keyboard markup JSON object"
    )


async def test_a_non_numeric_integer(api, tg):
    response = await api("getUpdates", data={"offset": "soon"})
    assert response.status_code == 400
    assert response.json()["description"] == 'Bad Request: field "offset" must be of type Integer'
