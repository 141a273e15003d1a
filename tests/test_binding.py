"""Binding rules at the flow level: capacity, brute force, moving, unbinding."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.flows import binding
from bot.flows.audit import Actor
from bot.flows.people import meet
from tests.registry import import_sample_registry, issue_codes

LIMITS = binding.Limits(residents_per_household=2, wrong_codes_allowed=3)


async def bind(db, telegram_id: int, code: str, limits=LIMITS):
    async with db.session() as session:
        await meet(session, telegram_id, f"user {telegram_id}", "zh-hans")
        return await binding.bind(session, telegram_id, code, limits, Actor(telegram_id))


async def test_household_limit_counts_residents(db):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    assert isinstance(await bind(db, 1, codes["5--101"]), binding.Bound)
    assert isinstance(await bind(db, 2, codes["5--101"]), binding.Bound)
    assert await bind(db, 3, codes["5--101"]) == binding.HouseholdFull(2)
    assert isinstance(await bind(db, 1, codes["5--101"]), binding.AlreadyBound)


async def test_many_binding_to_one_household_at_once_stop_at_its_limit(db):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    outcomes = await asyncio.gather(*(bind(db, 100 + n, codes["5--101"]) for n in range(6)))
    assert sum(isinstance(o, binding.Bound) for o in outcomes) == 2
    assert outcomes.count(binding.HouseholdFull(2)) == 4


async def test_wrong_codes_lock_the_user_out_for_the_window(db):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    assert await bind(db, 7, "AAAA-AAAA-AAAAA") == binding.WrongCodeGiven(2)
    assert await bind(db, 7, "AAAA-AAAA-AAAAB") == binding.WrongCodeGiven(1)
    last_wrong = await bind(db, 7, "AAAA-AAAA-AAAAC")  # says until when, not "0 tries left"
    assert isinstance(last_wrong, binding.LockedOut)
    assert await bind(db, 7, codes["5--101"]) == last_wrong
    async with db.session() as session:
        assert await binding.binding_of(session, 7) is None
    # Someone else is not affected, and a shorter window has already passed.
    assert isinstance(await bind(db, 8, codes["5--101"]), binding.Bound)
    later = binding.Limits(wrong_codes_allowed=3, wrong_code_window=timedelta(microseconds=1))
    assert isinstance(await bind(db, 7, codes["5--101"], later), binding.Bound)


async def test_text_that_is_no_code_does_not_count_as_a_try(db):
    await import_sample_registry(db)
    for _ in range(5):
        assert await bind(db, 9, "hello") == binding.NotACode()
    codes = await issue_codes(db, "运南新村")
    assert isinstance(await bind(db, 9, codes["5--102"]), binding.Bound)


async def test_moving_needs_the_pending_confirmation(db):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    await bind(db, 1, codes["5--101"])
    asked = await bind(db, 1, codes["5--102"])
    assert isinstance(asked, binding.ConfirmMove)
    assert (asked.current.room, asked.new.room) == ("101", "102")
    async with db.session() as session:
        # A forged confirmation for another household is refused.
        other = asked.new.household_id + 1
        refused = await binding.confirm_move(session, 1, other, LIMITS, Actor(1))
        assert refused == binding.NothingToConfirm()
        moved = await binding.confirm_move(session, 1, asked.new.household_id, LIMITS, Actor(1))
        assert moved == binding.Bound(asked.new)
        again = await binding.confirm_move(session, 1, asked.new.household_id, LIMITS, Actor(1))
        assert again == binding.NothingToConfirm()


async def test_unbind_frees_the_place(db):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    await bind(db, 1, codes["5--101"])
    await bind(db, 2, codes["5--101"])
    async with db.session() as session:
        left = await binding.unbind(session, 1, Actor(1))
        assert left.room == "101"
        assert await binding.unbind(session, 1, Actor(1)) is None
    assert isinstance(await bind(db, 3, codes["5--101"]), binding.Bound)
