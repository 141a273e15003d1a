"""The registry of callback data: packing, unpacking and every refusal."""

from __future__ import annotations

from typing import Literal

import pytest

from bot.flows.callback_data import (
    KINDS,
    LIMIT,
    CallbackData,
    MenuPress,
    NoticeToCommunities,
    ProjectAdvance,
    RepairCategory,
    RepairUrgency,
    SupervisorDismiss,
    TelegramId,
    Vote,
)
from storage.choices import Choice, Stage


def test_a_kind_packs_as_the_buttons_in_chats_today() -> None:
    assert Vote(12, Choice.AGREE).pack() == "v1:vote:12:agree"
    assert MenuPress(3, "tog", 7).pack() == "v1:menu:3:tog:7"
    assert SupervisorDismiss(4, TelegramId(2**40)).pack() == f"v1:sup:del:4:u{2**40}"
    assert RepairUrgency(False).pack() == "v1:rep:urg:0"
    assert NoticeToCommunities().pack() == "v1:ntc:m:0"


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=list(KINDS))
def test_every_kind_fits_telegrams_limit_with_its_largest_values(kind) -> None:
    data = kind.largest().pack()
    assert len(data.encode()) <= LIMIT
    assert kind.unpack(data) == kind.largest()


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=list(KINDS))
def test_data_is_at_most_one_kind(kind) -> None:
    data = kind.largest().pack()
    assert [other for other in KINDS.values() if other.unpack(data) is not None] == [kind]


def test_unpack_gives_typed_values() -> None:
    vote = Vote.unpack("v1:vote:12:disagree")
    assert vote == Vote(12, Choice.DISAGREE) and vote.choice is Choice.DISAGREE
    assert ProjectAdvance.unpack("v1:proj:adv:5:design") == ProjectAdvance(5, Stage.DESIGN)
    assert SupervisorDismiss.unpack("v1:sup:del:4:u123") == SupervisorDismiss(4, TelegramId(123))
    assert RepairUrgency.unpack("v1:rep:urg:1") == RepairUrgency(True)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "v1",
        "v1:vote",
        "v1:vote:12",  # too few parts
        "v1:vote:12:agree:0",  # too many
        "v2:vote:12:agree",  # another version
        "v1:menu:12:agree",  # another kind
        "v1:vote::agree",  # an empty part
        "v1:vote:x:agree",  # not digits
        "v1:vote:-1:agree",
        "v1:vote:²:agree",  # a digit, but not an ASCII one
        "v1:vote:2147483648:agree",  # beyond a database id
        "v1:vote:12:maybe",  # not a member of the enum
        "v1:vote:12:AGREE",
    ],
)
def test_anything_but_exactly_the_kind_unpacks_as_none(data) -> None:
    assert Vote.unpack(data) is None


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (MenuPress, "v1:menu:1:cook:0"),  # not one of the Literal's values
        (SupervisorDismiss, "v1:sup:del:4:123"),  # a Telegram id without its u
        (SupervisorDismiss, "v1:sup:del:4:u"),
        (SupervisorDismiss, f"v1:sup:del:4:u{2**63}"),  # beyond 64 bits
        (RepairUrgency, "v1:rep:urg:2"),
        (RepairCategory, "v1:rep:cat:" + "x" * 17),  # a longer text than a field holds
        (RepairCategory, "v1:rep:cat:"),
        (NoticeToCommunities, "v1:ntc:m:1"),  # a constant part that differs
    ],
)
def test_each_type_of_field_refuses_what_it_cannot_hold(kind, data) -> None:
    assert kind.unpack(data) is None


@pytest.mark.parametrize(
    "button",
    [
        Vote(2**31, Choice.AGREE),
        Vote(-1, Choice.AGREE),
        Vote(None, Choice.AGREE),  # a row not stored yet
        Vote(1, "maybe"),
        RepairCategory("a:b"),
        RepairCategory("漏水漏水漏水"),  # 18 bytes
        SupervisorDismiss(1, TelegramId(2**63)),
    ],
)
def test_pack_refuses_values_the_data_cannot_hold(button) -> None:
    with pytest.raises((ValueError, TypeError)):
        button.pack()


def test_a_kind_that_could_outgrow_the_limit_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match="64 bytes"):

        class TooLong(CallbackData, prefix="toolong"):
            a: int
            b: int
            c: int
            d: int
            e: int
            f: int


def test_prefixes_are_unique_and_none_starts_another() -> None:
    for prefix in ("vote", "rep", "rep:cat:x", "Bad", "a::b"):
        with pytest.raises(TypeError):
            type(prefix, (CallbackData,), {"__annotations__": {}}, prefix=prefix)
    assert "rep" not in KINDS and "Bad" not in KINDS


def test_a_field_type_callback_data_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError):

        class Floating(CallbackData, prefix="floating"):
            amount: float

    class Mixed(CallbackData, prefix="mixedtest"):
        flag: Literal["a", 1]

    try:
        assert Mixed.unpack("v1:mixedtest:1") == Mixed(1)
    finally:
        del KINDS["mixedtest"]
