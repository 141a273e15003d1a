"""aiosqlite connections whose statements make one trip to the database thread, not four.

aiosqlite runs SQLite in a thread of its own and hands it every call: SQLAlchemy's
adapter opens a cursor, executes, fetches and closes, and each is a trip through a
queue to that thread and back through the event loop. On the bot's hot path (an
update's claim and principal, a few statements each) those trips cost more than the
statements. Here a cursor does all four in one function on the thread and keeps the
rows; SQLAlchemy's aiosqlite dialect drives it unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from functools import partial
from typing import Any

import aiosqlite
from aiosqlite.context import contextmanager

# A cursor's state after a statement: description, rowcount, lastrowid, the rows.
_Outcome = tuple[Any, int, int | None, list[Any]]


def _run(
    connection: sqlite3.Connection, sql: str, parameters: Any, many: bool, begin: str | None
) -> _Outcome:
    """One statement, start to finish, on the database thread; ``begin`` first if given."""
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor:
    """The part of aiosqlite's cursor that SQLAlchemy uses, a statement a trip."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = ()) -> OneTripCursor:
        return await self._trip(sql, parameters, many=False)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> OneTripCursor:
        return await self._trip(sql, list(parameters), many=True)

    async def _trip(self, sql: str, parameters: Any, *, many: bool) -> OneTripCursor:
        outcome = await self._connection.run(sql, parameters, many)
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def close(self) -> None:
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection handing out one-trip cursors.

    A transaction's ``BEGIN`` is sent with its first statement (``begin_with``), and
    a commit or rollback with nothing to end makes no trip: the pool rolls back every
    connection given back to it, mostly just after a commit.
    """

    _begin: str | None = None

    @contextmanager
    async def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    def begin_with(self, statement: str) -> None:
        """Begin the next transaction with ``statement``, in the trip of its first one."""
        self._begin = statement

    async def run(self, sql: str, parameters: Any, many: bool) -> _Outcome:
        begin, self._begin = self._begin, None
        return await self._execute(_run, self._conn, sql, parameters, many, begin)

    async def commit(self) -> None:
        self._begin = None
        if self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        self._begin = None
        if self._conn.in_transaction:
            await super().rollback()


def one_trip_connector(database: str) -> OneTripConnection:
    """A connection to the SQLite file ``database``, for ``async_creator``; its thread
    does not keep the process alive, as with SQLAlchemy's own aiosqlite connections."""
    # No implicit transactions (isolation_level None): the engine begins each one itself.
    connect = partial(sqlite3.connect, database, check_same_thread=False, isolation_level=None)
    connection = OneTripConnection(connect, iter_chunk_size=64)
    connection._thread.daemon = True
    return connection
