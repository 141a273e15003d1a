"""The one transition engine of every state machine: repairs, observations, consultations.

A machine is data: a table of ``Transition`` rows saying from which state to
which a row may move, who may move it, on what further condition, whether a
note is needed and which button offers it. The engine answers three
questions from that table and nothing else: what may be done now
(``available``: the only source of buttons), whether a move is legal
(``check``), and the move itself (``move``): one conditional UPDATE that
matches only the row in the state it was read in. When two people move the
same row at once, the second UPDATE matches nothing (on PostgreSQL it waits
for the first to commit, then finds the state changed) and is refused with
the machine's "moved by someone else" reason; nothing changes. The caller
appends its audit event and its messages only after ``move`` returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.refusal import Words


class Party(StrEnum):
    """Who makes a move: staff (by hand, from the command line or by schedule) or a resident."""

    STAFF = "staff"
    RESIDENT = "resident"


@dataclass(frozen=True)
class Guard:
    """A condition on the row beyond its state, and the refusal (catalogue key) when it fails."""

    holds: Callable[[Any], bool]
    refusal: str


@dataclass(frozen=True)
class Transition:
    """One allowed move: ``source`` to ``target``, made by ``party``.

    ``action`` is the move's short name in callback data; ``label`` the
    catalogue key of its button. A ``guard`` narrows the move further (a
    repair's route); ``needs_note`` refuses it without a written note.
    """

    source: str
    target: str
    party: Party
    action: str
    label: str
    guard: Guard | None = None
    needs_note: bool = False

    def allows(self, row: Any) -> bool:
        return self.guard is None or self.guard.holds(row)


def clean_note(note: str | None) -> str | None:
    """The note as written, or None when nothing was written."""
    return (note or "").strip() or None


@dataclass(frozen=True)
class Machine:
    """A table's transitions, the column holding the state, and the flow's refusals.

    ``refusal`` is the flow's exception, raised as ``refusal(key, **values)``;
    ``not_allowed`` gets ``state`` and ``to``, as catalogue keys when
    ``state_label`` (such as ``"repair.state_{}"``) names the states. The
    table is checked when the machine is made: a button's action leads to one
    state, and a move that needs a note has a refusal for its absence.
    """

    transitions: tuple[Transition, ...]
    refusal: Callable[..., Exception]
    not_allowed: str
    moved_meanwhile: str
    note_needed: str | None = None
    column: str = "state"
    state_label: str = "{}"

    def __post_init__(self) -> None:
        targets: dict[tuple[Party, str], str] = {}
        for t in self.transitions:
            if t.needs_note and self.note_needed is None:
                raise ValueError(f"{t.source} to {t.target} needs a note: name its refusal")
            if targets.setdefault((t.party, t.action), t.target) != t.target:
                raise ValueError(f"action {t.action!r} of {t.party} leads to two states")

    def state_of(self, row: Any) -> str:
        return getattr(row, self.column)

    def available(self, row: Any, party: Party) -> list[Transition]:
        """The moves ``party`` may make on ``row`` now, in the order of the table."""
        state = self.state_of(row)
        return [
            t for t in self.transitions if (t.source, t.party) == (state, party) and t.allows(row)
        ]

    def target_of(self, action: str, party: Party) -> str | None:
        """The state a button's ``action`` leads to, or None for no move of ``party``."""
        return next(
            (t.target for t in self.transitions if (t.action, t.party) == (action, party)), None
        )

    def transition(self, row: Any, to: str, party: Party, action: str | None = None) -> Transition:
        """The move of ``row`` to ``to`` that ``party`` may make now; refused if none.

        ``action`` names the move where a move that stays in its state must not
        be taken for one that leads there (closing a closed round is not
        confirming its plan).
        """
        state = self.state_of(row)
        moves = [
            t
            for t in self.transitions
            if (t.source, t.target, t.party) == (state, to, party) and action in (None, t.action)
        ]
        if not moves:
            if self.state_label == "{}":
                raise self.refusal(self.not_allowed, state=state, to=to)
            named = self.state_label.format
            raise self.refusal(self.not_allowed, state=Words(named(state)), to=Words(named(to)))
        allowed = next((t for t in moves if t.allows(row)), None)
        if allowed is None:
            raise self.refusal(moves[0].guard.refusal)
        return allowed

    def check(
        self,
        row: Any,
        to: str,
        party: Party,
        note: str | None = None,
        action: str | None = None,
    ) -> Transition:
        """Like ``transition``, and refused too when the move needs a note and has none."""
        found = self.transition(row, to, party, action)
        if found.needs_note and clean_note(note) is None:
            raise self.refusal(self.note_needed)
        return found

    async def move(
        self,
        session: AsyncSession,
        row: Any,
        to: str,
        party: Party,
        note: str | None = None,
        *,
        values: Mapping[str, Any] | None = None,
        unchanged: Iterable[str] = (),
        action: str | None = None,
    ) -> Transition:
        """Move ``row`` to ``to``, setting ``values`` too, in one conditional UPDATE.

        The UPDATE matches only while the row is in the state it was read in
        and the ``unchanged`` columns still hold what was read (a move that
        stays in its state, such as revising an estimate, is decided on
        those). When it matches nothing somebody moved the row first: refused,
        nothing changed. ``row`` is read again afterwards. ``action`` is as
        for ``transition``.
        """
        found = self.check(row, to, party, note, action)
        model = type(row)
        conditions = [model.id == row.id]
        conditions += [
            getattr(model, name) == getattr(row, name) for name in (self.column, *unchanged)
        ]
        statement = (
            update(model)
            .where(*conditions)
            .values({self.column: to, **(values or {})})
            .execution_options(synchronize_session=False)
        )
        if (await session.exec(statement)).rowcount == 0:
            raise self.refusal(self.moved_meanwhile)
        await session.refresh(row)
        return found
