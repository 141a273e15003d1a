"""Fixtures for the sandbox tests: a running sandbox, python-telegram-bot's own Bot against
it, the control client, and a raw HTTP client for checking answers exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot

from sandbox import RunningSandbox, SandboxClient, run_sandbox

from .helpers import TOKEN


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    async with run_sandbox() as running:
        yield running


@pytest.fixture
async def bot(sandbox: RunningSandbox) -> AsyncIterator[Bot]:
    """python-telegram-bot's Bot, talking to the sandbox over HTTP as it would to Telegram."""
    async with Bot(TOKEN, base_url=sandbox.bot_api_url, base_file_url=sandbox.file_url) as ptb:
        yield ptb


@pytest.fixture
async def tg(sandbox: RunningSandbox) -> AsyncIterator[SandboxClient]:
    async with sandbox.client(TOKEN) as client:
        yield client


@pytest.fixture
async def http(sandbox: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=10) as client:
        yield client


@pytest.fixture
def api(http: httpx.AsyncClient):
    """Call a Bot API method of the test bot with raw HTTP: ``await api("getMe", json={})``."""

    async def call(method: str, **kwargs) -> httpx.Response:
        return await http.post(f"/bot{TOKEN}/{method}", **kwargs)

    return call
