"""A round 1's results as officials read them: the tally, turnout by building, the
answers by channel and, when asked for, the Civil Code's double tally."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows import civil_code, turnout
from bot.flows.civil_code import DoubleTally
from bot.flows.consultation import Tally
from bot.flows.turnout import BuildingTurnout
from storage.models import Consultation


@dataclass(frozen=True)
class Round1Results:
    tally: Tally
    buildings: list[BuildingTurnout]
    channels: dict[str, int]
    double_tally: DoubleTally | None  # None: not asked for, or floor areas missing


async def results_of(
    session: AsyncSession, tallies: list[Tally], double_tally: tuple[Fraction, Fraction] | None
) -> list[Round1Results]:
    """The full results of each tallied round; ``double_tally`` gives the Civil Code's
    shares (participating, agreeing) when its tally is wanted."""
    channels = await turnout.channels_of(session, [t.consultation_id for t in tallies])
    results = []
    for tally in tallies:
        consultation = await session.get(Consultation, tally.consultation_id)
        assert consultation is not None  # it was just tallied
        double = None
        if double_tally is not None:
            double = await civil_code.double_tally(session, consultation, *double_tally)
        results.append(
            Round1Results(
                tally,
                await turnout.by_building(session, consultation),
                channels.get(tally.consultation_id, {}),
                double,
            )
        )
    return results
