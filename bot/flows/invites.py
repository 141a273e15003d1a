"""Invite codes: how a household's residents prove where they live.

A code is 13 characters of Crockford's base32 (65 random bits), printed in
groups as ``7KQ2-M9XD-4HTRW``. The alphabet has no I, L, O or U, and typing
reads I and L as 1 and O as 0, so nothing on a slip can be misread. Only a
SHA-256 hash is stored: a leaked database reveals no code, and with 65 random
bits there is nothing to guess backwards from the hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.audit import Actor, record
from bot.flows.registry import Address, RegistryError, addresses_in
from storage.models import InviteCode
from storage.types import utcnow

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 13
_MISREAD = str.maketrans({"I": "1", "L": "1", "O": "0"})
_SEPARATORS = str.maketrans("", "", " -_\u3000")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def grouped(code: str) -> str:
    """A code as printed on a slip: 4-4-5 characters."""
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def normalise(text: str) -> str | None:
    """The code a person typed, in canonical form; None if it cannot be one of ours."""
    code = text.translate(_SEPARATORS).upper().translate(_MISREAD)
    if len(code) != CODE_LENGTH or any(char not in ALPHABET for char in code):
        return None
    return code


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class Slip:
    """One household's printed invitation."""

    address: Address
    code: str


async def revoke(session: AsyncSession, household_ids: list[int], actor: Actor) -> int:
    """Revoke the households' active codes; returns how many were revoked."""
    result = await session.exec(
        update(InviteCode)
        .where(col(InviteCode.household_id).in_(household_ids))
        .where(col(InviteCode.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount:
        record(
            session,
            actor,
            "invites/revoke",
            f"households:{len(household_ids)}",
            revoked=result.rowcount,
        )
    return result.rowcount


def household_key(address: Address) -> str:
    """How an operator names a household on the command line: building-unit-room."""
    return f"{address.building}-{address.unit}-{address.room}"


async def households_named(
    session: AsyncSession, community_id: int, keys: list[str] | None
) -> list[Address]:
    """The community's households, or only those ``keys`` name (building-unit-room, the
    unit empty where there is none: ``5--101``); an unknown one is refused by name."""
    addresses = await addresses_in(session, community_id)
    if keys is None:
        return addresses
    by_key = {household_key(a): a for a in addresses}
    unknown = [key for key in keys if key not in by_key]
    if unknown:
        raise RegistryError(
            "no household {typed!r} in this community (building-unit-room)", typed=unknown[0]
        )
    return [by_key[key] for key in dict.fromkeys(keys)]


async def issue_for_community(
    session: AsyncSession,
    community_id: int,
    actor: Actor,
    *,
    only_missing: bool = False,
    households: list[str] | None = None,
) -> list[Slip]:
    """Fresh codes for a community's households (or those named), replacing their earlier ones.

    The codes exist in clear only in the returned slips. With ``only_missing``
    households that still have an active code are skipped and keep it.
    """
    addresses = await households_named(session, community_id, households)
    if only_missing:
        active = set(
            await session.exec(
                select(InviteCode.household_id).where(col(InviteCode.revoked_at).is_(None))
            )
        )
        addresses = [a for a in addresses if a.household_id not in active]
    household_ids = [address.household_id for address in addresses]
    await revoke(session, household_ids, actor)
    slips = [Slip(address, new_code()) for address in addresses]
    if slips:
        now = utcnow()
        await session.exec(
            insert(InviteCode),
            params=[
                {
                    "household_id": s.address.household_id,
                    "code_hash": code_hash(s.code),
                    "created_at": now,
                }
                for s in slips
            ],
        )
    record(session, actor, "invites/issue", f"community:{community_id}", issued=len(slips))
    return slips


async def household_of_code(session: AsyncSession, code: str) -> tuple[int, bool] | None:
    """The household a code belongs to and whether it is still active; None if unknown."""
    invite = (
        await session.exec(select(InviteCode).where(InviteCode.code_hash == code_hash(code)))
    ).first()
    if invite is None:
        return None
    return invite.household_id, invite.revoked_at is None
