"""Which process runs the schedule: the holder of a PostgreSQL advisory lock.

Several bot processes may share one PostgreSQL database; only one of them
must close consultations and send reminders. The lock lives as long as the
leader's connection, so when the leader dies another process takes over at
its next try. SQLite serves one process, which always leads.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database, is_sqlite

LOCK_KEY = 0x6C696E6C69  # "linli"


class Leadership:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._connection: AsyncConnection | None = None

    async def held(self) -> bool:
        """True if this process leads, trying to become leader if it does not yet."""
        if is_sqlite(self.db.url):
            return True
        if self._connection is not None:
            return True
        connection = await self.db.engine.connect()
        acquired = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
        )
        await connection.commit()
        if acquired:
            self._connection = connection
        else:
            await connection.close()
        return bool(acquired)

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # The connection goes back to the pool, so the lock must be let go explicitly.
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            # The server dropped the connection, and the lock went with it.
        finally:
            await connection.close()
