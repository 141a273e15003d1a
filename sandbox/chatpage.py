"""The chat page: a browser client, Telegram-like, for the people of one bot of the sandbox.

A trainer or a visitor without Telegram plays residents and staff in it. The page
(``static/``, plain HTML, CSS and JavaScript) talks to the routes here, under ``/chat/api``:
the control API bound to the one bot the page serves, so the page never holds its token,
and the personas the page can be. Personas come from a roster given at start (the demo's
seeded residents and staff, and invite codes to try) or are made in the page; each is a
Telegram user chatting with the bot in a private chat of its own id.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from .control import ControlApi, _body, _invalid, _not_found, _ok, chat_history
from .state import JSON, BotState, SandboxState

STATIC = Path(__file__).parent / "static"
FIRST_NEW_PERSONA_ID = 7_100_000_001
MAX_NAME_LENGTH = 64
LANGUAGES = ("zh-hans", "en")


@dataclass
class Roster:
    """Who the page offers: personas (user JSON plus "role" and "note") and invite slips;
    and others who started the bot earlier but whom the page does not play."""

    personas: list[JSON] = field(default_factory=list)
    invites: list[JSON] = field(default_factory=list)
    others: list[JSON] = field(default_factory=list)


class ChatPage(ControlApi):
    """The page and its API, for the bot with ``token``."""

    def __init__(self, state: SandboxState, token: str, roster: Roster):
        super().__init__(state)
        self.token = token
        self.invites = roster.invites
        self.personas: dict[int, JSON] = {p["id"]: p for p in roster.personas}
        self._new_ids = itertools.count(FIRST_NEW_PERSONA_ID)
        for persona in roster.personas:
            self.bot.remember_user(_as_user(persona))
        for other in roster.others:
            self.bot.remember_user({"id": other["id"], "is_bot": False, **other})

    @property
    def bot(self) -> BotState:
        return self.state.bot(self.token)

    def _bot(self, request: web.Request) -> BotState:
        return self.bot

    def routes(self) -> list[web.RouteDef]:
        handlers = [
            ("GET", "/about", self.about),
            ("GET", "/personas", self.list_personas),
            ("POST", "/personas", self.new_persona),
            ("GET", "/personas/{persona}/messages", self.messages),
            ("POST", "/personas/{persona}/send", self.persona_sends),
            ("POST", "/personas/{persona}/press", self.persona_presses),
            ("GET", "/stream", self.stream),
            ("GET", "/files/{file_id}", self.file),
        ]
        routes = [web.route(v, "/chat/api" + path, self._wrap(fn)) for v, path, fn in handlers]
        return [
            web.get("/", self.page),
            web.get("/chat", self.page),
            *routes,
            web.static("/chat/static", STATIC),
        ]

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "chat.html")

    async def about(self, request: web.Request) -> web.Response:
        bot = self.bot
        return _ok(
            {
                "bot": {"username": bot.user["username"], "first_name": bot.user["first_name"]},
                "max_upload_bytes": self.state.max_upload_bytes,
                "invites": self.invites,
                # A page streams events after this one, so what happened before it opened
                # is history (loaded with a chat), not news.
                "last_seq": bot.events[-1]["seq"] if bot.events else 0,
            }
        )

    async def list_personas(self, request: web.Request) -> web.Response:
        return _ok(list(self.personas.values()))

    async def new_persona(self, request: web.Request) -> web.Response:
        """A new person, unbound: ``{"first_name": ..., "language_code": "zh-hans"|"en"}``."""
        body = await _body(request)
        name = body.get("first_name")
        if not isinstance(name, str) or not name.strip():
            raise _invalid("a persona needs a name (first_name)")
        if len(name) > MAX_NAME_LENGTH:
            raise _invalid(f"a name has at most {MAX_NAME_LENGTH} characters")
        language = body.get("language_code", LANGUAGES[0])
        if language not in LANGUAGES:
            raise _invalid("language_code is zh-hans or en")
        persona = {
            "id": next(self._new_ids),
            "first_name": name.strip(),
            "language_code": language,
            "role": "new",
            "note": "",
        }
        self.personas[persona["id"]] = persona
        self.bot.remember_user(_as_user(persona))
        self.bot.record("persona", persona["id"], persona=persona)  # for the other open pages
        return _ok(persona)

    def _persona(self, request: web.Request) -> JSON:
        raw = request.match_info["persona"]
        persona = self.personas.get(int(raw)) if raw.isdigit() else None
        if persona is None:
            raise _not_found(f"no persona {raw!r}: pick one of the list or make a new one")
        return persona

    async def messages(self, request: web.Request) -> web.Response:
        chat = self.bot.chats.get(self._persona(request)["id"])
        return _ok(chat_history(chat) if chat is not None else [])

    async def persona_sends(self, request: web.Request) -> web.Response:
        """The persona sends text, a photo, a document or a location to the bot."""
        persona, body = self._persona(request), await _body(request)
        return _ok(self.user_sends(self.bot, _from(persona, body)))

    async def persona_presses(self, request: web.Request) -> web.Response:
        """The persona presses an inline button: ``{"message_id": ..., "data": ...}``."""
        persona, body = self._persona(request), await _body(request)
        return _ok(self.user_presses(self.bot, _from(persona, body)))


def _as_user(persona: JSON) -> JSON:
    return {
        "id": persona["id"],
        "is_bot": False,
        "first_name": persona["first_name"],
        "language_code": persona["language_code"],
    }


def _from(persona: JSON, body: JSON) -> dict[str, Any]:
    """The request as the persona's, whatever it said about its sender."""
    return {**body, "from": _as_user(persona), "chat": None, "chat_id": persona["id"]}
