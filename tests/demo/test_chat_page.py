"""The chat page's own endpoints, on a sandbox without a bot: personas, sending, limits."""

from __future__ import annotations

import asyncio
import base64
import json

import aiohttp
import pytest

from sandbox import PageFor, Roster, run_sandbox
from sandbox.chatpage import FIRST_NEW_PERSONA_ID
from tests.e2e.conftest import EVENT_WAIT
from tests.e2e.test_bad_input import PNG

TOKEN = "123456:PAGE-TOKEN"
WANG = {"id": 501, "first_name": "王芳", "language_code": "zh-hans", "role": "resident", "note": ""}
LI = {"id": 502, "first_name": "李社工", "language_code": "zh-hans", "role": "staff", "note": ""}
UPLOAD_LIMIT = 2000


@pytest.fixture
async def page():
    roster = Roster(
        personas=[WANG, LI], invites=[{"code": "7KQ2-M9XD-4HTRW", "address": "1-1-101"}]
    )
    async with (
        run_sandbox(page=PageFor(TOKEN, roster), max_upload_bytes=UPLOAD_LIMIT) as sandbox,
        aiohttp.ClientSession(sandbox.base_url) as http,
    ):
        yield sandbox, http


async def call(http, method: str, path: str, body=None) -> tuple[int, dict]:
    async with http.request(method, "/chat/api" + path, json=body) as response:
        return response.status, await response.json()


async def test_the_page_and_its_roster_are_served(page):
    _, http = page
    async with http.get("/chat") as response:
        html = await response.text()
    assert response.status == 200 and "/chat/static/chat.js" in html
    async with http.get("/chat/static/chat.js") as response:
        assert response.status == 200
    status, about = await call(http, "GET", "/about")
    assert status == 200
    assert about["result"]["bot"]["username"] == "linli_demo_bot"
    assert about["result"]["invites"] == [{"code": "7KQ2-M9XD-4HTRW", "address": "1-1-101"}]
    _, personas = await call(http, "GET", "/personas")
    assert [p["first_name"] for p in personas["result"]] == ["王芳", "李社工"]


async def test_a_new_persona_starts_unbound_and_can_write(page):
    sandbox, http = page
    status, made = await call(
        http, "POST", "/personas", {"first_name": " 新居民 ", "language_code": "en"}
    )
    persona = made["result"]
    assert status == 200 and persona["id"] == FIRST_NEW_PERSONA_ID
    assert (persona["first_name"], persona["role"]) == ("新居民", "new")
    status, sent = await call(http, "POST", f"/personas/{persona['id']}/send", {"text": "/start"})
    assert status == 200
    update = sandbox.state.bot(TOKEN).updates[-1]
    assert update["message"]["from"]["id"] == persona["id"]
    assert update["message"]["from"]["language_code"] == "en"
    _, history = await call(http, "GET", f"/personas/{persona['id']}/messages")
    assert [m["text"] for m in history["result"]] == ["/start"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "needs a name"),
        ({"first_name": "   "}, "needs a name"),
        ({"first_name": "长" * 65}, "at most 64"),
        ({"first_name": "王", "language_code": "fr"}, "zh-hans or en"),
    ],
)
async def test_a_persona_needs_a_name_and_a_known_language(page, body, reason):
    _, http = page
    status, answer = await call(http, "POST", "/personas", body)
    assert status == 400 and reason in answer["description"]
    _, personas = await call(http, "GET", "/personas")
    assert len(personas["result"]) == 2


async def test_an_unknown_persona_is_refused(page):
    sandbox, http = page
    for path in ("/personas/999/send", "/personas/abc/press"):
        status, answer = await call(
            http, "POST", path, {"text": "你好", "message_id": 1, "data": "x"}
        )
        assert status == 404 and "no persona" in answer["description"]
    status, _ = await call(http, "GET", "/personas/999/messages")
    assert status == 404
    assert not sandbox.state.bot(TOKEN).updates


async def test_what_telegram_would_refuse_is_refused_and_nothing_is_queued(page):
    sandbox, http = page
    too_long = "长" * 4097
    status, answer = await call(http, "POST", "/personas/501/send", {"text": too_long})
    assert status == 400 and "too long" in answer["description"]
    big = base64.b64encode(b"\x89PNG" + bytes(UPLOAD_LIMIT)).decode()
    status, answer = await call(http, "POST", "/personas/501/send", {"photo_b64": big})
    assert status == 400 and "too big" in answer["description"]
    status, answer = await call(http, "POST", "/personas/501/press", {"message_id": 1, "data": "x"})
    assert status == 400 and "does not exist" in answer["description"]
    assert not sandbox.state.bot(TOKEN).updates


async def test_photos_and_locations_are_sent_as_telegram_would(page):
    sandbox, http = page
    status, _ = await call(http, "POST", "/personas/501/send", {"photo_b64": PNG})
    assert status == 200
    pin = {"latitude": 30.75, "longitude": 120.76}
    status, _ = await call(http, "POST", "/personas/501/send", {"location": pin})
    assert status == 200
    photo, location = (u["message"] for u in sandbox.state.bot(TOKEN).updates)
    async with http.get(f"/chat/api/files/{photo['photo'][-1]['file_id']}") as response:
        assert response.status == 200 and (await response.read()) == base64.b64decode(PNG)
    assert location["location"] == pin


async def test_two_pages_sending_at_once_lose_nothing(page):
    sandbox, http = page
    sends = [
        call(http, "POST", f"/personas/{persona}/send", {"text": f"第{n}条"})
        for n in range(20)
        for persona in (501, 502)
    ]
    answers = await asyncio.gather(*sends)
    assert all(status == 200 for status, _ in answers)
    for persona in (501, 502):
        _, history = await call(http, "GET", f"/personas/{persona}/messages")
        assert sorted(m["text"] for m in history["result"]) == sorted(f"第{n}条" for n in range(20))
    assert len(sandbox.state.bot(TOKEN).updates) == 40


async def test_the_stream_shows_what_the_personas_do(page):
    _, http = page
    await call(http, "POST", "/personas/502/send", {"text": "/staff"})
    async with http.get("/chat/api/stream") as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        line = b""
        while not line.startswith(b"data:"):
            line = await asyncio.wait_for(response.content.readline(), EVENT_WAIT)
    assert b'"user_message"' in line and b"/staff" in line


async def test_a_page_opened_later_hears_what_follows_and_new_personas(page):
    _, http = page
    await call(http, "POST", "/personas/502/send", {"text": "开页之前"})
    _, about = await call(http, "GET", "/about")
    _, made = await call(http, "POST", "/personas", {"first_name": "新居民"})
    after = about["result"]["last_seq"]
    async with http.get(f"/chat/api/stream?after={after}") as response:
        line = b""
        while not line.startswith(b"data:"):
            line = await asyncio.wait_for(response.content.readline(), EVENT_WAIT)
    event = json.loads(line.removeprefix(b"data:"))
    assert (event["kind"], event["persona"]) == ("persona", made["result"])
