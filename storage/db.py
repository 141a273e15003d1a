"""The async engine and its sessions: a SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

# How long a SQLite writer of another process (the shell beside the bot) is waited for.
SQLITE_BUSY_TIMEOUT_MS = 60_000


_MARKS = "commit_marks"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _tune_sqlite(dbapi_connection, _record) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes a writer of
    # another process wait instead of failing; SQLite leaves foreign keys off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_immediate(connection) -> None:
    # A deferred transaction that reads and then writes fails at once with
    # "database is locked" when another writer got in between; taking the write
    # lock up front makes it wait its turn instead. It goes with the first statement.
    connection.connection.driver_connection.begin_with("BEGIN IMMEDIATE")


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        # Imported here: a PostgreSQL deployment has no need of sqlite3 and aiosqlite (1 MiB).
        from storage.sqlite_connection import one_trip_connector

        database = make_url(url).database or ":memory:"
        engine = create_async_engine(url, async_creator=lambda: one_trip_connector(database))
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    # No ping before each use (on asyncpg three round trips: begin, ";", rollback). A
    # connection the server dropped fails its update's first try, which invalidates the
    # pool's older connections, and the update is tried again on a fresh one.
    return create_async_engine(url, pool_size=10, max_overflow=10)


def mark_for_commit(session: AsyncSession, key: str) -> None:
    """Note on the session's transaction that its commit concerns ``key``'s listeners."""
    session.sync_session.info.setdefault(_MARKS, set()).add(key)


def _forget_marks(sync_session: Session) -> None:
    sync_session.info.pop(_MARKS, None)


class WriteTurns:
    """SQLite's one writer, taken in turn by this process's transactions.

    SQLite lets one transaction write at a time. Left to SQLite, waiting writers
    poll the lock with growing sleeps, unfairly, and give up after the busy
    timeout with "database is locked"; a storm of residents' presses starves
    some of them that long. Queued here, they wait in order and without limit,
    and SQLite only ever sees one writer of this process. (PostgreSQL locks rows,
    not the database, and needs no turns.)
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task | None = None

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._holder is not None and self._holder is asyncio.current_task():
            # Waiting for itself would hang the task for good: a programming error.
            raise RuntimeError("a second transaction opened while this task holds one")
        async with self._lock:
            self._holder = asyncio.current_task()
            try:
                yield
            finally:
                self._holder = None


class Database:
    """One engine and a session factory; ``async with db.session() as s`` commits on success.

    ``on_commit`` listeners hear of committed transactions that marked their
    session (``mark_for_commit(session, key)``): the outbox sender is woken by the commit
    that queued a message, not by each caller.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.turns = WriteTurns() if is_sqlite(url) else None
        session_class = type("DatabaseSession", (Session,), {})
        event.listen(session_class, "after_commit", self._committed)
        event.listen(session_class, "after_rollback", _forget_marks)
        self._sessions = async_sessionmaker(
            self.engine,
            class_=AsyncSession,
            sync_session_class=session_class,
            expire_on_commit=False,
        )
        self._listeners: dict[str, list[Callable[[], None]]] = {}

    def turn(self) -> contextlib.AbstractAsyncContextManager[None]:
        """This process's turn to write (SQLite), or no wait at all (PostgreSQL)."""
        return self.turns.turn() if self.turns else contextlib.nullcontext()

    def new_session(self) -> AsyncSession:
        """A session the caller begins, commits and closes itself, each time in its turn."""
        return self._sessions()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.turn(), self._sessions() as session, session.begin():
            yield session

    def on_commit(self, key: str, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each commit of a transaction marked with ``key``."""
        self._listeners.setdefault(key, []).append(listener)

    def _committed(self, sync_session: Session) -> None:
        for key in sync_session.info.pop(_MARKS, ()):
            for listener in self._listeners.get(key, ()):
                listener()

    async def dispose(self) -> None:
        await self.engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (relative to the working folder), None for PostgreSQL
    and for a database in memory."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    return Path(database).absolute() if database and database != ":memory:" else None


class FileChanges:
    """Whether anyone committed to a SQLite database since the last look, told by its files.

    A commit writes the write-ahead log, so the log's size or time of change moves: a
    look costs a stat, microseconds, where asking the database costs milliseconds. (Two
    commits within one tick of the file clock, the log rewound to the same size between
    them, would look like none: the caller looks in the database now and then anyway.)
    """

    def __init__(self, database: Path) -> None:
        self.files = (database, database.with_name(f"{database.name}-wal"))
        self._seen = self._stamps()

    def changed(self) -> bool:
        stamps = self._stamps()
        changed, self._seen = stamps != self._seen, stamps
        return changed

    def _stamps(self) -> tuple[tuple[int, int] | None, ...]:
        stamps: list[tuple[int, int] | None] = []
        for file in self.files:
            try:
                status = file.stat()
            except OSError:  # no log (the last connection to close takes it away), or unreadable
                stamps.append(None)
            else:
                stamps.append((status.st_mtime_ns, status.st_size))
        return tuple(stamps)
