"""The bot's transport to the Bot API: what arrives, how long a poll may wait, and what
network trouble looks like to the rest of the bot (python-telegram-bot's own errors,
which it retries, with no token in them)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.transport import AiohttpRequest
from sandbox.client import SandboxClient, user
from sandbox.server import run_sandbox

TOKEN = "123456:TRANSPORT-SECRET"
RESIDENT = user(7001, "居民")


@pytest.fixture
async def sandbox() -> AsyncIterator:
    async with run_sandbox() as server:
        async with SandboxClient(server.base_url, TOKEN) as telegram:
            await telegram.add_users([RESIDENT])
        yield server


def bot_at(base_url: str, **timeouts: float) -> Bot:
    return Bot(TOKEN, base_url=base_url, request=AiohttpRequest(8, **timeouts))


async def test_a_document_with_a_chinese_name_and_a_caption_arrives_as_sent(sandbox):
    content = "户号,答复\n1-1-101,同意\n".encode()
    async with bot_at(sandbox.bot_api_url) as bot:
        sent = await bot.send_document(
            RESIDENT["id"], content, filename="解放新村-未答复户.csv", caption="请查收 “名单”"
        )
    assert sent.document is not None
    assert sent.document.file_name == "解放新村-未答复户.csv"
    assert sent.caption == "请查收 “名单”"
    async with SandboxClient(sandbox.base_url, TOKEN) as telegram:
        assert await telegram.file_bytes(sent.document.file_id) == content


async def test_a_long_poll_waits_longer_than_the_read_timeout(sandbox):
    """getUpdates adds its wait to the read timeout, as with the library's own transport:
    a 2 s poll is allowed 2.5 s, where the read timeout alone would end it after 0.5 s."""
    async with bot_at(sandbox.bot_api_url, read_timeout=0.5) as bot:
        assert await bot.get_updates(timeout=2) == ()


async def test_a_server_that_does_not_answer_is_a_timeout():
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # takes the request, answers nothing
        await done.wait()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    request = AiohttpRequest(read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    finally:
        done.set()
        await request.shutdown()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("base", ["http://127.0.0.1:{port}/bot", "http://[127.0.0.1:{port}/bot"])
async def test_an_unreachable_or_malformed_address_is_a_network_error_without_the_token(base):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"{base.format(port=port)}{TOKEN}/getMe")
    finally:
        await request.shutdown()
    assert "SECRET" not in str(raised.value)
