"""The migrations build exactly the schema the models describe, and can be undone."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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


def test_the_newest_revision_by_file_name_is_alembics_head():
    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert migrate.newest_revision() == scripts.get_current_head()


def test_upgrade_if_behind_migrates_a_new_database_and_one_a_revision_behind(
    empty_database_url,
):
    migrate.upgrade_if_behind(empty_database_url)
    assert schema_differences(empty_database_url) == []
    migrate.downgrade(empty_database_url, "-1")
    migrate.upgrade_if_behind(empty_database_url)
    assert schema_differences(empty_database_url) == []


def test_downgrade_to_base_and_up_again(empty_database_url):
    migrate.upgrade(empty_database_url)
    migrate.downgrade(empty_database_url, "base")
    assert table_names(empty_database_url) <= {"alembic_version"}
    migrate.upgrade(empty_database_url)
    assert schema_differences(empty_database_url) == []


def revisions() -> list[str]:
    """Every revision, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config(""))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def schema(url: str) -> dict[str, tuple]:
    """Each table's columns (name, type, nullable), indexes, unique and foreign keys."""

    def describe(sync) -> dict[str, tuple]:
        from sqlalchemy import inspect

        inspector = inspect(sync)
        return {
            name: (
                tuple(
                    (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)
                ),
                sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(name)),
                sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)),
                sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"])
                    for f in inspector.get_foreign_keys(name)
                ),
            )
            for name in inspector.get_table_names()
        }

    async def run() -> dict[str, tuple]:
        engine = create_engine(url)
        async with engine.connect() as connection:
            found = await connection.run_sync(describe)
        await engine.dispose()
        return found

    return asyncio.run(run())


def test_every_revision_upgrades_to_head_and_downgrades_back(empty_database_url):
    """From each revision: up to the newest schema, down again to exactly that revision's
    schema, and down to nothing; then one step at a time from the newest back to base."""
    steps = revisions()
    assert len(steps) >= 2
    at = {}
    for revision in steps:
        migrate.upgrade(empty_database_url, revision)
        at[revision] = schema(empty_database_url)
    migrate.downgrade(empty_database_url, "base")

    for revision in steps:
        migrate.upgrade(empty_database_url, revision)
        migrate.upgrade(empty_database_url)
        assert schema_differences(empty_database_url) == [], revision
        migrate.downgrade(empty_database_url, revision)
        assert schema(empty_database_url) == at[revision], revision
        migrate.downgrade(empty_database_url, "base")
        assert table_names(empty_database_url) <= {"alembic_version"}, revision

    migrate.upgrade(empty_database_url)
    for index in range(len(steps) - 1, 0, -1):
        migrate.downgrade(empty_database_url, "-1")
        assert schema(empty_database_url) == at[steps[index - 1]], steps[index]
