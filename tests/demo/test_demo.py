"""``linli demo``: the seeded programme, and the real bot answering through the chat page.

The browser test drives Debian's Chromium with Playwright. Without Chromium it is
skipped, unless LINLI_REQUIRE_BROWSER is set (as CI does), when it fails instead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import func, select

from bot import demo
from bot.flows import binding, people, registry
from storage import migrate
from storage.db import Database
from storage.models import (
    Ballot,
    Community,
    Consultation,
    ConsultationStatus,
    Household,
    Renovation,
    Resident,
    Staff,
    Supervisor,
)
from tests.demo import screenshot
from tests.e2e.conftest import EVENT_WAIT, ticks
from tests.e2e.test_run import free_port


@pytest.fixture
def demo_settings(settings, tmp_path: Path):
    prepared = demo.demo_settings(settings, tmp_path)
    migrate.upgrade(prepared.database.url)
    return prepared


@pytest.fixture
async def running(demo_settings, tmp_path: Path):
    async with demo.running_demo(demo_settings, tmp_path) as sandbox:
        yield sandbox


async def count(session, model) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


async def test_the_demo_seeds_the_programme(demo_settings, tmp_path: Path):
    db = Database(demo_settings.database.url)
    roster = await demo.seed(db, tmp_path, demo_settings)
    async with db.session() as session:
        communities = list(await session.exec(select(Community)))
        assert len(communities) >= 3
        assert len({c.delivery_year for c in communities}) == len(communities)
        assert any(c.delivery_year < 2000 and not c.has_maintenance_fund for c in communities)
        assert 200 <= await count(session, Household) <= 1000
        assert await count(session, Staff) == 2
        neighbours = demo.ROUND1_AGREE + demo.ROUND1_DISAGREE
        assert await count(session, Resident) == 5 + neighbours
        assert await count(session, Supervisor) == 1
        rounds = {
            (c.community_id, c.round, c.status) for c in await session.exec(select(Consultation))
        }
        yunnan = await registry.community_named(session, "运南新村")
        nanxi = await registry.community_named(session, "南溪小区")
        assert rounds == {
            (yunnan.id, 1, ConsultationStatus.OPEN),
            (nanxi.id, 1, ConsultationStatus.CLOSED),
            (nanxi.id, 2, ConsultationStatus.OPEN),
        }
        assert nanxi.renovation == Renovation.QUEUED
        code = roster.invites[0]["code"]
        limits = binding.Limits.of(demo_settings.binding)
        assert await binding.household_of_code(session, binding.normalise(code)) is not None
        await people.meet(session, 1, "新居民", "zh-hans")
        assert isinstance(await binding.bind(session, 1, code, limits, demo.DEMO), binding.Bound)
    await db.dispose()
    assert (tmp_path / "communities.csv").read_text(encoding="utf-8").startswith("小区,")
    roles = {p["role"] for p in roster.personas}
    assert roles == {"admin", "staff", "resident"}


async def test_a_seeded_resident_votes_through_the_page_api(running):
    async with aiohttp.ClientSession(running.base_url) as http:
        wang = next(p for p in await _get(http, "/personas") if p["first_name"] == "王芳")
        messages = await _wait_for(
            http, wang["id"], lambda ms: any("reply_markup" in m for m in ms)
        )
        question = next(m for m in messages if "reply_markup" in m)
        agree = question["reply_markup"]["inline_keyboard"][0][0]
        async with http.post(
            f"/chat/api/personas/{wang['id']}/press",
            json={"message_id": question["message_id"], "data": agree["callback_data"]},
        ) as response:
            assert response.status == 200
        await _wait_for(  # the question itself now says the answer
            http,
            wang["id"],
            lambda ms: any(
                m["message_id"] == question["message_id"]
                and "您家的答复：✅ 同意" in m.get("text", "")
                for m in ms
            ),
        )


async def test_every_offered_code_gives_a_newcomer_a_household_of_their_own(running, demo_settings):
    """The page's invite codes are of households nobody is bound to and nobody voted for."""
    async with aiohttp.ClientSession(running.base_url) as http:
        slips = (await _get(http, "/about"))["invites"]
        assert len(slips) == len(demo.COMMUNITIES) * demo.INVITES_OFFERED_PER_COMMUNITY
        newcomers = []
        for n, slip in enumerate(slips):
            persona = await _post(http, "/personas", {"first_name": f"新居民{n}"})
            await _post(http, f"/personas/{persona['id']}/send", {"text": f"/start {slip['code']}"})
            newcomers.append(persona["id"])
        for persona in newcomers:
            await _wait_for(
                http, persona, lambda ms: any("绑定成功" in m.get("text", "") for m in ms)
            )
    db = Database(demo_settings.database.url)
    async with db.session() as session:
        for persona in newcomers:
            household = await binding.household_of(session, persona)
            assert await registry.residents_of(session, household) == 1
            ballots = select(func.count()).where(Ballot.household_id == household)
            assert (await session.exec(ballots)).one() == 0
    await db.dispose()


async def _post(http, path: str, body: dict):
    async with http.post("/chat/api" + path, json=body) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["result"]


async def _get(http, path: str, absolute: bool = False):
    async with http.get(path if absolute else "/chat/api" + path) as response:
        return (await response.json())["result"]


async def _wait_for(http, persona: int, done) -> list[dict]:
    messages: list[dict] = []
    async for _ in ticks():
        messages = await _get(http, f"/personas/{persona}/messages")
        if messages and done(messages):
            return messages
    raise AssertionError(f"persona {persona} never saw it: {messages}")


@pytest.fixture
def chromium() -> str:
    if screenshot.CHROMIUM is None:
        if os.environ.get("LINLI_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (LINLI_REQUIRE_BROWSER) but not installed")
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    return screenshot.CHROMIUM


@pytest.fixture
async def browser_page(running, chromium, tmp_path: Path):
    """The chat page of the running demo in headless Chromium; a screenshot is kept."""
    from playwright.async_api import expect

    expect.set_options(timeout=EVENT_WAIT * 1000)  # Playwright's 5 s is short on a busy machine
    async with screenshot.browser(chromium) as browser:
        page = await screenshot.open_chat_page(browser, running.base_url)
        yield page
        await page.screenshot(path=str(tmp_path / "chat-page.png"))
    assert (tmp_path / "chat-page.png").stat().st_size > 10_000


async def test_a_newcomer_binds_and_votes_and_the_admin_sees_the_chart(browser_page):
    from playwright.async_api import expect

    page = browser_page
    await expect(page.locator("#warning")).to_contain_text("不是 Telegram 客户端")
    await page.fill("#new-name", "周阿姨")
    await page.click("#new-persona button")
    await expect(page.locator("#chat-name")).to_have_text("周阿姨")
    await page.locator("#invites code").first.click()
    await expect(page.locator(".bubble.bot", has_text="绑定成功")).to_have_count(1)

    # The open round's question follows the binding at once.
    agree = page.locator(".bubble.bot .inline-keyboard button", has_text="同意").first
    await agree.click()
    await expect(page.locator(".bubble.bot", has_text="您家的答复：✅ 同意")).to_have_count(1)

    await page.locator("#personas li", has_text="陈主任").click()
    await page.fill("#text", "/results")
    await page.keyboard.press("Enter")
    chart = page.locator(".bubble.bot img").last
    await expect(chart).to_be_visible()
    assert await chart.evaluate("image => image.naturalWidth") > 100

    await page.click("#language")
    await expect(page.locator("#warning")).to_contain_text("not a Telegram client")


async def test_a_persona_made_in_one_page_appears_in_another(running, browser_page):
    from playwright.async_api import expect

    first = browser_page
    async with aiohttp.ClientSession(running.base_url) as http:
        wang = next(p for p in demo.PEOPLE if p.name == "王芳").telegram_id
        await _wait_for(http, wang, lambda ms: any("reply_markup" in m for m in ms))
    other = await screenshot.open_chat_page(first.context.browser, running.base_url)
    await expect(other.locator("#personas li")).to_have_count(len(demo.PEOPLE))
    await first.fill("#new-name", "孙大爷")
    await first.click("#new-persona button")
    newcomer = other.locator("#personas li", has_text="孙大爷")
    await expect(newcomer).to_be_visible()
    # 王芳 was asked to vote before this page opened: history, not news.
    await expect(other.locator("#personas li", has_text="王芳").locator(".badge")).to_have_count(0)

    await first.locator("#invites code").first.click()
    await expect(first.locator(".bubble.bot", has_text="绑定成功")).to_have_count(1)
    await expect(newcomer.locator(".badge")).to_have_text("2")  # and the open round's question
    await newcomer.click()
    await expect(other.locator(".bubble.bot", has_text="绑定成功")).to_have_count(1)


async def test_the_readme_picture_can_be_retaken(browser_page):
    """The scene of docs/demo-chat.png (python -m tests.demo.screenshot) still plays."""
    from playwright.async_api import expect

    await screenshot.a_resident_votes_then_reports_a_repair(browser_page)
    repair = browser_page.locator(".bubble.bot").last
    await expect(repair.get_by_role("button", name="屋面漏水")).to_be_visible()


async def test_the_menu_is_toggled_in_place(browser_page):
    from playwright.async_api import expect

    page = browser_page
    await page.locator("#personas li", has_text="刘洋").click()
    await page.locator(".bubble.bot", has_text="改造方案征询").last.locator("button").click()
    menu = page.locator(".bubble.bot", has_text="⬜ 绿化提升")
    await expect(menu).to_have_count(1)
    bubbles = await page.locator(".bubble").count()
    await menu.locator("button", has_text="绿化提升").click()
    edited = page.locator(".bubble.bot", has_text="✅ 绿化提升")
    await expect(edited).to_contain_text("已选1项")
    await expect(edited.locator(".meta")).to_contain_text("✎")
    assert await page.locator(".bubble").count() == bubbles


async def linli_demo(folder: Path, *arguments: str) -> asyncio.subprocess.Process:
    """``linli demo ARGUMENTS`` started in ``folder``, its output in one stream."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "demo",
        *arguments,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def test_linli_demo_serves_the_page_until_ctrl_c(tmp_path: Path):
    port = free_port()
    process = await linli_demo(tmp_path, "--folder", str(tmp_path / "trial"), "--port", str(port))
    try:
        # The address is printed once the demo is seeded, which takes long on a busy machine.
        line = await asyncio.wait_for(process.stdout.readline(), timeout=2 * EVENT_WAIT)
        assert f"http://127.0.0.1:{port}/chat" in line.decode()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/chat") as response:
                assert response.status == 200 and "chat.js" in await response.text()
            personas = await _get(http, f"http://127.0.0.1:{port}/chat/api/personas", absolute=True)
        assert len(personas) == len(demo.PEOPLE)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=EVENT_WAIT)
    assert process.returncode == 0, output.decode()
    assert (tmp_path / "trial" / demo.DATABASE_FILE).exists()


async def test_linli_demo_will_not_reuse_a_folder(tmp_path: Path):
    (tmp_path / demo.DATABASE_FILE).write_bytes(b"")
    process = await linli_demo(tmp_path, "--folder", str(tmp_path))
    output, _ = await asyncio.wait_for(process.communicate(), timeout=EVENT_WAIT)
    assert process.returncode == 2
    assert output.decode().strip() == f"linli: {tmp_path}里已经有一个演示；请换一个文件夹或清空它"


@pytest.fixture
def taken_port():
    """A port another program is listening on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


async def test_linli_demo_on_a_taken_port_says_so_before_seeding(tmp_path: Path, taken_port):
    trial = str(tmp_path / "trial")
    process = await linli_demo(tmp_path, "--folder", trial, "--port", str(taken_port))
    output, _ = await asyncio.wait_for(process.communicate(), timeout=EVENT_WAIT)
    assert process.returncode == 2
    assert output.decode().strip() == (
        f"linli: port {taken_port} on 127.0.0.1 is already in use; choose a free one with --port"
    )
    assert not (tmp_path / "trial" / demo.DATABASE_FILE).exists()


async def test_a_port_taken_while_seeding_is_named_too(demo_settings, tmp_path: Path, taken_port):
    with pytest.raises(demo.AddressUnavailable, match=f"port {taken_port} .* --port"):
        async with demo.running_demo(demo_settings, tmp_path, port=taken_port):
            pass
