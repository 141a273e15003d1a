"""An admin logs in to the officials' pages in headless Chromium through the link the bot
sent them, reads each page, downloads a spreadsheet, switches to English and logs out.

The bot runs against the local Bot API server and serves the web side itself
(``[web] serve = true``), as ``linli run`` does. Skipped without Chromium, unless
LINLI_REQUIRE_BROWSER is set.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from openpyxl import load_workbook

from bot.config import Settings
from bot.flows import registry
from bot.flows.audit import CLI
from storage.choices import Role
from tests.demo import screenshot
from tests.demo.test_demo import chromium  # noqa: F401  (the fixture)
from tests.e2e.conftest import EVENT_WAIT
from tests.e2e.test_run import free_port
from tests.test_open_data import seed_programme

if TYPE_CHECKING:
    from playwright.async_api import Browser

ADMIN = 9101
LINK = re.compile(r"http://\S+/officials/login/\S+")


@pytest.fixture
def bot_settings(bot_settings: Settings) -> Settings:
    """The e2e bot, serving the web side beside it."""
    port = free_port()
    web = bot_settings.web.model_copy(
        update={"serve": True, "port": port, "public_url": f"http://127.0.0.1:{port}"}
    )
    return bot_settings.model_copy(update={"web": web})


@pytest.fixture
async def programme(db) -> None:
    await seed_programme(db)
    async with db.session() as session:
        await registry.add_staff(session, ADMIN, Role.ADMIN, [], CLI)


async def test_an_admin_logs_in_through_the_bots_link_and_reads_every_page(
    programme,
    person,
    chromium,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
):
    from playwright.async_api import expect

    admin = person(ADMIN, "陈主任")
    message = await admin.say("/web")
    assert "15分钟内有效" in message
    link = LINK.search(message)
    assert link is not None, message

    expect.set_options(timeout=EVENT_WAIT * 1000)
    async with screenshot.browser(chromium) as launched:
        browser = cast("Browser", launched)
        page = await browser.new_page(
            locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
        )
        await page.goto(link.group())
        await page.get_by_role("button", name="登录").click()
        await expect(page.get_by_role("heading", name="小区")).to_be_visible()

        await page.get_by_role("link", name="南溪小区").click()
        await expect(page.locator("#round1")).to_contain_text("100.0%")
        await expect(page.locator("#round2")).to_contain_text("方案已确定")
        await expect(page.locator("#repairs")).to_contain_text("已提交")
        for chart in await page.locator("img.chart").all():
            await expect(chart).to_be_visible()
            assert await chart.evaluate("image => image.naturalWidth") > 100

        await page.get_by_role("link", name="全市排名").click()
        ranking = page.locator("table").first
        await expect(ranking).to_contain_text("运南新村")
        await expect(ranking).to_contain_text("暂缓改造")
        async with page.expect_download() as downloading:
            await page.get_by_role("link", name="下载 Excel 表格").click()
        saved = tmp_path / "ranking.xlsx"
        await (await downloading.value).save_as(saved)
        rows = list(load_workbook(saved)["ranking"].values)
        assert [row[1] for row in rows[1:]] == ["南溪小区", "运南新村"]

        await page.get_by_role("link", name="危急维修资金").click()
        await page.get_by_role("link", name="2025").click()
        await expect(page.locator("table").first).to_contain_text("3,000.00")

        await page.get_by_role("button", name="English").click()
        await expect(page.get_by_role("heading", name="Emergency repair fund 2025")).to_be_visible()
        await page.screenshot(path=str(tmp_path / "officials.png"), full_page=True)
        await page.get_by_role("button", name="Log out").click()
        await expect(page.locator(".message")).to_contain_text("You are logged out")

        await page.goto(link.group())  # the link worked once
        await expect(page.locator(".message")).to_contain_text("已经用过")
    assert (tmp_path / "officials.png").stat().st_size > 10_000


async def test_only_staff_get_a_login_link(programme, person):
    resident = person(9102, "王芳")
    answer = await resident.say("/web")
    assert "工作人员" in answer and "/officials/login/" not in answer
