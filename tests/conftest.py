"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when asked) and a registry.

Set ``LINLI_TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/NAME``
to run the whole suite on PostgreSQL; the database is created if missing. Under
pytest-xdist (``-n``) each worker has a database of its own, NAME_gw0, NAME_gw1...,
made afresh for the run and dropped after it (on SQLite, a file in the worker's tmp).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, event, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from bot.config import Settings
from storage import migrate
from storage.db import Database, is_sqlite

TEST_DATABASE_ENV = "LINLI_TEST_DATABASE_URL"


def _on_postgres_server(url: URL, *statements: str) -> None:
    """Run ``statements`` in the server's own ``postgres`` database, one by one."""

    async def run() -> None:
        engine = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run())


def _ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in ``url`` if it does not exist yet."""
    target = make_url(url)

    async def create() -> None:
        engine = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{target.database}"'))
        await engine.dispose()

    asyncio.run(create())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest -n the long tests (fuzz shards, then the slow ones) go first, so that
    no worker is left with one of them at the end while the others stand idle."""
    if getattr(config.option, "numprocesses", None):
        items.sort(
            key=lambda item: (
                not item.get_closest_marker("fuzz"),
                not item.get_closest_marker("slow"),
            )
        )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get(TEST_DATABASE_ENV)
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1... under pytest -n
    if url and worker:
        own = make_url(url)
        own = own.set(database=f"{own.database}_{worker}")
        drop = f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'
        _on_postgres_server(own, drop, f'CREATE DATABASE "{own.database}"')
        url = own.render_as_string(hide_password=False)
        migrate.upgrade(url)
        yield url
        _on_postgres_server(own, drop)
        return
    if url:
        _ensure_postgres_database(url)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'linli.db'}"
    migrate.upgrade(url)
    yield url


def _patient_sqlite(dbapi_connection, _record) -> None:
    # The test's own transactions wait for the write lock as long as its other waits do:
    # a bot process busy writing on a loaded machine is no failure of the test.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


async def _empty_all_tables(db: Database) -> None:
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    async with db.engine.begin() as connection:
        if is_sqlite(db.url):
            for table in tables:
                await connection.execute(table.delete())
        else:
            names = ", ".join(f'"{table.name}"' for table in tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The test database, emptied before each test."""
    database = Database(database_url)
    if is_sqlite(database_url):
        event.listen(database.engine.sync_engine, "connect", _patient_sqlite)
    await _empty_all_tables(database)
    yield database
    await database.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        telegram={"token": "123456:TEST-TOKEN", "bot_username": "linli_test_bot"},
        database={"url": database_url},
    )


@pytest.fixture
def data_dir() -> Path:
    return Path(__file__).parent / "data"
