"""The Civil Code's double tally (民法典 第二百七十八条), beside the programme's 80% rule.

Owners decide on renovating common parts when owners holding at least two
thirds of the floor area and two thirds of the households take part, and of
those taking part, owners holding three quarters of their area and three
quarters of their households agree. It is shown only when asked for and only
when the registry has every household's floor area (建筑面积); it never
changes the outcome of round 1, which is the 80% rule's. Exact fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.consultation import Choice, percent_text
from storage.models import Ballot, Building, Consultation, Household


def share(part: int, whole: int) -> Fraction:
    return Fraction(part, whole) if whole else Fraction(0)


def area_text(dm2: int) -> str:
    """Hundredths of a square metre as square metres: 8550 -> '85.50'."""
    return f"{dm2 // 100}.{dm2 % 100:02d}"


@dataclass(frozen=True)
class DoubleTally:
    households: int
    area_dm2: int
    participating: int
    participating_dm2: int
    agreeing: int
    agreeing_dm2: int
    participation_needed: Fraction  # of all households, and of all the area
    agreement_needed: Fraction  # of the participants' households, and of their area

    @property
    def participation_reached(self) -> bool:
        need = self.participation_needed
        return (
            share(self.participating, self.households) >= need
            and share(self.participating_dm2, self.area_dm2) >= need
        )

    @property
    def agreement_reached(self) -> bool:
        need = self.agreement_needed
        return (
            self.participating > 0
            and share(self.agreeing, self.participating) >= need
            and share(self.agreeing_dm2, self.participating_dm2) >= need
        )

    @property
    def reached(self) -> bool:
        return self.participation_reached and self.agreement_reached


async def double_tally(
    session: AsyncSession, consultation: Consultation, participating: Fraction, agreeing: Fraction
) -> DoubleTally | None:
    """Round 1's answers counted by households and by floor area; None when any household
    of the community has no floor area in the registry (or the round is not round 1)."""
    if consultation.round != 1:
        return None
    areas = dict(
        (
            await session.exec(
                select(Household.id, Household.floor_area_dm2)
                .join(Building, Building.id == Household.building_id)
                .where(Building.community_id == consultation.community_id)
            )
        ).all()
    )
    if not areas or any(area is None for area in areas.values()):
        return None
    answers = dict(
        (
            await session.exec(
                select(Ballot.household_id, Ballot.choice).where(
                    Ballot.consultation_id == consultation.id
                )
            )
        ).all()
    )
    agree = [h for h, choice in answers.items() if choice == Choice.AGREE and h in areas]
    took_part = [h for h in answers if h in areas]
    return DoubleTally(
        households=len(areas),
        area_dm2=sum(areas.values()),
        participating=len(took_part),
        participating_dm2=sum(areas[h] for h in took_part),
        agreeing=len(agree),
        agreeing_dm2=sum(areas[h] for h in agree),
        participation_needed=participating,
        agreement_needed=agreeing,
    )


def values(result: DoubleTally) -> dict[str, object]:
    """The figures as a catalogue message shows them."""
    return {
        "participating": result.participating,
        "households": result.households,
        "participating_area": area_text(result.participating_dm2),
        "area": area_text(result.area_dm2),
        "participation_needed": str(result.participation_needed),
        "agreeing": result.agreeing,
        "agreeing_area": area_text(result.agreeing_dm2),
        "agreeing_share": percent_text(share(result.agreeing, result.participating)),
        "agreeing_area_share": percent_text(share(result.agreeing_dm2, result.participating_dm2)),
        "agreement_needed": str(result.agreement_needed),
    }
