"""The README's picture of the demo chat page, docs/demo-chat.png, taken anew.

    .venv/bin/python -m tests.demo.screenshot             # writes docs/demo-chat.png
    .venv/bin/python -m tests.demo.screenshot OTHER.png

It runs ``linli demo``'s seeded programme in a temporary folder, opens the chat page in
Debian's Chromium (fonts-noto-cjk draws the Chinese, fonts-noto-color-emoji the ✅ ⬜ ℹ️
of the menu) and plays the scene below: 王芳
agrees in 运南新村's round 1, then starts a repair request. The browser tests play the
same scene and open the page the same way, so this keeps working.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot import demo
from bot.config import Settings
from storage import migrate

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VIEWPORT = {"width": 1200, "height": 720}
README_PICTURE = Path(__file__).resolve().parents[2] / "docs" / "demo-chat.png"


@asynccontextmanager
async def browser(chromium: str) -> AsyncIterator[object]:
    """Headless Chromium, driven by Playwright."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def open_chat_page(browser, base_url: str):
    """A new tab on the demo's chat page, in Chinese."""
    # The bot writes times in Asia/Shanghai; so does the page, wherever it runs.
    page = await browser.new_page(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=VIEWPORT)
    await page.goto(base_url + "/chat")
    return page


async def a_resident_votes_then_reports_a_repair(page) -> None:
    """The README's scene: 王芳 agrees in round 1, then starts /repair."""
    from playwright.async_api import expect

    await page.locator("#personas li", has_text="王芳").click()
    question = page.locator(".bubble.bot", has_text="运南新村改造意愿征询").first
    await question.get_by_role("button", name="同意", exact=True).click()
    await expect(page.locator(".bubble.bot", has_text="您家的答复：✅ 同意")).to_have_count(1)
    await page.fill("#text", "/repair")
    await page.keyboard.press("Enter")
    await expect(page.locator(".bubble.bot").last).to_contain_text("报修：是什么问题？")
    await expect(page.locator("#toast")).to_be_hidden()  # the vote's "同意" notice


async def take(settings: Settings, folder: Path, path: Path) -> None:
    """Run the demo, play the scene and save the page as ``path``."""
    async with (
        demo.running_demo(settings, folder) as sandbox,
        browser(CHROMIUM) as chromium,
    ):
        page = await open_chat_page(chromium, sandbox.base_url)
        await a_resident_votes_then_reports_a_repair(page)
        await page.screenshot(path=str(path))


def main(path: Path) -> None:
    """Seed a fresh demo in a temporary folder and take its picture."""
    if CHROMIUM is None:
        raise SystemExit(
            "needs Chromium and its fonts"
            " (Debian: apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji)"
        )
    with tempfile.TemporaryDirectory(prefix="linli-demo-") as folder:
        settings = demo.demo_settings(Settings(), Path(folder))
        migrate.upgrade(settings.database.url)
        asyncio.run(take(settings, Path(folder), path))
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else README_PICTURE)
