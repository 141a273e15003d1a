"""INSERT ... ON CONFLICT DO NOTHING on either database."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


async def insert_if_absent(session: AsyncSession, table: type[SQLModel], **values: Any) -> bool:
    """Insert one row unless a row with the same key exists; True if it was inserted."""
    # Build the model first so that its Python-side defaults (timestamps) apply.
    row = {key: value for key, value in table(**values).model_dump().items() if value is not None}
    dialect = session.bind.dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(table).values(**row).on_conflict_do_nothing()
    result = await session.exec(statement)
    return result.rowcount == 1
