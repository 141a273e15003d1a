"""An async client of the control API, for tests and benchmarks.

    async with SandboxClient(sandbox.base_url, token) as tg:
        alice = user(1001, "Alice")
        seen = await tg.last_seq()
        await tg.send(alice, "/start")
        reply = await tg.wait_for(alice["id"], after=seen)

Sequence numbers come from the server, so ``wait_for(after=seq_taken_before_sending)``
cannot miss what the bot did in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

JSON = dict[str, Any]

# A control call waits at most this long beyond its own long-poll time.
HTTP_TIMEOUT = 10.0
# One events request waits at most this long, so a wait_for keeps checking its deadline.
POLL_SLICE = 5.0


class SandboxError(RuntimeError):
    """The control API refused a request; the message is its description."""

    def __init__(self, status: int, description: str):
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


def user(
    id: int,
    first_name: str = "Resident",
    language_code: str = "zh-hans",
    **fields: Any,
) -> JSON:
    """A user object for ``send`` and ``press``; extra fields such as username pass through."""
    return {"id": id, "first_name": first_name, "language_code": language_code, **fields}


class SandboxClient:
    """The control API of one bot (by token) on a running sandbox."""

    def __init__(self, base_url: str, token: str):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=f"{self.base_url}/control/bot{token}", timeout=HTTP_TIMEOUT
        )

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, verb: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(verb, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            raise SandboxError(response.status_code, response.text) from None
        if not body.get("ok"):
            raise SandboxError(response.status_code, body.get("description", response.text))
        return body["result"]

    # Playing the users

    async def send(self, user: JSON, text: str | None = None, **fields: Any) -> JSON:
        """A user sends a message; ``fields`` are the other fields of ``POST .../send``.

        Returns {"update_id", "message"}.
        """
        body = {"from": user, **fields}
        if text is not None:
            body["text"] = text
        return await self._call("POST", "/send", json=body)

    async def press(
        self, user: JSON, message_id: int, data: str, chat_id: int | None = None
    ) -> JSON:
        """A user presses an inline button. Returns {"update_id", "callback_query_id"}."""
        body: JSON = {"from": user, "message_id": message_id, "data": data}
        if chat_id is not None:
            body["chat_id"] = chat_id
        return await self._call("POST", "/press", json=body)

    async def inject(self, update: JSON) -> JSON:
        """Queue a raw update (without update_id). Returns {"update_id", "queued"}."""
        return await self._call("POST", "/inject", json=update)

    async def add_users(self, users: list[JSON]) -> JSON:
        """Users who started the bot earlier (their chats exist; no updates are queued)."""
        return await self._call("POST", "/users", json={"users": users})

    async def redeliver(self, update_id: int) -> JSON:
        """Deliver an earlier update again with the same update_id."""
        return await self._call("POST", "/redeliver", json={"update_id": update_id})

    # Watching the bot

    async def events(
        self, chat_id: int | None = None, after: int = 0, timeout: float = 0
    ) -> list[JSON]:
        """Log entries with seq > ``after``; with ``timeout``, wait for at least one."""
        query: JSON = {"after": after, "timeout": timeout}
        if chat_id is not None:
            query["chat_id"] = chat_id
        return await self._call("GET", "/events", params=query, timeout=timeout + HTTP_TIMEOUT)

    async def wait_for(
        self,
        chat_id: int | None,
        *,
        after: int,
        kind: str | None = "message",
        timeout: float = 10.0,
        predicate: Callable[[JSON], bool] | None = None,
    ) -> JSON:
        """The first event with seq > ``after`` of ``kind`` (None: any) that ``predicate``
        accepts. Raises TimeoutError listing what did arrive meanwhile.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen: list[JSON] = []
        cursor = after
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(_describe_miss(chat_id, kind, after, timeout, seen))
            found = await self.events(chat_id, after=cursor, timeout=min(remaining, POLL_SLICE))
            for event in found:
                cursor = event["seq"]
                if (kind is None or event["kind"] == kind) and (
                    predicate is None or predicate(event)
                ):
                    return event
                seen.append(event)

    async def last_seq(self) -> int:
        """The seq of the bot's latest event, 0 if none: the ``after`` for a later wait."""
        return (await self.stats())["last_seq"]

    async def history(self, chat_id: int) -> list[JSON]:
        """The chat's live messages in order, each with "from_bot"."""
        return await self._call("GET", f"/chats/{chat_id}/messages")

    async def commands(self) -> list[JSON]:
        """What setMyCommands stored: [{"scope", "language_code", "commands"}]."""
        return await self._call("GET", "/commands")

    async def stats(self) -> JSON:
        return await self._call("GET", "/stats")

    async def file_bytes(self, file_id: str) -> bytes:
        response = await self._http.get(f"/files/{file_id}")
        if response.status_code != 200:
            raise SandboxError(response.status_code, response.json().get("description", ""))
        return response.content

    # Changing the rules

    async def block(self, user_id: int, blocked: bool = True) -> None:
        await self._call("POST", "/block", json={"user_id": user_id, "blocked": blocked})

    async def set_limits(
        self,
        enabled: bool = True,
        *,
        per_second: int | None = None,
        per_chat_per_second: int | None = None,
        per_group_per_minute: int | None = None,
    ) -> JSON:
        """Turn the flood limits on or off and optionally change them; returns them all."""
        body: JSON = {"enabled": enabled}
        for name, value in (
            ("per_second", per_second),
            ("per_chat_per_second", per_chat_per_second),
            ("per_group_per_minute", per_group_per_minute),
        ):
            if value is not None:
                body[name] = value
        return await self._call("POST", "/limits", json=body)

    async def outage(self, calls: int) -> None:
        """Fail the bot's next ``calls`` Bot API calls (but getUpdates) with 502 Bad Gateway."""
        await self._call("POST", "/outage", json={"calls": calls})

    async def reset(self) -> None:
        """Forget everything, for every bot of the sandbox."""
        response = await self._http.post(f"{self.base_url}/control/reset")
        response.raise_for_status()


def _describe_miss(
    chat_id: int | None, kind: str | None, after: int, timeout: float, seen: list[JSON]
) -> str:
    where = f"in chat {chat_id}" if chat_id is not None else "in any chat"
    lines = [
        f"no {kind or 'event'} event {where} after seq {after} within {timeout:g}s; "
        f"{len(seen)} other event(s) arrived:"
    ]
    for event in seen[-20:]:
        message = event.get("message") or {}
        summary = message.get("text") or message.get("caption") or event.get("text") or ""
        lines.append(f"  seq {event['seq']} {event['kind']} chat {event['chat_id']}: {summary!r}")
    return "\n".join(lines)
