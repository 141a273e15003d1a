"""SQLite through one-trip connections: what SQLAlchemy reads back, and IMMEDIATE begins."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from storage.db import Database, is_sqlite, sqlite_file
from storage.models import Community, User


@pytest.fixture
def sqlite_db(db: Database) -> Database:
    if not is_sqlite(db.url):
        pytest.skip("SQLite's own connections")
    return db


async def test_new_ids_row_counts_and_rows_come_back(sqlite_db: Database):
    async with sqlite_db.session() as session:
        first, second = Community(name="运南新村"), Community(name="南溪小区")
        session.add_all([first, second])
        await session.flush()
        assert first.id is not None and second.id == first.id + 1
        session.add_all([User(telegram_id=n, first_name=f"居民{n}") for n in (1, 2, 3)])
    async with sqlite_db.session() as session:
        moved = await session.exec(
            update(User).where(col(User.telegram_id) >= 2).values(language="en")
        )
        assert moved.rowcount == 2
        names = list(await session.exec(select(User.first_name).order_by(col(User.telegram_id))))
        assert names == ["居民1", "居民2", "居民3"]
        assert (await session.exec(select(User).where(User.telegram_id == 9))).first() is None


async def test_a_transaction_that_reads_first_holds_the_write_lock(sqlite_db: Database):
    """Every transaction begins IMMEDIATE (with its first statement), so one that reads and
    then writes never meets another writer in between and fails "database is locked"."""
    path = sqlite_file(sqlite_db.url)
    assert path is not None
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        async with sqlite_db.session() as session:
            await session.exec(select(User))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free once the first has committed
        other.execute("ROLLBACK")
    finally:
        other.close()
