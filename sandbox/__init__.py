"""A local stand-in for Telegram's Bot API server.

Bots built on python-telegram-bot talk to it over real HTTP and cannot tell it from
Telegram; tests play the users through its control API::

    async with run_sandbox() as sandbox:
        app = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(sandbox.bot_api_url)
            .base_file_url(sandbox.file_url)
            .build()
        )
        async with sandbox.client(TOKEN) as tg:
            await tg.send(user(1001, "Alice"), "/start")

``python -m sandbox`` runs it on its own.
"""

from .chatpage import Roster
from .client import SandboxClient, SandboxError, user
from .ratelimit import RateLimits
from .server import PageFor, RunningSandbox, create_app, run_sandbox
from .state import SandboxState

__all__ = [
    "PageFor",
    "RateLimits",
    "Roster",
    "RunningSandbox",
    "SandboxClient",
    "SandboxError",
    "SandboxState",
    "create_app",
    "run_sandbox",
    "user",
]
