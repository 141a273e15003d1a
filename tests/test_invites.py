"""Invite codes: unguessable, easy to type, stored only as hashes, revocable."""

from __future__ import annotations

import math

from sqlmodel import select

from bot.flows import invites
from bot.flows.audit import CLI
from bot.flows.registry import community_named
from storage.models import InviteCode
from tests.registry import import_sample_registry, issue_codes


def test_codes_carry_at_least_64_random_bits_and_no_confusable_characters():
    assert CODE_BITS >= 64
    codes = {invites.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(set(code) <= set(invites.ALPHABET) for code in codes)
    assert not set("ILOU") & set(invites.ALPHABET)


CODE_BITS = invites.CODE_LENGTH * math.log2(len(invites.ALPHABET))


def test_typing_is_forgiving_but_other_formats_are_not_codes():
    code = "7KQ2M9XD4HTRW"
    assert invites.grouped(code) == "7KQ2-M9XD-4HTRW"
    for typed in ["7kq2-m9xd-4htrw", " 7KQ2 M9XD 4HTRW ", "7KQ2_M9XD_4HTRW", "7KQ2　M9XD　4HTRW"]:
        assert invites.normalise(typed) == code
    assert invites.normalise("1O0I-L000-00000") == "1001100000000"  # O->0, I/L->1
    for foreign in [
        "",
        "hello",
        "ABC123",
        "a" * 32,
        "7KQ2-M9XD-4HTR",
        "7KQ2-M9XD-4HTRW1",
        "邀请码",
    ]:
        assert invites.normalise(foreign) is None


async def test_only_hashes_are_stored_and_reissue_revokes_the_old_code(db):
    await import_sample_registry(db)
    first = await issue_codes(db, "运南新村")
    assert len(first) == 3
    async with db.session() as session:
        hashes = (await session.exec(select(InviteCode.code_hash))).all()
    assert not set(first.values()) & set(hashes)
    assert {invites.code_hash(code) for code in first.values()} == set(hashes)

    second = await issue_codes(db, "运南新村")
    async with db.session() as session:
        old = await invites.household_of_code(session, first["5--101"])
        new = await invites.household_of_code(session, second["5--101"])
    assert old is not None and old[1] is False  # revoked
    assert new == (old[0], True)


async def test_only_missing_keeps_active_codes(db):
    await import_sample_registry(db)
    await issue_codes(db, "运南新村")
    async with db.session() as session:
        community = await community_named(session, "运南新村")
        again = await invites.issue_for_community(session, community.id, CLI, only_missing=True)
    assert again == []
