"""Everything the sandbox remembers: per bot token its users, chats, messages, files,
pending updates, webhook, commands, the log of what happened, and counters.

All of it lives in one event loop and is only touched from coroutines on that loop, so no
locks are needed. Stored Telegram objects (messages, chats, users) are plain JSON dicts that
are replaced, never changed in place, so an event or an update that refers to one keeps
showing the object as it was at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .ratelimit import RateLimiter, RateLimits

JSON = dict[str, Any]

DEFAULT_BOT_USERNAME = "linli_demo_bot"
BOT_FIRST_NAME = "linli (sandbox)"
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024

# Telegram leaves these out unless a bot asks for them by name in allowed_updates.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def now() -> int:
    """Unix time in whole seconds, the unit of every Telegram date."""
    return int(time.time())


class Signal:
    """Lets coroutines sleep until something new happens, or until a timeout."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake everyone waiting now; later waiters wait for the next fire."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Return when fired or after ``timeout`` seconds, whichever comes first."""
        if timeout <= 0:
            return
        # asyncio.timeout, not wait_for, which on Python 3.11 can swallow a cancellation
        # that meets the event being set.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._event.wait()


@dataclass
class StoredMessage:
    """A message of a chat in its current state.

    ``keyboard`` is the reply keyboard (or its removal, or a force reply) sent along with a
    bot message: Telegram does not put those in the Message object, but a chat page needs
    them to show the keyboard.
    """

    message: JSON
    from_bot: bool
    keyboard: JSON | None = None
    deleted: bool = False


@dataclass
class Chat:
    """A private chat or a group the bot has seen, and its messages by id."""

    info: JSON
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    last_message_id: int = 0
    menu_button: JSON | None = None

    @property
    def id(self) -> int:
        return self.info["id"]

    @property
    def is_group(self) -> bool:
        return self.info["type"] in ("group", "supergroup")

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def live_message(self, message_id: int) -> StoredMessage | None:
        stored = self.messages.get(message_id)
        return None if stored is None or stored.deleted else stored


@dataclass
class StoredFile:
    """A file sent by the bot or by a user, as getFile and the file route serve it.

    ``kind`` is the Bot API type it was sent as ("photo", "document", "sticker"); every size
    of a photo is a file of its own, and ``photo_sizes`` lists them all.
    """

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    photo_sizes: list[JSON] | None = None

    def to_json(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class Webhook:
    """A webhook set with setWebhook; ``task`` delivers the pending updates to ``url``."""

    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task[None] | None = None

    def to_info(self, pending: int) -> JSON:
        info: JSON = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
            "max_connections": self.max_connections,
        }
        if self.allowed_updates is not None:
            info["allowed_updates"] = self.allowed_updates
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info


class BotState:
    """What one bot token sees. Bots never see each other's chats or updates."""

    def __init__(self, sandbox: SandboxState, token: str):
        self.sandbox = sandbox
        self.token = token
        self.bot_id = int(token.partition(":")[0])
        self.update_signal = Signal()
        self.event_signal = Signal()
        self.poll_generation = 0
        self.webhook: Webhook | None = None
        self.clear()

    def clear(self) -> None:
        """Forget everything but the identity; waiting pollers stay attached."""
        self.stop_webhook()
        self.user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": self.sandbox.bot_username,
        }
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, Chat] = {}
        self.blocked_user_ids: set[int] = set()
        self.files: dict[str, StoredFile] = {}
        self.updates: list[JSON] = []
        # Every update ever queued, by id, and those queued again with the same id.
        self.queued: dict[int, JSON] = {}
        self.redeliveries: list[JSON] = []
        self.allowed_updates: list[str] | None = None
        self.events: list[JSON] = []
        self.commands: dict[tuple[str, str], JSON] = {}
        # Callback queries not answered yet, with the chat their message is in.
        self.open_callback_queries: dict[str, int] = {}
        self.default_menu_button: JSON = {"type": "default"}
        self.calls: Counter[str] = Counter()
        self.too_many_requests = 0
        self.sent_messages = 0
        # Calls still to fail with 502 Bad Gateway, as Telegram's front does in trouble.
        self.outage_calls = 0
        self.limiter = RateLimiter(dataclasses.replace(self.sandbox.rate_limits))
        self.update_signal.fire()
        self.event_signal.fire()

    # Updates

    def queue_update(self, payload: JSON) -> tuple[int, bool]:
        """Give ``payload`` an update_id and queue it, unless allowed_updates excludes it.

        Returns the update_id and whether the update was queued.
        """
        update_id = next(self.sandbox.update_ids)
        update = {"update_id": update_id, **payload}
        queued = self.wants(update)
        if queued:
            self.updates.append(update)
            self.queued[update_id] = update
            self.update_signal.fire()
        return update_id, queued

    def redeliver(self, update_id: int) -> bool:
        """Hand out an update again with its own id, as Telegram does after a lost answer.

        Polling bots get it in their next getUpdates whatever offset they confirmed;
        a webhook gets it next.
        """
        update = self.queued.get(update_id)
        if update is None:
            return False
        if self.webhook:
            self.updates.insert(0, update)
        else:
            self.redeliveries.append(update)
        self.update_signal.fire()
        return True

    def wants(self, update: JSON) -> bool:
        kinds = [key for key in update if key != "update_id"]
        allowed = self.webhook.allowed_updates if self.webhook else self.allowed_updates
        if allowed:
            return any(kind in allowed for kind in kinds)
        return not any(kind in OPT_IN_UPDATE_TYPES for kind in kinds)

    def set_allowed_updates(self, allowed: list[str] | None) -> None:
        """Remember a new allowed_updates list and drop the pending updates it excludes."""
        if allowed is not None:
            self.allowed_updates = allowed
        self.updates = [update for update in self.updates if self.wants(update)]

    def stop_webhook(self) -> None:
        if self.webhook and self.webhook.task:
            self.webhook.task.cancel()
        self.webhook = None

    # Chats, users and files

    def remember_user(self, user: JSON) -> Chat:
        """Record a user who wrote to the bot and return their private chat."""
        self.users[user["id"]] = user
        info = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if user.get(key):
                info[key] = user[key]
        return self.remember_chat(info)

    def remember_chat(self, info: JSON) -> Chat:
        chat = self.chats.get(info["id"])
        if chat is None:
            chat = self.chats[info["id"]] = Chat(info)
        else:
            chat.info = info
        return chat

    def store_file(
        self,
        data: bytes,
        kind: str,
        extension: str,
        *,
        mime_type: str | None = None,
        file_name: str | None = None,
    ) -> StoredFile:
        number = next(self.sandbox.file_numbers)
        unique = f"AQAD{number:06d}{secrets.token_hex(3)}"
        stored = StoredFile(
            file_id=f"{unique}-{secrets.token_urlsafe(18)}",
            file_unique_id=unique,
            kind=kind,
            data=data,
            file_path=f"{kind}s/file_{number}{extension}",
            mime_type=mime_type,
            file_name=file_name,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == path), None)

    # The event log

    def record(self, kind: str, chat_id: int | None, **fields: Any) -> JSON:
        """Append an event to the log and wake whoever waits for events."""
        event = {"seq": next(self.sandbox.event_seqs), "chat_id": chat_id, "kind": kind, **fields}
        self.events.append(event)
        self.event_signal.fire()
        return event

    def events_after(self, after: int, chat_id: int | None = None) -> list[JSON]:
        return [
            event
            for event in self.events
            if event["seq"] > after and (chat_id is None or event["chat_id"] == chat_id)
        ]


class SandboxState:
    """All bots of one sandbox server, and the settings they share.

    Update ids, event sequence numbers and file numbers are counted across bots and resets,
    so a bot that still polls with an old offset after a reset never skips new updates.
    """

    def __init__(
        self,
        *,
        bot_username: str = DEFAULT_BOT_USERNAME,
        rate_limits: RateLimits | None = None,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ):
        self.bot_username = bot_username
        self.rate_limits = rate_limits or RateLimits()
        self.max_upload_bytes = max_upload_bytes
        self.bots: dict[str, BotState] = {}
        self.update_ids = itertools.count(1)
        self.event_seqs = itertools.count(1)
        self.file_numbers = itertools.count(1)
        self.callback_ids = itertools.count(1)
        self.closing = False

    def bot(self, token: str) -> BotState:
        """The state of the bot with this token, created on first use."""
        if token not in self.bots:
            self.bots[token] = BotState(self, token)
        return self.bots[token]

    def reset(self) -> None:
        for bot in self.bots.values():
            bot.clear()

    def close(self) -> None:
        """End every long poll and webhook delivery; called when the server stops."""
        self.closing = True
        for bot in self.bots.values():
            bot.stop_webhook()
            bot.update_signal.fire()
            bot.event_signal.fire()
