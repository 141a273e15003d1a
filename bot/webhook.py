"""Telegram's webhook, received by linli: each update read on its own, as in polling.

PTB's own webhook server answers an update it cannot parse with 400, and
Telegram, which delivers in order, sends it again and again: the webhook
stalls behind it. This receiver reads updates through ``LinliBot.screen``,
so an unreadable one is acknowledged, handed on bare and recorded as
skipped, and the rest keep flowing. ``LinliUpdater`` plugs it into PTB's
updater, so ``run_webhook`` keeps its start-up, signals and shutdown.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import TYPE_CHECKING

from telegram.ext import Updater

from bot.requests import LinliBot

if TYPE_CHECKING:
    from aiohttp import web

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20  # an update is a few kilobytes; Telegram sends no files in it


class WebhookReceiver:
    """An HTTP endpoint that takes Telegram's POSTed updates into the application's queue."""

    def __init__(self, bot: LinliBot, queue: asyncio.Queue, path: str, secret: str | None):
        self.bot, self.queue, self.secret = bot, queue, secret
        self.path = "/" + path.strip("/")
        self._runner: web.AppRunner | None = None

    async def start(self, listen: str, port: int) -> None:
        from aiohttp import web  # imported in webhook mode only: polling needs none of it

        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post(self.path, self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, listen, port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        from aiohttp import web

        given = request.headers.get(SECRET_HEADER, "")
        if self.secret is not None and not hmac.compare_digest(given, self.secret):
            raise web.HTTPForbidden(text="wrong secret token")
        try:
            raw = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="the body is not JSON") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
            raise web.HTTPBadRequest(text="not an update")
        await self.queue.put(self.bot.read(raw))
        return web.Response()


class LinliUpdater(Updater):
    """PTB's updater: polling as PTB does it, the webhook through ``WebhookReceiver``."""

    bot: LinliBot

    def __init__(self, bot: LinliBot, update_queue: asyncio.Queue) -> None:
        super().__init__(bot=bot, update_queue=update_queue)
        self._receiver: WebhookReceiver | None = None

    @property
    def running(self) -> bool:
        return self._receiver is not None or super().running

    async def start_webhook(  # type: ignore[override]
        self,
        listen: str = "127.0.0.1",
        port: int = 80,
        url_path: str = "",
        webhook_url: str | None = None,
        allowed_updates: list[str] | None = None,
        secret_token: str | None = None,
        **_: object,
    ) -> asyncio.Queue:
        if self.running:
            raise RuntimeError("the updater is running already")
        receiver = WebhookReceiver(self.bot, self.update_queue, url_path, secret_token)
        await receiver.start(listen, port)
        self._receiver = receiver
        await self.bot.set_webhook(
            webhook_url or f"http://{listen}:{port}{receiver.path}",
            allowed_updates=allowed_updates,
            secret_token=secret_token,
        )
        return self.update_queue

    async def stop(self) -> None:
        receiver, self._receiver = self._receiver, None
        if receiver is None:
            await super().stop()
        else:
            await receiver.stop()
