"""The Bot API side: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.

Each method is a coroutine ``(bot, params) -> result`` registered under its Bot API name;
names are matched case-insensitively, as Telegram does. A method raises
:class:`~sandbox.errors.ApiError` to answer with an error.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from . import messages as msg
from .errors import (
    QUERY_TOO_OLD,
    TERMINATED_BY_OTHER_POLL,
    WEBHOOK_ACTIVE,
    ApiError,
    bad_request,
)
from .media import document_json, store_document, store_photo
from .params import Params, read_params
from .state import JSON, BotState, SandboxState, StoredFile, Webhook
from .webhook import start_delivery

Method = Callable[[BotState, Params], Awaitable[Any]]

TOKEN_PATTERN = re.compile(r"^\d+:\S+$")
# An outage (control API) fails the bot's other calls but lets it keep polling.
OUTAGE_SPARES = frozenset({"getUpdates"})
MAX_POLL_LIMIT = 100
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

METHODS: dict[str, tuple[str, Method]] = {}


def method(name: str) -> Callable[[Method], Method]:
    """Register a Bot API method under its name as Telegram spells it."""

    def register(handler: Method) -> Method:
        METHODS[name.lower()] = (name, handler)
        return handler

    return register


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error.to_json(), status=error.code)


class BotApi:
    """The request handlers of the Bot API routes, bound to one sandbox state."""

    def __init__(self, state: SandboxState):
        self.state = state

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/bot{token}/{method}", self.call),
            web.post("/bot{token}/{method}", self.call),
            web.get("/file/bot{token}/{path:.+}", self.download),
        ]

    async def call(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not TOKEN_PATTERN.match(token):
            return error_response(ApiError(401, "Unauthorized"))
        entry = METHODS.get(request.match_info["method"].lower())
        if entry is None:
            return error_response(ApiError(404, "Not Found"))
        name, handler = entry
        bot = self.state.bot(token)
        bot.calls[name] += 1
        if bot.outage_calls > 0 and name not in OUTAGE_SPARES:
            bot.outage_calls -= 1
            return error_response(ApiError(502, "Bad Gateway"))
        try:
            result = await handler(bot, await read_params(request))
        except ApiError as error:
            if error.code == 429:
                bot.too_many_requests += 1
            return error_response(error)
        return web.json_response({"ok": True, "result": result})

    async def download(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not TOKEN_PATTERN.match(token):
            return error_response(ApiError(401, "Unauthorized"))
        stored = self.state.bot(token).file_by_path(request.match_info["path"])
        if stored is None:
            return error_response(ApiError(404, "Not Found"))
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )


# Identity and lifecycle


@method("getMe")
async def get_me(bot: BotState, params: Params) -> JSON:
    return {
        **bot.user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut")
async def log_out(bot: BotState, params: Params) -> bool:
    return True


@method("close")
async def close(bot: BotState, params: Params) -> bool:
    return True


# Updates


@method("getUpdates")
async def get_updates(bot: BotState, params: Params) -> list[JSON]:
    """Long polling: wait up to ``timeout`` seconds for an update at or after ``offset``.

    A newer getUpdates call ends a waiting one with 409, as Telegram does when two bot
    instances poll with one token.
    """
    if bot.webhook:
        raise ApiError(409, WEBHOOK_ACTIVE)
    offset = params.get_int("offset", 0)
    limit = min(max(params.get_int("limit", MAX_POLL_LIMIT), 1), MAX_POLL_LIMIT)
    timeout = max(params.get_float("timeout", 0), 0)
    bot.set_allowed_updates(params.get_json("allowed_updates"))
    if offset > 0:
        bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
    elif offset < 0:
        bot.updates = bot.updates[offset:]

    bot.poll_generation += 1
    generation = bot.poll_generation
    bot.update_signal.fire()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if bot.poll_generation != generation:
            raise ApiError(409, TERMINATED_BY_OTHER_POLL)
        if bot.redeliveries and not bot.webhook:
            again, bot.redeliveries = bot.redeliveries, []
            return again
        if bot.updates or bot.webhook or bot.sandbox.closing:
            return [] if bot.webhook else bot.updates[:limit]
        remaining = deadline - loop.time()
        if remaining <= 0:
            return []
        await bot.update_signal.wait(remaining)


@method("setWebhook")
async def set_webhook(bot: BotState, params: Params) -> bool:
    url = params.get_str("url") or ""
    if not url:
        bot.stop_webhook()
        return True
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get_str("secret_token")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise bad_request("secret token contains unallowed characters")
    if params.get_bool("drop_pending_updates"):
        bot.updates = []
    allowed = params.get_json("allowed_updates")
    hook = Webhook(
        url=url,
        secret_token=secret,
        max_connections=params.get_int("max_connections", 40),
        allowed_updates=allowed if allowed is not None else bot.allowed_updates,
    )
    start_delivery(bot, hook)
    bot.set_allowed_updates(hook.allowed_updates)
    return True


@method("deleteWebhook")
async def delete_webhook(bot: BotState, params: Params) -> bool:
    bot.stop_webhook()
    if params.get_bool("drop_pending_updates"):
        bot.updates = []
    return True


@method("getWebhookInfo")
async def get_webhook_info(bot: BotState, params: Params) -> JSON:
    if bot.webhook is None:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
    return bot.webhook.to_info(len(bot.updates))


# Sending


@method("sendMessage")
async def send_message(bot: BotState, params: Params) -> JSON:
    chat = msg.writable_chat(bot, params)
    text, entities = msg.message_text(params)
    inline, keyboard = msg.reply_markup(params)
    content = msg.text_fields(text, entities)
    return msg.send_bot_message(bot, chat, params, content, inline=inline, keyboard=keyboard)


@method("sendPhoto")
async def send_photo(bot: BotState, params: Params) -> JSON:
    chat = msg.writable_chat(bot, params)
    inline, keyboard = msg.reply_markup(params)
    caption = msg.caption_fields(params)
    upload = params.upload("photo")
    if upload is not None:
        _check_upload_size(bot, upload.data)
        photo = store_photo(bot, upload.data)
    else:
        photo = _existing_file(bot, params, "photo").photo_sizes
    content = {"photo": photo, **caption}
    return msg.send_bot_message(bot, chat, params, content, inline=inline, keyboard=keyboard)


@method("sendMediaGroup")
async def send_media_group(bot: BotState, params: Params) -> list[JSON]:
    """An album of 2 to 10 photos sent before by file_id; each is a message of the group."""
    chat = msg.writable_chat(bot, params)
    media = params.get_json("media")
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise bad_request("wrong number of media specified")
    if any(not isinstance(item, dict) or item.get("type") != "photo" for item in media):
        raise bad_request("only photos can be sent in an album here")
    group = str(bot.sent_messages + 1)
    sent = []
    for item in media:
        fields = Params({"photo": item.get("media"), "caption": item.get("caption")})
        photo = _existing_file(bot, fields, "photo").photo_sizes
        content = {"photo": photo, **msg.caption_fields(fields), "media_group_id": group}
        sent.append(msg.send_bot_message(bot, chat, params, content))
    return sent


@method("sendDocument")
async def send_document(bot: BotState, params: Params) -> JSON:
    chat = msg.writable_chat(bot, params)
    inline, keyboard = msg.reply_markup(params)
    caption = msg.caption_fields(params)
    upload = params.upload("document")
    if upload is not None:
        _check_upload_size(bot, upload.data)
        document = store_document(bot, upload.data, upload.filename, upload.content_type)
    else:
        document = document_json(_existing_file(bot, params, "document"))
    content = {"document": document, **caption}
    return msg.send_bot_message(bot, chat, params, content, inline=inline, keyboard=keyboard)


def _check_upload_size(bot: BotState, data: bytes) -> None:
    if len(data) > bot.sandbox.max_upload_bytes:
        raise bad_request("file is too big")


def _existing_file(bot: BotState, params: Params, kind: str) -> StoredFile:
    """The earlier file a send* call names by file_id instead of uploading one."""
    reference = params.get_str(kind)
    if not reference:
        raise bad_request(f"there is no {kind} in the request")
    if reference.startswith(("http://", "https://")):
        # The sandbox has no network to fetch from.
        raise bad_request("failed to get HTTP URL content")
    stored = bot.files.get(reference)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(
            f"can't use file of type {stored.kind.capitalize()} as {kind.capitalize()}"
        )
    return stored


@method("sendLocation")
async def send_location(bot: BotState, params: Params) -> JSON:
    chat = msg.writable_chat(bot, params)
    msg.require(params, "latitude")
    msg.require(params, "longitude")
    latitude, longitude = params.get_float("latitude"), params.get_float("longitude")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise bad_request("wrong latitude or longitude")
    inline, keyboard = msg.reply_markup(params)
    content = {"location": {"latitude": latitude, "longitude": longitude}}
    return msg.send_bot_message(bot, chat, params, content, inline=inline, keyboard=keyboard)


@method("copyMessage")
async def copy_message(bot: BotState, params: Params) -> JSON:
    """Send a copy of a message without a link to the original; returns its MessageId."""
    chat = msg.writable_chat(bot, params)
    source = msg.find_chat(bot, params, "from_chat_id")
    original = source.live_message(params.get_int("message_id", 0) or 0)
    if original is None:
        raise bad_request("message to copy not found")
    content_keys = ("text", "entities", "photo", "document", "location", "sticker", "contact")
    content = {k: v for k, v in original.message.items() if k in content_keys}
    if "caption" in params:
        content.update(msg.caption_fields(params))
    else:
        content.update(
            {k: v for k, v in original.message.items() if k in ("caption", "caption_entities")}
        )
    inline, keyboard = msg.reply_markup(params)
    copied = msg.send_bot_message(bot, chat, params, content, inline=inline, keyboard=keyboard)
    return {"message_id": copied["message_id"]}


@method("sendChatAction")
async def send_chat_action(bot: BotState, params: Params) -> bool:
    chat = msg.writable_chat(bot, params)
    action = params.get_str("action")
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    bot.record("chat_action", chat.id, action=action)
    return True


# Editing and deleting


@method("editMessageText")
async def edit_message_text(bot: BotState, params: Params) -> JSON:
    chat, stored = msg.editable_message(bot, params)
    if "text" not in stored.message:
        raise bad_request("there is no text in the message to edit")
    text, entities = msg.message_text(params)
    inline, _ = msg.reply_markup(params)
    changed = {
        k: v for k, v in stored.message.items() if k not in ("text", "entities", "reply_markup")
    }
    changed.update(msg.text_fields(text, entities))
    # Like Telegram, an edit without reply_markup removes the inline keyboard.
    if inline is not None:
        changed["reply_markup"] = inline
    return msg.apply_edit(bot, chat, stored, changed)


@method("editMessageCaption")
async def edit_message_caption(bot: BotState, params: Params) -> JSON:
    chat, stored = msg.editable_message(bot, params)
    if not any(kind in stored.message for kind in ("photo", "document")):
        raise bad_request("there is no caption in the message to edit")
    caption = msg.caption_fields(params)
    inline, _ = msg.reply_markup(params)
    dropped = ("caption", "caption_entities", "reply_markup")
    changed = {k: v for k, v in stored.message.items() if k not in dropped}
    changed.update(caption)
    if inline is not None:
        changed["reply_markup"] = inline
    return msg.apply_edit(bot, chat, stored, changed)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(bot: BotState, params: Params) -> JSON:
    chat, stored = msg.editable_message(bot, params)
    inline, _ = msg.reply_markup(params)
    changed = {k: v for k, v in stored.message.items() if k != "reply_markup"}
    if inline is not None and inline["inline_keyboard"]:
        changed["reply_markup"] = inline
    return msg.apply_edit(bot, chat, stored, changed)


@method("deleteMessage")
async def delete_message(bot: BotState, params: Params) -> bool:
    chat = msg.find_chat(bot, params)
    message_id = params.get_int("message_id")
    stored = chat.live_message(message_id) if message_id is not None else None
    if stored is None:
        raise bad_request("message to delete not found")
    stored.deleted = True
    bot.record("delete", chat.id, message_id=message_id, message=stored.message)
    return True


# Callback queries


@method("answerCallbackQuery")
async def answer_callback_query(bot: BotState, params: Params) -> bool:
    query_id = params.get_str("callback_query_id") or ""
    if query_id not in bot.open_callback_queries:
        raise bad_request(QUERY_TOO_OLD)
    chat_id = bot.open_callback_queries.pop(query_id)
    fields: JSON = {"callback_query_id": query_id, "show_alert": params.get_bool("show_alert")}
    for name in ("text", "url"):
        if params.get_str(name):
            fields[name] = params.get_str(name)
    bot.record("callback_answer", chat_id, **fields)
    return True


# Files


@method("getFile")
async def get_file(bot: BotState, params: Params) -> JSON:
    stored = bot.files.get(params.get_str("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > bot.sandbox.max_upload_bytes:
        raise bad_request("file is too big")
    return stored.to_json()


# Commands, menu button and chats


def _scope(params: Params) -> tuple[JSON, str, str]:
    """The scope object, its storage key and the language code of a *MyCommands call."""
    scope = params.get_json("scope", "BotCommandScope") or {"type": "default"}
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad_request("can't parse BotCommandScope JSON object")
    return scope, json.dumps(scope, sort_keys=True), params.get_str("language_code") or ""


@method("setMyCommands")
async def set_my_commands(bot: BotState, params: Params) -> bool:
    commands = params.get_json("commands", "commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands")
    normalized = []
    for command in commands:
        name = command.get("command") if isinstance(command, dict) else None
        description = command.get("description") if isinstance(command, dict) else None
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name.lower()):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("command description is empty")
        normalized.append({"command": name.lower(), "description": description})
    scope, key, language = _scope(params)
    if normalized:
        bot.commands[key, language] = {
            "scope": scope,
            "language_code": language,
            "commands": normalized,
        }
    else:
        bot.commands.pop((key, language), None)
    return True


@method("getMyCommands")
async def get_my_commands(bot: BotState, params: Params) -> list[JSON]:
    _, key, language = _scope(params)
    stored = bot.commands.get((key, language))
    return stored["commands"] if stored else []


@method("deleteMyCommands")
async def delete_my_commands(bot: BotState, params: Params) -> bool:
    _, key, language = _scope(params)
    bot.commands.pop((key, language), None)
    return True


@method("setChatMenuButton")
async def set_chat_menu_button(bot: BotState, params: Params) -> bool:
    button = params.get_json("menu_button", "menu button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    if "chat_id" in params:
        msg.find_chat(bot, params).menu_button = button
    else:
        bot.default_menu_button = button
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(bot: BotState, params: Params) -> JSON:
    if "chat_id" in params:
        button = msg.find_chat(bot, params).menu_button
        if button is not None:
            return button
    return bot.default_menu_button


@method("getChat")
async def get_chat(bot: BotState, params: Params) -> JSON:
    chat = msg.find_chat(bot, params)
    return {
        **chat.info,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }
