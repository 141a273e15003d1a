"""Test helpers that fill the registry the way staff do: by importing files."""

from __future__ import annotations

from pathlib import Path

from bot.flows import importing, invites, registry
from bot.flows.audit import CLI
from storage.db import Database

DATA = Path(__file__).parent / "data"


async def import_sample_registry(db: Database) -> None:
    """Three communities (1995 and 1998 without a fund, 2008 with one), 17 households."""
    async with db.session() as session:
        await importing.import_communities(session, DATA / "communities.csv", CLI)
    async with db.session() as session:
        await importing.import_households(session, DATA / "households.csv", CLI)


async def issue_codes(db: Database, community: str) -> dict[str, str]:
    """Fresh invite codes of a community, by "building-unit-room"."""
    async with db.session() as session:
        found = await registry.community_named(session, community)
        slips = await invites.issue_for_community(session, found.id, CLI)
    return {
        f"{slip.address.building}-{slip.address.unit}-{slip.address.room}": slip.code
        for slip in slips
    }
