"""End-to-end fixtures: the real bot, polling the local Bot API server over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from telegram import Update

from bot.app import build_application
from bot.config import Settings
from sandbox.client import JSON, SandboxClient, user
from sandbox.server import run_sandbox
from storage.db import Database

TOKEN = "123456:TEST-TOKEN"
# How long a test waits for something the bot is to do. On a busy machine a bot process
# just started took over a minute to import and answer (2 cores at load 15); a long wait
# costs nothing when the event comes, so none is shorter than this.
EVENT_WAIT = 180.0
# How often a test looks in the database for what the bot did. On SQLite every transaction
# takes the write lock (BEGIN IMMEDIATE), so the test's looks are spaced out to leave the
# bot room to write.
DB_POLL = 0.5


async def ticks(timeout: float = EVENT_WAIT, every: float = 0.1) -> AsyncIterator[None]:
    """Poll until something holds, for ``timeout`` seconds by the clock (not a count of
    tries, which a slow machine makes longer to check): ``async for _ in ticks(): ...``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        yield
        await asyncio.sleep(every)


# Bot processes a test started (tests.e2e.test_outbox_crash.start_bot); any still running
# when it ends, as after a failure, is killed, so that it does not load the rest of the run.
BOT_PROCESSES: list[asyncio.subprocess.Process] = []


@pytest.fixture(autouse=True)
async def no_bot_process_left() -> AsyncIterator[None]:
    yield
    while BOT_PROCESSES:
        process = BOT_PROCESSES.pop()
        if process.returncode is None:
            process.kill()
            await process.wait()


class Telegram(SandboxClient):
    """The sandbox's control client, waiting EVENT_WAIT for an event unless told otherwise."""

    async def wait_for(
        self,
        chat_id: int | None,
        *,
        after: int,
        kind: str | None = "message",
        timeout: float = EVENT_WAIT,
        predicate: Callable[[JSON], bool] | None = None,
    ) -> JSON:
        return await super().wait_for(
            chat_id, after=after, kind=kind, timeout=timeout, predicate=predicate
        )


@dataclass
class Person:
    """Somebody chatting with the bot through the sandbox, as a test script drives them."""

    client: SandboxClient
    id: int
    name: str
    language_code: str = "zh-hans"
    seen: int = field(default=0)

    @property
    def user(self) -> dict:
        return user(self.id, first_name=self.name, language_code=self.language_code)

    async def _replies(self, count: int, kind: str = "message") -> list[dict]:
        replies = []
        for _ in range(count):
            event = await self.client.wait_for(self.id, after=self.seen, kind=kind)
            self.seen = event["seq"]
            replies.append(event)
        return replies

    async def send(self, text: str | None = None, *, replies: int = 1, **fields) -> list[str]:
        """Send a message; returns the texts of the next ``replies`` bot messages."""
        self.seen = await self.client.last_seq()
        await self.client.send(self.user, text, **fields)
        return [event["message"].get("text", "") for event in await self._replies(replies)]

    async def say(self, text: str, **fields) -> str:
        """Send a message and return the bot's one answer."""
        (answer,) = await self.send(text, **fields)
        return answer

    async def last_message(self) -> dict:
        """The bot's newest message in this chat, as it is now."""
        history = await self.client.history(self.id)
        return [m for m in history if m["from_bot"]][-1]

    async def press(
        self, message: dict, data: str, *, replies: int = 1, kind: str = "message"
    ) -> list[str]:
        """Press a button of ``message`` (by its callback data); the texts of the next
        ``replies`` bot actions of ``kind`` (new messages, or "edit")."""
        self.seen = await self.client.last_seq()
        await self.client.press(self.user, message["message_id"], data)
        return [event["message"].get("text", "") for event in await self._replies(replies, kind)]

    async def press_answer(self, message: dict, data: str) -> dict:
        """Press a button and return the bot's answerCallbackQuery (e.g. a refusal)."""
        self.seen = await self.client.last_seq()
        await self.client.press(self.user, message["message_id"], data)
        (answer,) = await self._replies(1, kind="callback_answer")
        return answer


def has(part: str) -> Callable[[JSON], bool]:
    """For ``wait_for``: a bot message with this part (``"document"``, ``"photo"``)."""
    return lambda event: part in event["message"]


def buttons(message: dict) -> dict[str, str]:
    """A message's inline buttons: label -> callback data."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


@pytest.fixture
async def sandbox() -> AsyncIterator:
    async with run_sandbox() as server:
        yield server


@pytest.fixture
async def telegram(sandbox) -> AsyncIterator[SandboxClient]:
    async with Telegram(sandbox.base_url, TOKEN) as client:
        yield client


@pytest.fixture
def bot_settings(settings: Settings, sandbox) -> Settings:
    return settings.model_copy(
        update={
            "telegram": settings.telegram.model_copy(
                update={"api_base_url": sandbox.bot_api_url, "file_base_url": sandbox.file_url}
            ),
            # Sweep often, so work due within a test is scheduled within it.
            "scheduler": settings.scheduler.model_copy(update={"sweep_seconds": 0.5}),
        }
    )


@pytest.fixture
async def running_bot(bot_settings: Settings, db: Database, telegram) -> AsyncIterator:
    """The real linli Application, started and polling the sandbox."""
    database = Database(bot_settings.database.url)
    application = build_application(bot_settings, database)
    async with application:
        await application.post_init(application)  # as run_polling would
        await application.start()
        await application.updater.start_polling(
            poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES
        )
        yield application
        await application.updater.stop()
        await application.stop()
        await application.post_stop(application)  # as run_polling would
    await database.dispose()


@pytest.fixture
def person(telegram, running_bot):
    """Make people: ``person(1001, "王芳")``; English speakers with ``language_code="en"``."""

    def make(telegram_id: int, name: str, language_code: str = "zh-hans") -> Person:
        return Person(telegram, telegram_id, name, language_code)

    return make
