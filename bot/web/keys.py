"""What the web side's parts reach through ``request.config_dict``: the bot's database and
settings. Apart from ``server``, which mounts the parts, so a part imports it freely."""

from __future__ import annotations

from aiohttp import web

from bot.config import Settings
from storage.db import Database

DATABASE = web.AppKey("database", Database)
SETTINGS = web.AppKey("settings", Settings)
