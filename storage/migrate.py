"""Bring a database to the newest schema with Alembic: ``linli db upgrade``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from storage.db import create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_VERSIONS = "alembic_version"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Passed as an attribute, not an option: option values go through
    # ConfigParser interpolation, which a password containing "%" would break.
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def newest_revision() -> str:
    """The head, by the migrations' file names: "0010_a_chats_queue_in_order.py" is revision
    "0010" (tests/test_migrations.py checks that this is Alembic's head)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("*_*.py"))


async def _current_revision(url: str) -> str | None:
    """The database's revision, None for one without linli's tables; connecting may fail
    (OSError, SQLAlchemy's DBAPIError), and that is the caller's to tell."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            if not await connection.run_sync(lambda sync: inspect(sync).has_table(_VERSIONS)):
                return None
            return await connection.scalar(text(f"SELECT version_num FROM {_VERSIONS}"))
    finally:
        await engine.dispose()


def current_revision(url: str) -> str | None:
    return asyncio.run(_current_revision(url))


def upgrade_if_behind(url: str) -> None:
    """``upgrade``, unless the database is at the newest schema already, as it is on most
    starts: then Alembic, 6 MiB that the bot would keep, is not even imported."""
    if current_revision(url) != newest_revision():
        upgrade(url)
