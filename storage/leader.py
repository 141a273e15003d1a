"""Which process runs the schedule: the holder of a PostgreSQL advisory lock.

Several bot processes may share one PostgreSQL database; only one of them
must close consultations and send reminders. The lock lives as long as the
leader's connection, so when the leader dies another process takes over at
its next try. SQLite serves one process, which always leads.

The leader's connection also LISTENs for what the others tell it (``listen``):
work it should do now rather than at its next look.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database, is_sqlite

LOCK_KEY = 0x6C696E6C69  # "linli"


class Leadership:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: AsyncConnection | None = None
        self._lost = False  # the server closed the leader's connection
        self._listeners: dict[str, Callable[[], None]] = {}
        self._callbacks: dict[str, Callable[..., None]] = {}
        # The sweep, the outbox's watch and its lanes ask at once when the process starts: one
        # tries, the others hear its answer rather than lose to their own process's lock.
        self._trying = asyncio.Lock()

    def listen(self, channel: str, listener: Callable[[], None]) -> None:
        """Call ``listener`` on each NOTIFY on ``channel`` while this process leads; also
        when it becomes leader and when it loses the connection, since what is said while
        nobody listens is not heard."""
        self._listeners[channel] = listener

    async def held(self) -> bool:
        """True if this process leads, trying to become leader if it does not yet."""
        if is_sqlite(self.db.url):
            return True
        async with self._trying:
            return await self._hold()

    async def _hold(self) -> bool:
        if self._connection is not None:
            if not self._lost:
                return True
            await self._let_go()  # the lock went with the connection
        connection = await self.db.engine.connect()
        try:
            acquired = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            )
            await connection.commit()
            if acquired:
                await self._subscribe(connection)
        except BaseException:
            # Half taken: the lock or a LISTEN may be on it. Closed for good, it keeps neither.
            self._callbacks = {}
            await connection.invalidate()
            await connection.close()
            raise
        if not acquired:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def _subscribe(self, connection: AsyncConnection) -> None:
        self._lost = False
        driver = await self._driver(connection)
        # asyncpg sees a closed socket at once; SQLAlchemy would learn of it at the next use.
        driver.add_termination_listener(self._on_lost)
        for channel, listener in self._listeners.items():
            self._callbacks[channel] = lambda *_, heard=listener: heard()
            await driver.add_listener(channel, self._callbacks[channel])
            listener()

    def _on_lost(self, _driver) -> None:
        """The server closed the connection (a restart, say): the lock and the channels are
        gone, and another process may lead now. The listeners hear of it, so that they try
        again at once rather than miss what is said while nobody listens."""
        self._lost = True
        for listener in self._listeners.values():
            listener()

    @staticmethod
    async def _driver(connection: AsyncConnection):
        return (await connection.get_raw_connection()).driver_connection

    async def release(self) -> None:
        """Let go of the lock and the channels, and of the connection: back to the pool if
        it is sound, closed for good if it was lost or letting go failed."""
        async with self._trying:
            await self._release()

    async def _release(self) -> None:
        connection = self._connection
        try:
            if connection is not None and not self._lost:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                driver = await self._driver(connection)
                driver.remove_termination_listener(self._on_lost)
                for channel, callback in self._callbacks.items():
                    await driver.remove_listener(channel, callback)
        except Exception as error:
            self._lost = True  # whatever it still holds goes when it is closed
            if not (isinstance(error, DBAPIError) and error.connection_invalidated):
                raise  # a dropped connection took the lock with it; anything else is news
        finally:
            await self._let_go()

    async def _let_go(self) -> None:
        connection, self._connection = self._connection, None
        self._callbacks = {}
        if connection is None:
            return
        if self._lost:
            await connection.invalidate()  # not back into the pool
        await connection.close()
