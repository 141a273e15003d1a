"""The officials' pages over HTTP, as a browser reaches them: the one-time login link,
the session cookie, each page and file, and everyone kept to their communities."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from bot.config import Settings
from bot.flows import registry, web_login
from bot.flows.audit import CLI
from bot.web.server import WebServer
from storage.choices import Role
from storage.db import Database
from storage.models import Community, WebLogin
from storage.types import utcnow
from tests.e2e.test_run import free_port
from tests.test_open_data import seed_programme

ADMIN, NANXI_STAFF, MEIWAN_STAFF = 9001, 9002, 9003
PNG = b"\x89PNG"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def site(db: Database, settings: Settings) -> AsyncIterator[str]:
    """The web side serving the seeded programme; its address."""
    await seed_programme(db)
    async with db.session() as session:
        await registry.add_staff(session, ADMIN, Role.ADMIN, [], CLI)
        await registry.add_staff(session, NANXI_STAFF, Role.STAFF, ["南溪小区"], CLI)
        await registry.add_staff(session, MEIWAN_STAFF, Role.STAFF, ["梅湾花园"], CLI)
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    web = settings.web.model_copy(update={"port": port, "public_url": address})
    server = WebServer(db, settings.model_copy(update={"web": web}))
    await server.start()
    yield address
    await server.stop()


async def link_for(db: Database, telegram_id: int) -> str:
    """The path of a login link, as /web makes it."""
    async with db.session() as session:
        member = await registry.staff_member(session, telegram_id)
        assert member is not None
        return f"/officials/login/{await web_login.issue_link(session, member, 15)}"


@pytest.fixture
def browser(site: str):
    """A fresh cookie jar at the site: ``async with browser() as http``."""
    return lambda: httpx.AsyncClient(base_url=site, timeout=60)


async def logged_in(db: Database, http: httpx.AsyncClient, telegram_id: int) -> None:
    response = await http.post(await link_for(db, telegram_id))
    assert response.status_code == 303 and response.headers["location"] == "/officials/"


async def community_id(db: Database, name: str) -> int:
    async with db.session() as session:
        found = await registry.community_named(session, name)
        assert isinstance(found, Community) and found.id is not None
        return found.id


async def test_a_login_link_opens_one_session_and_then_never_again(db, browser):
    path = await link_for(db, NANXI_STAFF)
    async with browser() as http:
        shown = await http.get(path)
        assert shown.status_code == 200 and "登录" in shown.text
        assert (await http.get(path)).status_code == 200  # a look (a link preview) uses nothing
        used = await http.post(path)
        assert used.status_code == 303
        cookie = used.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=28800" in cookie
        assert "Path=/officials" in cookie
        home = await http.get("/officials/")
        assert home.status_code == 200 and "南溪小区" in home.text and "梅湾花园" not in home.text
    async with browser() as other:
        again = await other.post(path)
        assert again.status_code == 410 and "已经用过" in again.text
        assert (await other.get(path)).status_code == 410
        assert (await other.get("/officials/")).status_code == 401


async def test_expired_unknown_and_missing_logins_are_told_apart(db, browser):
    path = await link_for(db, NANXI_STAFF)
    async with db.session() as session:
        await session.exec(update(WebLogin).values(expires_at=utcnow() - timedelta(seconds=1)))
    async with browser() as http:
        expired = await http.post(path)
        assert expired.status_code == 410 and "已过期" in expired.text
        unknown = await http.get("/officials/login/not-a-token")
        assert unknown.status_code == 404 and "无效" in unknown.text
        for page in ("/officials/", "/officials/ranking.xlsx", "/officials/communities/1"):
            refused = await http.get(page)
            assert refused.status_code == 401 and "/web" in refused.text
        http.cookies.set("linli_officials", "forged", path="/officials")
        assert (await http.get("/officials/")).status_code == 401
        english = await http.get("/officials/", params={"lang": "en"})
        assert english.status_code == 401 and "Please log in first" in english.text
        await link_for(db, NANXI_STAFF)  # a new link clears the expired ones away
        forgotten = await http.post(path)
        assert forgotten.status_code == 404 and "/web" in forgotten.text


async def test_staff_see_their_community_and_nothing_of_another(db, browser):
    nanxi, meiwan = await community_id(db, "南溪小区"), await community_id(db, "梅湾花园")
    async with browser() as http:
        await logged_in(db, http, NANXI_STAFF)
        page = await http.get(f"/officials/communities/{nanxi}")
        assert page.status_code == 200
        text = page.text
        assert "100.0%" in text  # round 1: all 12 households agreed
        assert "绿化提升" in text and "方案已确定" in text  # round 2's confirmed plan
        assert "JX-" in text and "已提交" in text  # the roof leak waiting in the queue
        chart = await http.get(f"/officials/communities/{nanxi}/round1.png")
        assert chart.status_code == 200 and chart.content.startswith(PNG)
        sheet = await http.get(f"/officials/communities/{nanxi}/menu.xlsx")
        assert sheet.headers["content-type"] == XLSX
        assert load_workbook(io.BytesIO(sheet.content)).sheetnames == ["menu"]

        hidden = await http.get(f"/officials/communities/{meiwan}")
        missing = await http.get("/officials/communities/999999")
        assert hidden.status_code == missing.status_code == 404
        # The same page but for its own address (which the language switch returns to).
        same = hidden.text.replace(f"/{meiwan}", "") == missing.text.replace("/999999", "")
        assert same and "梅湾花园" not in hidden.text
        for path in (f"/communities/{meiwan}/round1.png", f"/communities/{meiwan}/menu.xlsx"):
            assert (await http.get("/officials" + path)).status_code == 404
        ranking = await http.get("/officials/ranking")
        assert ranking.status_code == 403 and "只有管理员" in ranking.text
        assert (await http.get("/officials/ranking.xlsx")).status_code == 403
        fund = await http.get("/officials/fund")
        assert "南溪小区" in fund.text and "运南新村" not in fund.text


async def test_admins_see_the_city_ranking_and_the_whole_fund(db, browser):
    async with browser() as http:
        await logged_in(db, http, ADMIN)
        ranking = await http.get("/officials/ranking")
        assert ranking.status_code == 200
        assert ranking.text.index("南溪小区") < ranking.text.index("运南新村")
        chart = await http.get("/officials/ranking.png")
        assert chart.headers["content-type"] == "image/png" and chart.content.startswith(PNG)
        sheet = await http.get("/officials/ranking.xlsx")
        assert "attachment" in sheet.headers["content-disposition"]
        rows = list(load_workbook(io.BytesIO(sheet.content))["ranking"].values)
        assert [row[1] for row in rows[1:]] == ["南溪小区", "运南新村"]
        fund = await http.get("/officials/fund", params={"year": "2025"})
        assert fund.status_code == 200
        assert "3,000.00" in fund.text and "600.00" in fund.text and "2,400.00" in fund.text
        assert (await http.get("/officials/fund.png?year=2025")).content.startswith(PNG)
        empty = await http.get("/officials/fund", params={"year": "2024"})
        assert "没有使用" in empty.text
        bad = await http.get("/officials/fund", params={"year": "今年"})
        assert bad.status_code == 400 and "今年" in bad.text
        assert (await http.get("/officials/communities/abc")).status_code == 404
        assert (await http.get("/officials/nowhere")).status_code == 404


async def test_english_logout_and_removal_end_what_they_should(db, browser):
    nanxi = await community_id(db, "南溪小区")
    async with browser() as http:
        await logged_in(db, http, NANXI_STAFF)
        switched = await http.post(
            "/officials/language", data={"lang": "en", "next": f"/officials/communities/{nanxi}"}
        )
        assert switched.headers["location"] == f"/officials/communities/{nanxi}"
        page = await http.get(switched.headers["location"])
        assert "Round 1: willingness" in page.text and "More greenery" in page.text
        away = await http.post("/officials/language", data={"lang": "en", "next": "https://x.org/"})
        assert away.headers["location"] == "/officials/"
        assert (await http.post("/officials/language", data={"lang": "fr"})).status_code == 400
        out = await http.post("/officials/logout")
        assert out.status_code == 200 and "logged out" in out.text
        assert (await http.get("/officials/")).status_code == 401
    async with browser() as http:
        await logged_in(db, http, NANXI_STAFF)
        async with db.session() as session:
            await registry.remove_staff(session, NANXI_STAFF, CLI)
        assert (await http.get("/officials/")).status_code == 401
