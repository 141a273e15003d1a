"""Who is staff and what they serve: the checks every staff feature starts with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from telegram import Update

from bot.flows import registry
from bot.flows.registry import StaffMember
from bot.handlers.buttons import B, Press
from bot.handlers.common import refuse_button, reply
from bot.handlers.context import LinliContext
from storage.models import Community, Consultation

TIME_FORMAT = "%Y-%m-%d %H:%M"


async def staff_of(update: Update, context: LinliContext) -> StaffMember | None:
    """The staff member behind this update, or None after telling a non-staff user so."""
    member = context.principal.staff
    if member is None:
        if update.callback_query is not None:
            await refuse_button(update.callback_query, context)
        else:
            await reply(update, context, "staff.only")
    return member


async def served(context: LinliContext, member: StaffMember) -> list[Community]:
    async with context.session() as session:
        return await registry.communities_served(session, member)


async def consultation_served(
    update: Update, context: LinliContext, member: StaffMember, consultation_id: int
) -> Consultation | None:
    """The consultation a button names, if the member serves its community; else refused."""
    async with context.session() as session:
        found = await session.get(Consultation, consultation_id)
    if found is None or not member.serves(found.community_id):
        await refuse_button(update.callback_query, context)
        return None
    return found


def parse_local_time(context: LinliContext, typed: str) -> datetime | None:
    """'2026-12-20 18:00' on the city's clock, as an aware datetime; None if unreadable."""
    try:
        naive = datetime.strptime(typed.replace("：", ":").strip(), TIME_FORMAT)
    except ValueError:
        return None
    return naive.replace(tzinfo=context.settings.zone)


StaffPress = Callable[[Update, LinliContext, StaffMember, B], Awaitable[None]]


def staff_press(press: StaffPress[B]) -> Press[B]:
    """A button only staff may press: anyone else is told it is stale, and nothing changes."""

    async def pressed(update: Update, context: LinliContext, button: B) -> None:
        member = await staff_of(update, context)
        if member is not None:
            await press(update, context, member, button)

    return pressed
