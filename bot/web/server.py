"""One aiohttp server for the web side, run by ``linli web`` or inside ``linli run``.

Each part of the web side is an aiohttp application of its own, mounted
under its prefix; they share the bot's database and settings.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bot.config import Settings
from bot.web import officials, open311
from bot.web.keys import DATABASE, SETTINGS
from storage.db import Database

# (prefix, the part's application): each part adds its line.
PARTS: list[tuple[str, Callable[[], web.Application]]] = [
    ("/officials", officials.app),
    ("/open311/v2", open311.app),
]


def build(db: Database, settings: Settings) -> web.Application:
    """The web side's application: every part mounted, each able to reach the database
    and the settings through its request's ``config_dict`` (``DATABASE``, ``SETTINGS``)."""
    app = web.Application()
    app[DATABASE], app[SETTINGS] = db, settings
    for prefix, part in PARTS:
        app.add_subapp(prefix, part())
    return app


class WebServer:
    """The web side, started and stopped beside the bot (or alone)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(build(self.db, self.settings), access_log=None)
        await self._runner.setup()
        web_settings = self.settings.web
        await web.TCPSite(self._runner, web_settings.listen, web_settings.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
