"""The control API: what tests, benchmarks and the chat page use to play the users.

Everything is JSON under ``/control/bot<token>/...``; answers are ``{"ok": true, "result":
...}`` or ``{"ok": false, "error_code": 400|404, "description": ...}``.

The event log that ``events`` and ``stream`` serve holds, per bot and in order, entries of
these kinds: "message", "edit", "delete", "callback_answer" and "chat_action" for what the
bot did, "user_message", "user_edit" and "user_press" for what the users did, and
"persona" for a persona made in the chat page.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any

from aiohttp import web

from .botapi import TOKEN_PATTERN
from .errors import ApiError
from .media import image_size, store_document, store_photo
from .messages import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH
from .state import JSON, BotState, Chat, SandboxState, StoredMessage, now

MAX_EVENT_WAIT = 60.0
SSE_KEEPALIVE_SECONDS = 15.0
CONTENT_FIELDS = ("text", "photo_b64", "document_b64", "sticker", "location", "contact")


def _invalid(description: str) -> ApiError:
    return ApiError(400, description)


def _not_found(description: str) -> ApiError:
    return ApiError(404, description)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


class ControlApi:
    """The request handlers of the control routes, bound to one sandbox state."""

    def __init__(self, state: SandboxState):
        self.state = state

    def routes(self) -> list[web.RouteDef]:
        prefix = "/control/bot{token}"
        handlers = [
            ("POST", "/send", self.send),
            ("POST", "/press", self.press),
            ("POST", "/inject", self.inject),
            ("POST", "/redeliver", self.redeliver),
            ("POST", "/users", self.users),
            ("GET", "/events", self.events),
            ("GET", "/stream", self.stream),
            ("GET", "/chats/{chat_id}/messages", self.history),
            ("POST", "/block", self.block),
            ("POST", "/limits", self.limits),
            ("POST", "/outage", self.outage),
            ("GET", "/commands", self.commands),
            ("GET", "/stats", self.stats),
            ("GET", "/files/{file_id}", self.file),
        ]
        routes = [web.route(verb, prefix + path, self._wrap(fn)) for verb, path, fn in handlers]
        routes.append(web.post("/control/reset", self._wrap(self.reset)))
        return routes

    def _wrap(self, handler: Any) -> Any:
        """Turn :class:`ApiError` into a JSON error answer for every control route."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except ApiError as error:
                return web.json_response(error.to_json(), status=error.code)

        return wrapped

    def _bot(self, request: web.Request) -> BotState:
        token = request.match_info["token"]
        if not TOKEN_PATTERN.match(token):
            raise _invalid("invalid bot token: expected <digits>:<text>")
        return self.state.bot(token)

    # Playing the users

    async def send(self, request: web.Request) -> web.Response:
        """A user sends a message (or edits an earlier one); queues the update."""
        return _ok(self.user_sends(self._bot(request), await _body(request)))

    def user_sends(self, bot: BotState, body: JSON) -> JSON:
        user = _user(body.get("from"))
        chat = _chat_of(bot, user, body.get("chat"))
        if not chat.is_group:
            # Writing to a bot one has blocked means unblocking it first.
            _set_blocked(bot, user["id"], False)
        if body.get("edit_message_id") is not None:
            return _edit_user_message(bot, chat, body)
        content = _content(bot, body)
        if body.get("reply_to_message_id") is not None:
            content["reply_to_message"] = _replied(chat, body["reply_to_message_id"])
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": user,
            "chat": chat.info,
            "date": now(),
            **content,
        }
        chat.messages[message["message_id"]] = StoredMessage(message, from_bot=False)
        bot.record("user_message", chat.id, message=message)
        update_id, _ = bot.queue_update({"message": message})
        return {"update_id": update_id, "message": message}

    async def press(self, request: web.Request) -> web.Response:
        """A user presses an inline button; the data is not checked against the buttons."""
        return _ok(self.user_presses(self._bot(request), await _body(request)))

    def user_presses(self, bot: BotState, body: JSON) -> JSON:
        user = _user(body.get("from"))
        chat_id = _int(body.get("chat_id", user["id"]), "chat_id")
        chat = bot.chats.get(chat_id)
        if chat is None:
            raise _invalid(f"chat {chat_id} is unknown to this bot")
        message_id = _int(body.get("message_id"), "message_id")
        stored = chat.live_message(message_id)
        if stored is None:
            raise _invalid(f"message {message_id} does not exist in chat {chat_id}")
        data = body.get("data")
        if not isinstance(data, str):
            raise _invalid("data must be a string")
        bot.users[user["id"]] = user
        query_id = str(next(self.state.callback_ids) + 4_000_000_000_000_000_000)
        query = {
            "id": query_id,
            "from": user,
            "message": stored.message,
            "chat_instance": f"{bot.bot_id}{abs(chat.id)}",
            "data": data,
        }
        bot.open_callback_queries[query_id] = chat.id
        bot.record(
            "user_press", chat.id, callback_query_id=query_id, message_id=message_id, data=data
        )
        update_id, _ = bot.queue_update({"callback_query": query})
        return {"update_id": update_id, "callback_query_id": query_id}

    async def inject(self, request: web.Request) -> web.Response:
        """Queue any Update-shaped JSON as it is, for updates the other routes cannot make."""
        bot, body = self._bot(request), await _body(request)
        if "update_id" in body:
            raise _invalid("leave update_id out: the sandbox assigns it")
        if not body:
            raise _invalid('an update needs at least one field, e.g. {"message": {...}}')
        update_id, queued = bot.queue_update(body)
        return _ok({"update_id": update_id, "queued": queued})

    async def users(self, request: web.Request) -> web.Response:
        """Users who started the bot earlier: their private chats exist, no update is queued.

        For setting up many recipients at once (a broadcast to thousands).
        """
        bot, body = self._bot(request), await _body(request)
        people = body.get("users")
        if not isinstance(people, list):
            raise _invalid('send {"users": [user, ...]}')
        for person in people:
            bot.remember_user(_user(person))
        return _ok({"users": len(people)})

    async def redeliver(self, request: web.Request) -> web.Response:
        """Deliver an earlier update once more, with the same update_id."""
        bot, body = self._bot(request), await _body(request)
        update_id = _int(body.get("update_id"), "update_id")
        if not bot.redeliver(update_id):
            raise _not_found(f"no update {update_id} was ever queued")
        return _ok({"update_id": update_id})

    # Watching the bot

    async def events(self, request: web.Request) -> web.Response:
        """Log entries with seq > after; with timeout > 0, wait for the first one."""
        bot = self._bot(request)
        chat_id = _optional_int(request.query.get("chat_id"), "chat_id")
        after = _optional_int(request.query.get("after"), "after") or 0
        try:
            timeout = min(float(request.query.get("timeout", 0)), MAX_EVENT_WAIT)
        except ValueError:
            raise _invalid("timeout must be a number of seconds") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = bot.events_after(after, chat_id)
            remaining = deadline - loop.time()
            if found or remaining <= 0 or self.state.closing:
                return _ok(found)
            await bot.event_signal.wait(remaining)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """The event log as Server-Sent Events, resuming after Last-Event-ID."""
        bot = self._bot(request)
        chat_id = _optional_int(request.query.get("chat_id"), "chat_id")
        last_id = request.headers.get("Last-Event-ID") or request.query.get("after")
        after = _optional_int(last_id, "Last-Event-ID") or 0
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        try:
            while not self.state.closing:
                found = bot.events_after(after, chat_id)
                for event in found:
                    data = json.dumps(event, ensure_ascii=False)
                    await response.write(f"id: {event['seq']}\ndata: {data}\n\n".encode())
                    after = event["seq"]
                if not found:
                    await bot.event_signal.wait(SSE_KEEPALIVE_SECONDS)
                    if not bot.events_after(after, chat_id):
                        await response.write(b": keepalive\n\n")
        except (ConnectionResetError, ConnectionError):
            return response
        return response

    async def history(self, request: web.Request) -> web.Response:
        bot = self._bot(request)
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        chat = bot.chats.get(chat_id)
        if chat is None:
            raise _not_found(f"chat {chat_id} is unknown to this bot")
        return _ok(chat_history(chat))

    async def commands(self, request: web.Request) -> web.Response:
        return _ok(list(self._bot(request).commands.values()))

    async def stats(self, request: web.Request) -> web.Response:
        bot = self._bot(request)
        return _ok(
            {
                "calls": dict(bot.calls),
                "too_many_requests": bot.too_many_requests,
                "sent_messages": bot.sent_messages,
                "pending_updates": len(bot.updates),
                "webhook_url": bot.webhook.url if bot.webhook else None,
                "last_seq": bot.events[-1]["seq"] if bot.events else 0,
            }
        )

    async def file(self, request: web.Request) -> web.Response:
        stored = self._bot(request).files.get(request.match_info["file_id"])
        if stored is None:
            raise _not_found("no file with this file_id")
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # Changing the rules

    async def block(self, request: web.Request) -> web.Response:
        bot, body = self._bot(request), await _body(request)
        _set_blocked(bot, _int(body.get("user_id"), "user_id"), bool(body.get("blocked", True)))
        return _ok(True)

    async def limits(self, request: web.Request) -> web.Response:
        bot, body = self._bot(request), await _body(request)
        limits = bot.limiter.limits
        if "enabled" in body:
            limits.enabled = bool(body["enabled"])
        for name in ("per_second", "per_chat_per_second", "per_group_per_minute"):
            if name in body:
                value = _int(body[name], name)
                if value < 1:
                    raise _invalid(f"{name} must be at least 1")
                setattr(limits, name, value)
        return _ok(limits.to_json())

    async def outage(self, request: web.Request) -> web.Response:
        """The bot's next ``calls`` Bot API calls (getUpdates excepted) fail with 502."""
        bot, body = self._bot(request), await _body(request)
        calls = _int(body.get("calls"), "calls")
        if calls < 0:
            raise _invalid("calls must be 0 or more")
        bot.outage_calls = calls
        return _ok({"calls": calls})

    async def reset(self, request: web.Request) -> web.Response:
        self.state.reset()
        return _ok(True)


def chat_history(chat: Chat) -> list[JSON]:
    """The chat's messages as they are now, oldest first, with the reply keyboards."""
    entries = []
    for message_id in sorted(chat.messages):
        stored = chat.messages[message_id]
        if stored.deleted:
            continue
        entry = {**stored.message, "from_bot": stored.from_bot}
        if stored.keyboard is not None:
            entry["keyboard"] = stored.keyboard
        entries.append(entry)
    return entries


async def _body(request: web.Request) -> JSON:
    try:
        body = await request.json()
    except ValueError:
        raise _invalid("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise _invalid(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _invalid(f"{name} must be an integer") from None


def _optional_int(value: Any, name: str) -> int | None:
    return None if value in (None, "") else _int(value, name)


def _user(value: Any) -> JSON:
    """A Telegram User object from the ``from`` field of a control request."""
    if not isinstance(value, dict):
        raise _invalid('"from" must be a user object: {"id": int, "first_name": str, ...}')
    user_id = value.get("id")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise _invalid('"from.id" must be a positive integer')
    if not isinstance(value.get("first_name"), str) or not value["first_name"]:
        raise _invalid('"from.first_name" must be a non-empty string')
    user: JSON = {"id": user_id, "is_bot": False, "first_name": value["first_name"]}
    for key in ("last_name", "username", "language_code"):
        if value.get(key):
            user[key] = str(value[key])
    return user


def _chat_of(bot: BotState, user: JSON, chat: Any) -> Chat:
    """The chat a user writes in: their private chat, or the group named by ``chat``."""
    bot.users[user["id"]] = user
    if chat is None:
        return bot.remember_user(user)
    if not isinstance(chat, dict) or chat.get("type") not in ("group", "supergroup"):
        raise _invalid('"chat" must be {"id": int, "type": "group"|"supergroup", "title": str}')
    chat_id = _int(chat.get("id"), "chat.id")
    if chat_id >= 0:
        raise _invalid("group chat ids are negative, as in Telegram")
    title = chat.get("title")
    if not isinstance(title, str) or not title:
        raise _invalid('"chat.title" must be a non-empty string')
    return bot.remember_chat({"id": chat_id, "type": chat["type"], "title": title})


def _set_blocked(bot: BotState, user_id: int, blocked: bool) -> None:
    """Block or unblock the bot for a user; a change queues a my_chat_member update."""
    was_blocked = user_id in bot.blocked_user_ids
    if blocked:
        bot.blocked_user_ids.add(user_id)
    else:
        bot.blocked_user_ids.discard(user_id)
    chat = bot.chats.get(user_id)
    if chat is None or was_blocked == blocked:
        return
    bot.queue_update(
        {
            "my_chat_member": {
                "chat": chat.info,
                "from": bot.users[user_id],
                "date": now(),
                "old_chat_member": _bot_member(bot, was_blocked),
                "new_chat_member": _bot_member(bot, blocked),
            }
        }
    )


def _bot_member(bot: BotState, blocked: bool) -> JSON:
    """The bot as a ChatMember of a private chat: "kicked" while blocked."""
    if blocked:
        return {"user": bot.user, "status": "kicked", "until_date": 0}
    return {"user": bot.user, "status": "member"}


def _content(bot: BotState, body: JSON) -> JSON:
    """The content fields of a user's new message."""
    given = [name for name in CONTENT_FIELDS if body.get(name) is not None]
    if len(given) != 1:
        raise _invalid(
            "a message has exactly one of " + ", ".join(CONTENT_FIELDS) + f"; got {given or 'none'}"
        )
    content: JSON = {}
    if body.get("text") is not None:
        content.update(_text(body["text"]))
    if body.get("photo_b64") is not None:
        data = _upload(bot, body["photo_b64"], "photo_b64")
        if image_size(data) is None:
            raise _invalid("photo_b64 is not a PNG, JPEG, GIF or WebP image")
        content["photo"] = store_photo(bot, data)
    if body.get("document_b64") is not None:
        data = _upload(bot, body["document_b64"], "document_b64")
        content["document"] = store_document(
            bot, data, body.get("file_name") or "file", body.get("mime_type")
        )
    if body.get("caption") is not None:
        if "photo" not in content and "document" not in content:
            raise _invalid("a caption needs photo_b64 or document_b64")
        if len(body["caption"]) > MAX_CAPTION_LENGTH:
            raise _invalid(f"caption is too long (over {MAX_CAPTION_LENGTH} characters)")
        content["caption"] = body["caption"]
    if body.get("sticker") is not None:
        content["sticker"] = _sticker(bot, body["sticker"])
    if body.get("location") is not None:
        content["location"] = _location(body["location"])
    if body.get("contact") is not None:
        content["contact"] = _contact(body["contact"])
    return content


def _replied(chat: Chat, message_id: Any) -> JSON:
    replied = chat.live_message(_int(message_id, "reply_to_message_id"))
    if replied is None:
        raise _invalid(f"reply_to_message_id {message_id} is not a message of chat {chat.id}")
    return {k: v for k, v in replied.message.items() if k != "reply_to_message"}


def _text(text: Any) -> JSON:
    """Text and entities as Telegram's clients send them: a leading /command is marked."""
    if not isinstance(text, str) or not text.strip():
        raise _invalid("text must be a non-empty string")
    if len(text) > MAX_TEXT_LENGTH:
        raise _invalid(f"text is too long (over {MAX_TEXT_LENGTH} characters)")
    fields: JSON = {"text": text}
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        length = len(command.encode("utf-16-le")) // 2
        fields["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return fields


def _upload(bot: BotState, value: Any, name: str) -> bytes:
    """A user's file, decoded; refused over the size limit, as Telegram's clients do."""
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a base64 string")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"{name} is not valid base64") from None
    limit = bot.sandbox.max_upload_bytes
    if len(data) > limit:
        raise _invalid(f"file is too big: {len(data)} bytes, the limit is {limit} bytes")
    return data


def _sticker(bot: BotState, sticker: Any) -> JSON:
    if not isinstance(sticker, dict) or not isinstance(sticker.get("emoji"), str):
        raise _invalid('"sticker" must be {"emoji": str}')
    stored = bot.store_file(b"", "sticker", ".webp", mime_type="image/webp")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": sticker["emoji"],
    }


def _location(location: Any) -> JSON:
    try:
        latitude, longitude = float(location["latitude"]), float(location["longitude"])
    except (TypeError, KeyError, ValueError):
        raise _invalid('"location" must be {"latitude": float, "longitude": float}') from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise _invalid("latitude or longitude out of range")
    return {"latitude": latitude, "longitude": longitude}


def _contact(contact: Any) -> JSON:
    if (
        not isinstance(contact, dict)
        or not isinstance(contact.get("phone_number"), str)
        or not isinstance(contact.get("first_name"), str)
    ):
        raise _invalid('"contact" must have "phone_number" and "first_name" strings')
    return contact


def _edit_user_message(bot: BotState, chat: Chat, body: JSON) -> JSON:
    """A user edits the text (or caption) of their earlier message: an edited_message."""
    message_id = _int(body["edit_message_id"], "edit_message_id")
    stored = chat.live_message(message_id)
    if stored is None or stored.from_bot:
        raise _invalid(f"message {message_id} is not a user message of chat {chat.id}")
    edited = {k: v for k, v in stored.message.items() if k not in ("text", "entities")}
    if "text" in stored.message:
        edited.update(_text(body.get("text")))
    elif body.get("caption") is not None:
        edited["caption"] = str(body["caption"])
    else:
        raise _invalid("only the text or the caption of a message can be edited")
    edited["edit_date"] = now()
    stored.message = edited
    bot.record("user_edit", chat.id, message=edited)
    update_id, _ = bot.queue_update({"edited_message": edited})
    return {"update_id": update_id, "message": edited}
