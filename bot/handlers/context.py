"""The callback context every handler receives: the database, the settings, the user's language."""

from __future__ import annotations

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.flows.audit import Actor
from bot.i18n import text
from storage.db import Database
from storage.models import Dialogue


class LinliContext(CallbackContext[ExtBot, dict, dict, dict]):
    """PTB's context plus what linli handlers need.

    One context object serves all handler groups of an update, so the
    ``language``, ``actor`` and ``dialogue`` set by the first group are seen by
    the rest.
    """

    def __init__(self, application: Application, chat_id=None, user_id=None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.language: str = application.bot_data["settings"].default_language
        self.actor: Actor = Actor()
        # The sender's open dialogue when a message arrived, for routing it.
        self.dialogue: Dialogue | None = None

    @property
    def db(self) -> Database:
        return self.application.bot_data["db"]

    @property
    def settings(self) -> Settings:
        return self.application.bot_data["settings"]

    def t(self, key: str, /, **values: object) -> str:
        """The message ``key`` in this user's language."""
        return text(self.language, key, **values)
