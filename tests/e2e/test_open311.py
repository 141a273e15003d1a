"""Open311 end to end: the bot runs against the local Bot API server with its web side on;
a city's hotline files a request over HTTP (httpx), staff find it in /queue and work it,
and the city sees each change in GET requests/{id}; a resident's photo is served at the
request's media_url, fetched from the Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.config import Settings
from bot.flows import api_keys, registry
from bot.flows.audit import CLI
from storage.models import Role
from tests.e2e.conftest import ticks
from tests.e2e.test_bad_input import PNG
from tests.e2e.test_repair import move, open_in_queue, press
from tests.e2e.test_round1 import next_message
from tests.registry import import_sample_registry, issue_codes
from tests.test_open311 import HOTLINE, check_request, web_settings

STAFF = 9300


@pytest.fixture
def bot_settings(bot_settings: Settings) -> Settings:
    """The e2e bot's settings, serving the web side beside it on a free port."""
    served = web_settings(bot_settings)
    return served.model_copy(update={"web": served.web.model_copy(update={"serve": True})})


@pytest.fixture
async def city(bot_settings: Settings, db) -> AsyncIterator[httpx.AsyncClient]:
    """A city system's client of the web side, and the sample registry."""
    await import_sample_registry(db)
    base = f"{bot_settings.web.public_url}/open311/v2/"
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        yield client


async def seen_by_the_city(city: httpx.AsyncClient, number: str, status_notes: str) -> dict:
    """The request as the city reads it, once it shows ``status_notes``."""
    async for _ in ticks():
        (record,) = (await city.get(f"requests/{number}.json")).json()
        if record["status_notes"] == status_notes:
            check_request(record)
            return record
    raise AssertionError(f"{number} never showed {status_notes}")


async def test_a_hotline_request_reaches_the_queue_and_its_changes_reach_the_city(
    db, person, telegram, running_bot, city
):
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区"], CLI)
        key = await api_keys.add(session, "12345热线", ["南溪小区"], CLI)
    staff = person(STAFF, "社工")
    await staff.say("/help")  # the bot may only write to people who have written to it

    seq = await telegram.last_seq()
    call = {**HOTLINE, "attribute[urgent]": "false", "api_key": key}  # not the fund's
    created = await city.post("requests.json", data=call)
    assert created.status_code == 201, created.text
    number = created.json()[0]["service_request_id"]
    await next_message(telegram, STAFF, seq, f"新报修{number}")  # staff hear of it
    await open_in_queue(staff, number)  # and find it by its number in /queue, like any other

    record = await seen_by_the_city(city, number, "已提交")
    assert record["status"] == "open" and record["agency_responsible"] == "一般渠道"
    await move(staff, "受理")  # each move edits the card, which offers the next
    await seen_by_the_city(city, number, "已受理")
    await move(staff, "开始维修")
    assert (await seen_by_the_city(city, number, "维修中"))["status"] == "open"
    await move(staff, "已完工")
    done = await seen_by_the_city(city, number, "已完工")
    assert done["status"] == "closed" and done["updated_datetime"] >= record["updated_datetime"]
    closed = (await city.get("requests.json", params={"status": "closed"})).json()
    assert [r["service_request_id"] for r in closed] == [number]


async def test_a_residents_photo_is_served_at_its_media_url(db, person, running_bot, city):
    codes = await issue_codes(db, "南溪小区")
    wang = person(1001, "王芳")
    await wang.say(f"/start {codes['1-1-101']}")
    await wang.say("/repair")
    for label in ("屋面漏水", "公共部位", "就是1幢", "不紧急"):
        await press(wang, label)
    await wang.say("顶楼楼梯间漏水，墙面大片渗水")
    await wang.say(None, photo_b64=PNG)
    await press(wang, "照片发完了")
    await press(wang, "不发位置")
    (filed,) = await press(wang, "提交")
    number = filed.split("编号")[1].split("。")[0]

    (record,) = (await city.get(f"requests/{number}.json")).json()
    assert record["media_url"].endswith(f"/open311/v2/media/{number}")
    photo = await city.get(record["media_url"])
    assert photo.status_code == 200 and photo.content.startswith(b"\x89PNG")
    assert "TEST-TOKEN" not in str(photo.headers)
    missing = await city.get("media/JX-1999-000001")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404
