"""Open311 GeoReport v2 as a city system calls it: over HTTP with httpx, in JSON and XML.

The spec's field lists (wiki.open311.org/GeoReport_v2) are written out here, and
every answer is checked against them; times must carry their offset.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from xml.etree import ElementTree

import httpx
import pytest
from sqlmodel import func, select

from bot.config import Settings
from bot.flows import api_keys, registry
from bot.flows.audit import CLI
from bot.web.server import WebServer
from storage.models import RepairRequest, RepairRoute, Role, User
from tests.registry import DATA, import_sample_registry
from tests.test_cli import linli  # noqa: F401  (the fixture)
from tests.test_consultation import bind_all
from tests.test_repair import file

# The spec's fields, by response.
DISCOVERY = {"changeset", "contact", "key_service", "endpoints"}
ENDPOINT = {"specification", "url", "changeset", "type", "formats"}
SERVICE = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
SERVICE_TYPES = {"realtime", "batch", "blackbox"}
DEFINITION = {"service_code", "attributes"}
ATTRIBUTE = {
    "variable", "code", "datatype", "required", "datatype_description", "order",
    "description", "values",
}  # fmt: skip
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
VALUE = {"key", "name"}
REQUEST = {
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
    "long", "media_url",
}  # fmt: skip
REQUEST_REQUIRED = {"service_request_id", "status", "service_code", "requested_datetime"}
CREATED = {"service_request_id", "token", "service_notice", "account_id"}
ERROR = {"code", "description"}
TIMES = ("requested_datetime", "updated_datetime", "expected_datetime")

STAFF = 9300
KEY_NAME = "12345热线"
HOTLINE = {
    "service_code": "roof_leak",
    "description": "来电：顶楼楼道上方屋面漏水，墙面渗水",
    "attribute[community]": "南溪小区",
    "attribute[household]": "1-1-101",
    "attribute[common_part]": "true",
    "attribute[place]": "1幢 顶楼楼道",
    "attribute[urgent]": "true",
    "lat": "30.7522",
    "long": "120.7555",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def web_settings(settings: Settings, **changes) -> Settings:
    port = free_port()
    web = settings.web.model_copy(
        update={"port": port, "public_url": f"http://127.0.0.1:{port}", **changes}
    )
    return settings.model_copy(update={"web": web})


class City:
    """A city system's view: an httpx client on /open311/v2, and its API key."""

    def __init__(self, client: httpx.AsyncClient, key: str) -> None:
        self.client, self.key = client, key

    async def get(self, path: str, **params) -> httpx.Response:
        return await self.client.get(path, params=params)

    async def post(self, path: str = "requests.json", **fields) -> httpx.Response:
        return await self.client.post(path, data={"api_key": self.key, **fields})


async def serve(db, settings: Settings) -> AsyncIterator[City]:
    async with db.session() as session:
        key = await api_keys.add(session, KEY_NAME, [], CLI)
    server = WebServer(db, settings)
    await server.start()
    base = f"{settings.web.public_url}/open311/v2/"
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        yield City(client, key)
    await server.stop()


@pytest.fixture
async def city(db, settings) -> AsyncIterator[City]:
    await import_sample_registry(db)
    async with db.session() as session:
        await registry.add_staff(session, STAFF, Role.STAFF, ["南溪小区"], CLI)
    async for client in serve(db, web_settings(settings)):
        yield client


def xml_items(response: httpx.Response, root: str, item: str) -> list[dict]:
    """An XML answer's items as dicts of their children (lists kept as elements)."""
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content.startswith(b"<?xml")
    document = ElementTree.fromstring(response.content)
    assert document.tag == root
    assert all(child.tag == item for child in document)
    return [{field.tag: field for field in child} for child in document]


def child(element: ElementTree.Element, tag: str) -> ElementTree.Element:
    found = element.find(tag)
    assert found is not None, tag
    return found


def offset_time(typed: str) -> datetime:
    moment = datetime.fromisoformat(typed)
    assert moment.utcoffset() == timedelta(hours=8), typed  # Asia/Shanghai, with its offset
    return moment


def check_request(record: dict) -> None:
    assert set(record) <= REQUEST and set(record) >= REQUEST_REQUIRED
    assert record["status"] in ("open", "closed")
    for name in TIMES:
        if record[name] is not None:
            offset_time(record[name])


async def count_requests(db) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(RepairRequest))).one()


async def test_discovery_and_services_answer_with_the_specs_fields(city):
    discovery = (await city.get("discovery.json")).json()
    assert set(discovery) == DISCOVERY
    (endpoint,) = discovery["endpoints"]
    assert set(endpoint) == ENDPOINT
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    xml_discovery = ElementTree.fromstring((await city.get("discovery.xml")).content)
    assert xml_discovery.tag == "discovery" and {f.tag for f in xml_discovery} == DISCOVERY
    (xml_endpoint,) = child(xml_discovery, "endpoints")
    assert xml_endpoint.tag == "endpoint" and {f.tag for f in xml_endpoint} == ENDPOINT
    assert [f.tag for f in child(xml_endpoint, "formats")] == ["format", "format"]

    services = (await city.get("services.json")).json()
    assert [s["service_code"] for s in services][:2] == ["roof_leak", "wall_seepage"]
    for service in services:
        assert set(service) == SERVICE and service["type"] in SERVICE_TYPES
        assert service["metadata"] is True
    by_code = {s["service_code"]: s for s in services}
    assert (by_code["roof_leak"]["service_name"], by_code["roof_leak"]["group"]) == (
        "屋面漏水",
        "渗漏",
    )
    english = {s["service_code"]: s for s in (await city.get("services.json", locale="en")).json()}
    assert english["lift"]["service_name"] == "Lift"
    xml_services = xml_items(await city.get("services.xml"), "services", "service")
    assert [s["service_code"].text for s in xml_services] == list(by_code)
    assert all(set(s) == SERVICE and s["metadata"].text == "true" for s in xml_services)

    definition = (await city.get("services/roof_leak.json")).json()
    assert set(definition) == DEFINITION and definition["service_code"] == "roof_leak"
    for attribute in definition["attributes"]:
        assert set(attribute) == ATTRIBUTE and attribute["datatype"] in DATATYPES
        assert all(set(value) == VALUE for value in attribute["values"])
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert {"community", "household", "common_part", "urgent"} <= set(attributes)
    assert {v["key"] for v in attributes["community"]["values"]} == {
        "南溪小区",
        "运南新村",
        "梅湾花园",
    }
    xml_definition = ElementTree.fromstring((await city.get("services/roof_leak.xml")).content)
    assert xml_definition.tag == "service_definition"
    xml_attributes = child(xml_definition, "attributes")
    assert len(xml_attributes) == len(attributes)
    for attribute in xml_attributes:
        assert attribute.tag == "attribute" and {f.tag for f in attribute} == ATTRIBUTE
        assert all(
            v.tag == "value" and {f.tag for f in v} == VALUE for v in child(attribute, "values")
        )


async def test_a_hotline_request_is_filed_into_the_repair_flow_and_listed(city, db):
    created = await city.post(**HOTLINE)
    assert created.status_code == 201
    (answer,) = created.json()
    assert set(answer) <= CREATED and "service_request_id" in answer
    number = answer["service_request_id"]
    assert number.startswith(f"JX-{datetime.now().year}-")
    assert "危急维修资金" in answer["service_notice"]

    async with db.session() as session:
        filed = (await session.exec(select(RepairRequest))).one()
    # Routed as the bot routes: 南溪小区 (1995, no fund), a common part, urgent.
    assert (filed.number, filed.route, filed.place) == (number, RepairRoute.FUND, "1幢 顶楼楼道")
    assert filed.reporter_telegram_id is None

    (record,) = (await city.get(f"requests/{number}.json")).json()
    check_request(record)
    assert record["status"] == "open" and record["status_notes"] == "已提交"
    assert (record["service_code"], record["service_name"]) == ("roof_leak", "屋面漏水")
    assert record["agency_responsible"] == "危急维修资金"
    assert record["address"] == "南溪小区 1幢1单元"
    assert (record["lat"], record["long"]) == (30.7522, 120.7555)
    assert record["media_url"] is None  # a call brings no photo
    requested = offset_time(record["requested_datetime"])
    assert offset_time(record["expected_datetime"]) == requested + timedelta(hours=24)
    english = (await city.get(f"requests/{number}.json", locale="en")).json()[0]
    assert english["address"] == "南溪小区, building 1, unit 1"
    assert english["agency_responsible"] == "emergency repair fund"

    (xml_record,) = xml_items(
        await city.get(f"requests/{number}.xml"), "service_requests", "request"
    )
    assert set(xml_record) == set(record)
    assert {name: field.text for name, field in xml_record.items()}[
        "address"
    ] == "南溪小区 1幢1单元"
    assert xml_record["media_url"].text is None

    xml_created = xml_items(
        await city.post("requests.xml", **{**HOTLINE, "attribute[urgent]": "false"}),
        "service_requests",
        "request",
    )
    assert set(xml_created[0]) <= CREATED

    listed = (await city.get("requests.json")).json()
    assert [r["service_request_id"] for r in listed][1] == number  # newest first
    for r in listed:
        check_request(r)
    assert len(xml_items(await city.get("requests.xml"), "service_requests", "request")) == 2
    today = requested.date().isoformat()
    searches = {
        (("status", "open"),): 2,
        (("status", "closed"),): 0,
        (("status", "open,closed"),): 2,
        (("service_code", "roof_leak"),): 2,
        (("service_code", "lift,gas"),): 0,
        (("start_date", today),): 2,
        (("end_date", "2020-01-01T00:00:00Z"),): 0,
        (("start_date", "2020-01-01T00:00:00 08:00"),): 2,  # "+" sent unescaped
        # The first request's time, shown to the second, includes it (and any in that second).
        (("start_date", "2020-01-01T00:00:00+08:00"), ("end_date", record["requested_datetime"])): (
            sum(r["requested_datetime"] == record["requested_datetime"] for r in listed)
        ),
        (("service_request_id", number),): 1,
        (("page_size", "1"),): 1,
        (("page_size", "1"), ("page", "2")): 1,
        (("page_size", "1"), ("page", "3")): 0,
    }
    for search, expected in searches.items():
        assert len((await city.get("requests.json", **dict(search))).json()) == expected, search


async def test_no_personal_data_leaves(city, db):
    ids = await bind_all(db, "南溪小区")
    await file(db, ids["1-2-201"], common=False, urgent=False, category="water_pipe")
    await city.post(
        **{**HOTLINE, "attribute[household]": "2-1-102", "attribute[common_part]": "false"}
    )
    async with db.session() as session:
        names = set(await session.exec(select(User.first_name)))
        places = set(await session.exec(select(RepairRequest.place)))
    assert places == {"1幢2-201", "2幢1-102"}  # staff see the flat; the city does not
    for locale in ("zh_Hans", "en"):
        for suffix in ("json", "xml"):
            answer = (await city.get(f"requests.{suffix}", locale=locale)).text
            assert len(set(re.findall(r"JX-\d{4}-\d{6}", answer))) == 2
            for secret in [*map(str, ids.values()), *names, "201", "102", KEY_NAME, city.key]:
                assert secret not in answer, secret
            assert "室" not in answer and "room" not in answer


async def test_bad_input_is_answered_in_the_error_format_and_changes_nothing(city, db):
    filed = (await city.post(**HOTLINE)).json()[0]["service_request_id"]
    async with db.session() as session:
        await api_keys.add(session, "旧热线", [], CLI)
        revoked = await api_keys.add(session, "已吊销", [], CLI)
        await api_keys.revoke(session, "已吊销", CLI)
        limited = await api_keys.add(session, "运南热线", ["运南新村"], CLI)
    big = "漏" * 20_000
    calls = [
        (city.get("services/pothole.json"), 404, "pothole"),
        (city.get("requests/JX-1999-000001.json"), 404, "JX-1999-000001"),
        (city.get("requests.json", start_date="yesterday"), 400, "yesterday"),
        (city.get("requests.json", end_date="2026-12-01T08:00:00"), 400, "时区"),
        (city.get("requests.json", status="pending"), 400, "pending"),
        (city.get("requests.json", service_code="pothole"), 400, "pothole"),
        (city.get("requests.json", page_size="0"), 400, "page_size"),
        (city.get("services.csv"), 400, ".csv"),
        (city.get("services"), 400, ".json"),
        (city.get("services.json", locale="fr"), 400, "fr"),
        (city.post(**{**HOTLINE, "api_key": "not-a-key"}), 403, "API 密钥"),
        (city.post(**{**HOTLINE, "api_key": revoked}), 403, "API 密钥"),
        (city.post(**{**HOTLINE, "api_key": ""}), 403, "API 密钥"),
        (city.post(**{**HOTLINE, "api_key": limited}), 403, "南溪小区"),
        (city.post(**{**HOTLINE, "service_code": "pothole"}), 400, "pothole"),
        (city.post(**{**HOTLINE, "description": "漏"}), 400, "2–2000"),
        (city.post(**{**HOTLINE, "attribute[community]": "无名小区"}), 400, "无名小区"),
        (city.post(**{**HOTLINE, "attribute[household]": "9-9-909"}), 400, "9-9-909"),
        (city.post(**{**HOTLINE, "attribute[common_part]": "yes"}), 400, "common_part"),
        (city.post(**{**HOTLINE, "lat": "north"}), 400, "lat"),
        (city.post(**{**HOTLINE, "description": big}), 413, "16 KB"),
        (city.post(**{**HOTLINE, "locale": "en", "service_code": "x"}), 400, "no repair category"),
    ]  # fmt: skip
    for call, status, said in calls:
        response = await call
        assert response.status_code == status, (status, said, response.text)
        (error,) = response.json()
        assert set(error) == ERROR and error["code"] == status
        assert said in error["description"], (said, error)
    (xml_error,) = xml_items(await city.get("services/pothole.xml"), "errors", "error")
    assert set(xml_error) == ERROR and xml_error["code"].text == "404"
    assert await count_requests(db) == 1
    async with db.session() as session:
        assert (await session.exec(select(RepairRequest.number))).one() == filed


async def test_each_key_is_held_to_its_rate(db, settings):
    await import_sample_registry(db)
    limited = web_settings(settings, open311_burst=2, open311_calls_per_minute=1)
    async for city in serve(db, limited):
        assert [(await city.post(**HOTLINE)).status_code for _ in range(3)] == [201, 201, 429]
        slowed = await city.post(**HOTLINE)
        assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) > 0
        assert "频繁" in slowed.json()[0]["description"]
        assert (await city.get("requests.json")).status_code == 200  # reading is not held back
    assert await count_requests(db) == 2


def test_keys_are_made_listed_and_revoked_from_the_shell(linli, db):  # noqa: F811
    linli("import", "communities", str(DATA / "communities.csv"))
    made = linli("api", "keys", "add", "--name", KEY_NAME, "--community", "南溪小区")
    assert made.returncode == 0, made.stderr
    key = made.stdout.split(": ")[1].split()[0]
    assert len(key) >= 43  # 32 random bytes
    again = linli("api", "keys", "add", "--name", KEY_NAME)
    assert again.returncode == 2 and "请先吊销" in again.stderr
    listed = linli("api", "keys", "list").stdout
    assert KEY_NAME in listed and "南溪小区" in listed and "in use" in listed and key not in listed
    assert linli("api", "keys", "revoke", KEY_NAME).returncode == 0
    assert "revoked" in linli("api", "keys", "list").stdout
    unknown = linli("api", "keys", "revoke", "没有的")
    assert unknown.returncode == 2 and "没有的" in unknown.stderr
