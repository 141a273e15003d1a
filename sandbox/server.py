"""Running the sandbox: the aiohttp application, an async context manager for tests, and
the command line entry point.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .botapi import BotApi
from .chatpage import ChatPage, Roster
from .client import SandboxClient
from .control import ControlApi
from .ratelimit import RateLimits
from .state import DEFAULT_BOT_USERNAME, DEFAULT_MAX_UPLOAD_BYTES, SandboxState

# Long polls are ended before shutdown, so a request still open by then is stuck.
SHUTDOWN_TIMEOUT = 2.0
# Room for the other fields of a multipart request around an upload at the size limit.
REQUEST_OVERHEAD_BYTES = 1024 * 1024
# The control API takes files as base64, a third larger than the file.
BASE64_GROWTH = 4 / 3

_TOKEN_IN_PATH = re.compile(r"bot\d+:[^/]+")


def redact_token(path: str) -> str:
    """``path`` with any bot token replaced, so that logs never show one."""
    return _TOKEN_IN_PATH.sub("bot<token>", path)


class RedactingAccessLogger(AbstractAccessLogger):
    """aiohttp's access log without the bot tokens that every Bot API path contains."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.3fs", request.method, redact_token(request.path), response.status, time
        )


def create_app(state: SandboxState, page: PageFor | None = None) -> web.Application:
    """The aiohttp application serving the Bot API and the control API over ``state``,
    and the chat page of ``page``'s bot if given."""

    async def end_waiting_requests(app: web.Application) -> None:
        state.close()

    request_limit = int(state.max_upload_bytes * BASE64_GROWTH) + REQUEST_OVERHEAD_BYTES
    app = web.Application(client_max_size=request_limit)
    app.add_routes(BotApi(state).routes())
    app.add_routes(ControlApi(state).routes())
    if page is not None:
        app.add_routes(ChatPage(state, page.token, page.roster).routes())
    app.on_shutdown.append(end_waiting_requests)
    return app


@dataclass(frozen=True)
class PageFor:
    """The bot whose users the chat page plays, and whom it offers to play."""

    token: str
    roster: Roster


@dataclass(frozen=True)
class RunningSandbox:
    """A started sandbox server and where to reach it."""

    base_url: str
    state: SandboxState

    @property
    def bot_api_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` and ``Bot(base_url=...)``."""
        return self.base_url + "/bot"

    @property
    def file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)`` and ``Bot(base_file_url=...)``."""
        return self.base_url + "/file/bot"

    def client(self, token: str) -> SandboxClient:
        """A control API client for the bot with ``token``."""
        return SandboxClient(self.base_url, token)


@asynccontextmanager
async def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    bot_username: str = DEFAULT_BOT_USERNAME,
    rate_limits: RateLimits | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    access_log: logging.Logger | None = None,
    page: PageFor | None = None,
) -> AsyncIterator[RunningSandbox]:
    """Serve a fresh sandbox on ``host:port`` (0: any free port) in the running event loop.

    On exit, waiting long polls and event streams end and the server stops.
    """
    state = SandboxState(
        bot_username=bot_username, rate_limits=rate_limits, max_upload_bytes=max_upload_bytes
    )
    runner = web.AppRunner(
        create_app(state, page),
        handle_signals=False,
        access_log=access_log,
        access_log_class=RedactingAccessLogger,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        url_host = f"[{host}]" if ":" in host else host
        yield RunningSandbox(f"http://{url_host}:{bound_port}", state)
    finally:
        state.close()
        await runner.cleanup()


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="A local stand-in for Telegram's Bot API server.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument(
        "--rate-limit",
        type=int,
        metavar="N",
        help="turn flood limits on with about N messages per second per bot",
    )
    parser.add_argument("--bot-username", default=DEFAULT_BOT_USERNAME)
    parser.add_argument(
        "--max-upload-mb", type=int, default=DEFAULT_MAX_UPLOAD_BYTES // (1024 * 1024)
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    limits = RateLimits(enabled=True, per_second=args.rate_limit) if args.rate_limit else None
    async with run_sandbox(
        args.host,
        args.port,
        bot_username=args.bot_username,
        rate_limits=limits,
        max_upload_bytes=args.max_upload_mb * 1024 * 1024,
        access_log=logging.getLogger("sandbox.access"),
    ) as sandbox:
        print(f"sandbox Bot API at {sandbox.base_url}", flush=True)
        print(f"  bot base_url:      {sandbox.bot_api_url}", flush=True)
        print(f"  bot base_file_url: {sandbox.file_url}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Run the sandbox until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with suppress(KeyboardInterrupt):
        asyncio.run(_serve(_parse_args(argv)))
