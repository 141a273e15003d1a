"""One update, one unit of work: one session, and a transaction that commits before replies.

The gate claims the update (the redelivery guard) and reads its principal in
the unit's transaction; the feature's writes join it. It commits when the
feature's step ends, or just before the bot's first request on the update's
behalf, whichever comes first, so a reply never announces what was not
stored. A failure before that commit rolls the claim back with the feature's
writes, and the update can be handled again.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.refusal import Refusal
from storage.db import Database

_current: ContextVar[UnitOfWork | None] = ContextVar("unit_of_work", default=None)


def current() -> UnitOfWork | None:
    """The unit of work of the update this task is handling, if any."""
    return _current.get()


class UnitOfWork:
    """The session of one try at one update."""

    def __init__(self, db: Database, *, attempt: int = 1, tries: int = 1) -> None:
        self.db = db
        self.attempt, self.tries = attempt, tries
        self.failure: BaseException | None = None
        self.committed = False  # something of this try is stored: trying again would repeat it
        # The handlers' context of the update (its user's language and principal), for the
        # error handler, which PTB gives a fresh one.
        self.context: Any = None
        # What the gate stored of the update (its claim, the user's row), to store again
        # when a refusal rolls back the transaction that held it.
        self.claim: Callable[[AsyncSession], Awaitable[object]] | None = None
        self._session: AsyncSession | None = None
        self._turn: contextlib.AbstractAsyncContextManager | None = None

    @property
    def may_try_again(self) -> bool:
        return self.attempt < self.tries and not self.committed

    async def session(self) -> AsyncSession:
        """The unit's session, in a transaction begun in this process's turn to write."""
        if self._session is None:
            self._session = self.db.new_session()
        if self._turn is None:
            turn = self.db.turn()
            await turn.__aenter__()
            self._turn = turn
        return self._session

    @asynccontextmanager
    async def step(self) -> AsyncIterator[AsyncSession]:
        """A feature's work, committed at the end. A refusal undoes the step's writes and
        keeps the update's claim; any other failure rolls back the claim too.

        No savepoint guards the step: that would be two more statements on every update
        that writes. A refusal rolls the whole transaction back instead and, when the
        claim was in it, stores the claim again.
        """
        session = await self.session()
        try:
            yield session
        except Refusal:
            await self.rollback()
            await self._keep_claim()
            raise
        except BaseException:
            await self.rollback()
            raise
        await self.commit()

    async def _keep_claim(self) -> None:
        if self.claim is None or self.committed:
            return
        await self.claim(await self.session())
        await self.commit()

    async def commit(self) -> None:
        """Store what is pending (before a reply goes out, or when a step ends)."""
        session = self._session
        try:
            if session is not None and session.in_transaction():
                await session.commit()
                self.committed = True
        finally:
            await self._end_turn()

    async def rollback(self) -> None:
        try:
            if self._session is not None and self._session.in_transaction():
                await self._session.rollback()
        finally:
            await self._end_turn()

    async def close(self) -> None:
        """End the try: commit what is pending unless it failed, and free the session."""
        try:
            if self.failure is None:
                await self.commit()
            else:
                await self.rollback()
        finally:
            if self._session is not None:
                await self._session.close()

    async def _end_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            await turn.__aexit__(None, None, None)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[UnitOfWork]:
        """Make this the current unit of work of the task for the duration."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)
            await self.close()
