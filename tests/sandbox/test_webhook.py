"""Webhook delivery: pending and new updates POSTed in order, with retries and the secret."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram.error import Conflict

from .helpers import ALICE


class Receiver:
    """A small webhook endpoint that fails its first ``failures`` requests."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.received: list[dict] = []
        self.secrets: list[str | None] = []
        self.attempts = 0
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.attempts <= self.failures:
            return web.Response(status=500)
        self.received.append(await request.json())
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        self.arrived.set()
        return web.Response()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    hook = Receiver(failures=2)
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield hook, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


async def test_updates_reach_the_webhook_in_order_with_the_secret(bot, tg, receiver):
    hook, url = receiver
    await tg.send(ALICE, "before the webhook")
    assert await bot.set_webhook(url, secret_token="s3cret-Token")
    await tg.send(ALICE, "after the webhook")
    await hook.wait_for(2)
    assert [u["message"]["text"] for u in hook.received] == [
        "before the webhook",
        "after the webhook",
    ]
    assert hook.secrets == ["s3cret-Token", "s3cret-Token"]
    assert hook.attempts == 4  # two failures were retried
    info = await bot.get_webhook_info()
    assert info.url == url
    assert info.pending_update_count == 0
    assert "500" in info.last_error_message
    stats = await tg.stats()
    assert stats["webhook_url"] == url
    assert "s3cret" not in str(stats)


async def test_get_updates_conflicts_with_a_webhook(bot, receiver):
    _, url = receiver
    await bot.set_webhook(url)
    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == ()


async def test_an_unreachable_webhook_keeps_the_update_pending(bot, tg):
    await bot.set_webhook("http://127.0.0.1:9/nobody-listens")
    await tg.send(ALICE, "hello?")
    await asyncio.sleep(0.3)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()
