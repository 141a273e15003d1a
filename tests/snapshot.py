"""Every row of every table, to show that an update changed nothing.

The gate's bookkeeping is left out: each update is recorded as processed and
its sender's user row is created or refreshed, whether or not it was valid.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import SQLModel

from storage.db import Database
from storage.models import GroupChat, ProcessedUpdate, User

BOOKKEEPING = frozenset(model.__tablename__ for model in (ProcessedUpdate, User, GroupChat))


async def snapshot(db: Database, *, leave_out: frozenset[str] = frozenset()) -> dict[str, list]:
    """Table name -> its rows in primary-key order, bookkeeping and ``leave_out`` excepted."""
    tables = {}
    async with db.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in BOOKKEEPING | leave_out:
                continue
            statement = select(table).order_by(*table.primary_key.columns)
            tables[table.name] = [tuple(row) for row in await connection.execute(statement)]
    return tables
