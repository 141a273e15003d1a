"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage import migrate
from storage.db import create_engine
from tests.conftest import TEST_DATABASE_ENV


@pytest.fixture
def empty_database_url(tmp_path):
    """A database of its own, on the engine the suite runs on."""
    base = os.environ.get(TEST_DATABASE_ENV)
    if not base:
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"linli_migrations_{uuid.uuid4().hex[:8]}"
    admin = make_url(base).set(database="postgres")

    async def run(statement: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    asyncio.run(run(f'DROP DATABASE "{name}" WITH (FORCE)'))


def schema_differences(url: str) -> list:
    async def compare() -> list:
        engine = create_engine(url)
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}),
                    SQLModel.metadata,
                )
            )
        await engine.dispose()
        return differences

    return asyncio.run(compare())


def table_names(url: str) -> set[str]:
    async def names() -> set[str]:
        engine = create_engine(url)
        async with engine.connect() as connection:
            found = await connection.run_sync(lambda sync: set(sync.dialect.get_table_names(sync)))
        await engine.dispose()
        return found

    return asyncio.run(names())


def test_upgrade_to_head_matches_the_models(empty_database_url):
    migrate.upgrade(empty_database_url)
    assert schema_differences(empty_database_url) == []


def test_downgrade_to_base_and_up_again(empty_database_url):
    migrate.upgrade(empty_database_url)
    migrate.downgrade(empty_database_url, "base")
    assert table_names(empty_database_url) <= {"alembic_version"}
    migrate.upgrade(empty_database_url)
    assert schema_differences(empty_database_url) == []
