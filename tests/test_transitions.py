"""The transition engine on a small machine of its own: what it offers, refuses and writes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlmodel import select

from bot.flows.transitions import Guard, Machine, Party, Transition
from storage.models import Community, Observation


class Refused(Exception):
    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.values = values


STAFF, RESIDENT = Party.STAFF, Party.RESIDENT
HIGH = Guard(lambda row: row.severity == "high", "test.only_high")
MACHINE = Machine(
    (
        Transition("open", "acknowledged", STAFF, "ack", "test.ack"),
        Transition("open", "resolved", STAFF, "fix", "test.fix_high", HIGH),
        Transition("open", "not_an_issue", STAFF, "nope", "test.nope", needs_note=True),
        Transition("acknowledged", "resolved", STAFF, "fix", "test.fix"),
        Transition("open", "acknowledged", RESIDENT, "seen", "test.seen"),
    ),
    refusal=Refused,
    not_allowed="test.not_allowed",
    note_needed="test.note_needed",
    moved_meanwhile="test.moved_meanwhile",
    state_label="test.state_{}",
)


def row(state: str = "open", severity: str = "high") -> SimpleNamespace:
    return SimpleNamespace(state=state, severity=severity)


def test_available_offers_the_party_its_moves_from_the_state_in_the_order_of_the_table():
    assert [t.action for t in MACHINE.available(row(), STAFF)] == ["ack", "fix", "nope"]
    assert [t.action for t in MACHINE.available(row(), RESIDENT)] == ["seen"]
    assert [t.label for t in MACHINE.available(row("acknowledged"), STAFF)] == ["test.fix"]
    assert MACHINE.available(row("resolved"), STAFF) == []


def test_a_guard_that_fails_hides_the_move_and_refuses_it_with_its_own_reason():
    low = row(severity="low")
    assert [t.action for t in MACHINE.available(low, STAFF)] == ["ack", "nope"]
    with pytest.raises(Refused, match="test.only_high"):
        MACHINE.check(low, "resolved", STAFF)
    assert MACHINE.check(row(), "resolved", STAFF).label == "test.fix_high"


def test_a_move_outside_the_table_or_of_another_party_is_refused_naming_both_states():
    for state, to, party in [
        ("open", "open", STAFF),
        ("resolved", "open", STAFF),
        ("open", "resolved", RESIDENT),
    ]:
        with pytest.raises(Refused, match="test.not_allowed") as refused:
            MACHINE.check(row(state), to, party)
        assert refused.value.values == {"state": f"test.state_{state}", "to": f"test.state_{to}"}


def test_a_move_that_needs_a_note_is_refused_without_one():
    for blank in (None, "", "  \n"):
        with pytest.raises(Refused, match="test.note_needed"):
            MACHINE.check(row(), "not_an_issue", STAFF, blank)
    assert MACHINE.check(row(), "not_an_issue", STAFF, "a shadow, not a crack").needs_note
    # The note is asked for only when it is written: the move itself may be taken.
    assert MACHINE.transition(row(), "not_an_issue", STAFF).action == "nope"


def test_a_buttons_action_names_the_state_it_leads_to():
    assert MACHINE.target_of("fix", STAFF) == "resolved"
    assert MACHINE.target_of("seen", STAFF) is None
    assert MACHINE.target_of("show", STAFF) is None


def test_a_move_named_by_its_action_is_not_taken_for_one_that_stays_in_the_state():
    rounds = Machine(
        (
            Transition("open", "closed", STAFF, "close", "test.close"),
            Transition("closed", "closed", STAFF, "confirm", "test.confirm"),
        ),
        refusal=Refused,
        not_allowed="test.not_allowed",
        moved_meanwhile="test.moved_meanwhile",
    )
    closed = row("closed")
    assert rounds.check(closed, "closed", STAFF).action == "confirm"
    with pytest.raises(Refused, match="test.not_allowed"):
        rounds.check(closed, "closed", STAFF, action="close")
    assert rounds.check(row("open"), "closed", STAFF, action="close").action == "close"


def test_a_table_whose_action_leads_to_two_states_or_lacks_a_note_refusal_is_not_a_machine():
    with pytest.raises(ValueError, match="two states"):
        Machine(
            (
                Transition("a", "b", STAFF, "go", "test.go"),
                Transition("b", "c", STAFF, "go", "test.go"),
            ),
            refusal=Refused,
            not_allowed="test.not_allowed",
            moved_meanwhile="test.moved_meanwhile",
        )
    with pytest.raises(ValueError, match="needs a note"):
        Machine(
            (Transition("a", "b", STAFF, "go", "test.go", needs_note=True),),
            refusal=Refused,
            not_allowed="test.not_allowed",
            moved_meanwhile="test.moved_meanwhile",
        )


async def stored_observation(db) -> int:
    async with db.session() as session:
        community = Community(name="南溪小区")
        session.add(community)
        await session.flush()
        observation = Observation(
            community_id=community.id,
            supervisor_telegram_id=1,
            category="safety",
            severity="high",
            place="3幢",
            text="脚手架没有防护网",
        )
        session.add(observation)
        await session.flush()
        return observation.id


async def test_move_sets_the_state_and_the_values_and_reads_the_row_again(db):
    observation_id = await stored_observation(db)
    async with db.session() as session:
        observation = await session.get(Observation, observation_id)
        taken = await MACHINE.move(
            session, observation, "not_an_issue", STAFF, "影子", values={"note": "影子"}
        )
        assert (taken.action, observation.state, observation.note) == (
            "nope",
            "not_an_issue",
            "影子",
        )


async def test_a_row_moved_since_it_was_read_is_refused_and_left_as_the_other_move_left_it(db):
    observation_id = await stored_observation(db)
    async with db.session() as session:
        stale = await session.get(Observation, observation_id)  # read, then somebody moves it
    async with db.session() as first:
        await MACHINE.move(
            first, await first.get(Observation, observation_id), "acknowledged", STAFF
        )
    async with db.session() as session:
        with pytest.raises(Refused, match="test.moved_meanwhile"):
            await MACHINE.move(session, stale, "resolved", STAFF, values={"note": "修好了"})
    async with db.session() as session:
        (after,) = await session.exec(select(Observation))
    assert (after.state, after.note) == ("acknowledged", None)


async def test_a_column_named_unchanged_must_still_hold_what_was_read(db):
    observation_id = await stored_observation(db)
    async with db.session() as session:
        stale = await session.get(Observation, observation_id)
    stale.note = "as read earlier"  # somebody else's note is in the database: None
    async with db.session() as session:
        with pytest.raises(Refused, match="test.moved_meanwhile"):
            await MACHINE.move(session, stale, "acknowledged", STAFF, unchanged=["note"])
