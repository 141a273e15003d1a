"""Keys of the city systems (a 12345 hotline) that file repair requests over Open311.

A key exists in clear only once, when it is made and printed; the database
keeps its SHA-256, so a copy of the database opens nothing. A key may be
limited to some communities. Revoking keeps the row, so the audit trail can
still name who filed what; a new key for a revoked name takes its row again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.audit import Actor, record
from bot.flows.registry import RegistryError, community_named
from storage.models import ApiKey, ApiKeyCommunity, Community
from storage.types import utcnow

KEY_BYTES = 32


@dataclass(frozen=True)
class Caller:
    """The city system a valid key belongs to, and where it may file requests."""

    key_id: int
    name: str
    community_ids: frozenset[int]  # empty: every community

    def may_file_for(self, community_id: int) -> bool:
        return not self.community_ids or community_id in self.community_ids


@dataclass(frozen=True)
class KeyListing:
    name: str
    communities: list[str]  # empty: every community
    created_at: datetime
    revoked: bool


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def _named(session: AsyncSession, name: str) -> ApiKey | None:
    return (await session.exec(select(ApiKey).where(ApiKey.name == name))).first()


async def add(session: AsyncSession, name: str, communities: list[str], actor: Actor) -> str:
    """A new key for the city system ``name``, returned in clear (and never again)."""
    name = name.strip()
    if not 0 < len(name) <= 100:
        raise RegistryError("a key's name is 1 to 100 characters")
    found = [await community_named(session, community) for community in communities]
    key = secrets.token_urlsafe(KEY_BYTES)
    row = await _named(session, name)
    if row is not None and row.revoked_at is None:
        raise RegistryError("{name!r} already has a key: revoke it first", name=name)
    if row is None:
        row = ApiKey(name=name, key_hash=_digest(key))
        session.add(row)
    else:
        row.key_hash, row.revoked_at, row.created_at = _digest(key), None, utcnow()
    await session.flush()
    assert row.id is not None  # flushed
    await session.exec(delete(ApiKeyCommunity).where(col(ApiKeyCommunity.api_key_id) == row.id))
    session.add_all(
        ApiKeyCommunity(api_key_id=row.id, community_id=community_id)
        for community_id in {c.id for c in found if c.id is not None}
    )
    record(session, actor, "apikey/add", f"apikey:{row.id}", name=name, communities=communities)
    return key


async def revoke(session: AsyncSession, name: str, actor: Actor) -> None:
    row = await _named(session, name)
    if row is None or row.revoked_at is not None:
        raise RegistryError("no key in use named {name!r}", name=name)
    row.revoked_at = utcnow()
    record(session, actor, "apikey/revoke", f"apikey:{row.id}", name=name)


async def listing(session: AsyncSession) -> list[KeyListing]:
    keys = list(await session.exec(select(ApiKey).order_by(col(ApiKey.name))))
    served = await session.exec(
        select(ApiKeyCommunity.api_key_id, Community.name)
        .join(Community, col(Community.id) == ApiKeyCommunity.community_id)
        .order_by(col(Community.name))
    )
    names: dict[int | None, list[str]] = {}
    for key_id, community in served:
        names.setdefault(key_id, []).append(community)
    return [
        KeyListing(key.name, names.get(key.id, []), key.created_at, key.revoked_at is not None)
        for key in keys
    ]


async def caller_of(session: AsyncSession, key: str) -> Caller | None:
    """Whose key this is, if it is one in use; None for anything else."""
    digest = _digest(key)
    row = (
        await session.exec(
            select(ApiKey).where(ApiKey.key_hash == digest, col(ApiKey.revoked_at).is_(None))
        )
    ).first()
    # Found by its digest; compared in constant time too, so no timing tells how close.
    if row is None or row.id is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    communities = await session.exec(
        select(ApiKeyCommunity.community_id).where(ApiKeyCommunity.api_key_id == row.id)
    )
    return Caller(row.id, row.name, frozenset(communities))
