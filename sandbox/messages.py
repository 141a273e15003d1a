"""Building the messages a bot sends: text and caption limits, reply markup, replies, and
storing the result in its chat with an entry in the event log.
"""

from __future__ import annotations

from typing import Any

from .errors import (
    CAPTION_TOO_LONG,
    CHAT_NOT_FOUND,
    MESSAGE_NOT_MODIFIED,
    MESSAGE_TEXT_EMPTY,
    MESSAGE_TO_EDIT_NOT_FOUND,
    MESSAGE_TOO_LONG,
    bad_request,
    forbidden,
    too_many_requests,
)
from .markup import parse_formatted
from .params import Params
from .state import JSON, BotState, Chat, StoredMessage, now

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64


def find_chat(bot: BotState, params: Params, name: str = "chat_id") -> Chat:
    """The chat a call names; 400 "chat not found" for a chat the bot has never seen."""
    raw = params.get_raw(name)
    if raw is None or raw == "":
        raise bad_request(f"{name} is empty")
    try:
        chat_id = int(raw)
    except (TypeError, ValueError):
        raise bad_request(CHAT_NOT_FOUND) from None
    chat = bot.chats.get(chat_id)
    if chat is None:
        if chat_id in bot.users:
            # Telegram knows the user from a group, but they never started the bot.
            raise forbidden("bot can't initiate conversation with a user")
        raise bad_request(CHAT_NOT_FOUND)
    return chat


def writable_chat(bot: BotState, params: Params) -> Chat:
    """A chat the bot may write to now: known, and not a private chat with a blocking user."""
    chat = find_chat(bot, params)
    if not chat.is_group and chat.id in bot.blocked_user_ids:
        raise forbidden("bot was blocked by the user")
    return chat


def admit(bot: BotState, chat: Chat) -> None:
    """Apply the flood limits to one more message in ``chat``."""
    retry_after = bot.limiter.check(chat.id, chat.is_group)
    if retry_after:
        raise too_many_requests(retry_after)


def message_text(params: Params) -> tuple[str, list[JSON]]:
    """The ``text`` of sendMessage or editMessageText with its entities, within the limits."""
    text, entities = parse_formatted(
        params.get_str("text") or "", params.get_str("parse_mode"), params.get_json("entities")
    )
    if not text:
        raise bad_request(MESSAGE_TEXT_EMPTY)
    if len(text) > MAX_TEXT_LENGTH:
        raise bad_request(MESSAGE_TOO_LONG)
    return text, entities


def caption_fields(params: Params) -> JSON:
    """``caption`` and ``caption_entities`` of a media message, empty when there is none."""
    caption, entities = parse_formatted(
        params.get_str("caption") or "",
        params.get_str("parse_mode"),
        params.get_json("caption_entities"),
    )
    if len(caption) > MAX_CAPTION_LENGTH:
        raise bad_request(CAPTION_TOO_LONG)
    fields: JSON = {}
    if caption:
        fields["caption"] = caption
    if entities:
        fields["caption_entities"] = entities
    return fields


def text_fields(text: str, entities: list[JSON]) -> JSON:
    return {"text": text, "entities": entities} if entities else {"text": text}


def reply_markup(params: Params) -> tuple[JSON | None, JSON | None]:
    """The ``reply_markup`` of a call as (inline keyboard, other keyboard), either None."""
    markup = params.get_json("reply_markup", "reply keyboard markup")
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return inline_keyboard(markup), None
    if "keyboard" in markup:
        return None, _reply_keyboard(markup)
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return None, markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def inline_keyboard(markup: JSON) -> JSON:
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            _check_inline_button(button)
    return {"inline_keyboard": rows}


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [key for key in button if key != "text"]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and (
        not isinstance(data, str) or not 0 < len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
    ):
        raise bad_request("BUTTON_DATA_INVALID")


def _reply_keyboard(markup: JSON) -> JSON:
    rows = markup.get("keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
        )
    normalized = []
    for row in rows:
        buttons = []
        for button in row:
            if isinstance(button, str):
                button = {"text": button}
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )
            buttons.append(button)
        normalized.append(buttons)
    return {**markup, "keyboard": normalized}


def replied_message(bot: BotState, chat: Chat, params: Params) -> JSON | None:
    """The message a new message replies to (reply_parameters or reply_to_message_id)."""
    reply = params.get_json("reply_parameters")
    if reply is None and params.get_int("reply_to_message_id") is not None:
        reply = {
            "message_id": params.get_int("reply_to_message_id"),
            "allow_sending_without_reply": params.get_bool("allow_sending_without_reply"),
        }
    if reply is None:
        return None
    if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
        raise bad_request("can't parse reply parameters JSON object")
    stored = chat.live_message(reply["message_id"])
    if stored is None:
        if reply.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    # Telegram nests only one level of replies.
    return {k: v for k, v in stored.message.items() if k != "reply_to_message"}


def send_bot_message(
    bot: BotState,
    chat: Chat,
    params: Params,
    content: JSON,
    *,
    inline: JSON | None = None,
    keyboard: JSON | None = None,
) -> JSON:
    """Store a new message from the bot in ``chat``, log it and return it.

    Flood limits are applied here, after every check of the request passed, so that a
    refused request does not use up the budget.
    """
    reply_to = replied_message(bot, chat, params)
    admit(bot, chat)
    message: JSON = {
        "message_id": chat.next_message_id(),
        "from": bot.user,
        "chat": chat.info,
        "date": now(),
        **content,
    }
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    if inline is not None:
        message["reply_markup"] = inline
    if params.get_bool("protect_content"):
        message["has_protected_content"] = True
    chat.messages[message["message_id"]] = StoredMessage(message, from_bot=True, keyboard=keyboard)
    bot.sent_messages += 1
    extra = {"keyboard": keyboard} if keyboard is not None else {}
    bot.record("message", chat.id, message=message, **extra)
    return message


def require(params: Params, name: str) -> None:
    if name not in params or params.get_raw(name) in (None, ""):
        raise bad_request(f"{name} is empty")


def editable_message(bot: BotState, params: Params) -> tuple[Chat, StoredMessage]:
    """The bot message an edit* call targets."""
    if params.get_str("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = writable_chat(bot, params)
    message_id = params.get_int("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    stored = chat.live_message(message_id)
    if stored is None:
        raise bad_request(MESSAGE_TO_EDIT_NOT_FOUND)
    if not stored.from_bot:
        raise bad_request("message can't be edited")
    return chat, stored


def apply_edit(bot: BotState, chat: Chat, stored: StoredMessage, changed: JSON) -> JSON:
    """Replace ``stored``'s message with ``changed`` (a full message), log it, return it.

    Raises Telegram's "message is not modified" when nothing differs.
    """
    unchanged = {k: v for k, v in stored.message.items() if k != "edit_date"}
    if {k: v for k, v in changed.items() if k != "edit_date"} == unchanged:
        raise bad_request(MESSAGE_NOT_MODIFIED)
    admit(bot, chat)
    message = {**changed, "edit_date": now()}
    stored.message = message
    bot.record("edit", chat.id, message=message)
    return message
