"""The callback context every handler receives: the database, the settings, the user's language."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CallbackQuery
from telegram.ext import Application, CallbackContext

from bot import unit_of_work
from bot.config import Settings
from bot.flows.audit import Actor
from bot.flows.callback_data import CallbackData
from bot.flows.people import Principal
from bot.i18n import text
from bot.requests import LinliBot
from bot.unit_of_work import UnitOfWork
from storage.db import Database
from storage.models import Dialogue


class LinliContext(CallbackContext[LinliBot, dict, dict, dict]):
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
        self._principal: Principal | None = None
        self._query: CallbackQuery | None = None
        # The pressed button, unpacked by its ButtonHandler.
        self.button: CallbackData | None = None

    @property
    def principal(self) -> Principal:
        """Who the update comes from, as the gate found them."""
        if self._principal is None:
            raise RuntimeError("an update from nobody reached a feature")
        return self._principal

    @principal.setter
    def principal(self, principal: Principal) -> None:
        self._principal = principal

    @property
    def query(self) -> CallbackQuery:
        """The pressed button's query, in a ButtonHandler's callback."""
        if self._query is None:
            raise RuntimeError("no button was pressed")
        return self._query

    @query.setter
    def query(self, query: CallbackQuery) -> None:
        self._query = query

    @property
    def db(self) -> Database:
        return self.application.bot_data["db"]

    @property
    def work(self) -> UnitOfWork:
        """The unit of work of the update being handled."""
        work = unit_of_work.current()
        if work is None:
            raise RuntimeError("an update handled outside its unit of work")
        return work

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """The update's session for a step of its feature: committed when the step ends,
        rolled back (with the update's claim) when it fails."""
        return self.work.step()

    @property
    def settings(self) -> Settings:
        return self.application.bot_data["settings"]

    def t(self, key: str, /, **values: object) -> str:
        """The message ``key`` in this user's language."""
        return text(self.language, key, **values)
