"""/start: greeting, and binding to a household by invite code (deep link or typed)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import binding, dialogues, invites
from bot.flows.binding import (
    AlreadyBound,
    Bound,
    ConfirmMove,
    HouseholdFull,
    LockedOut,
    NotACode,
    NothingToConfirm,
    RevokedCode,
    WrongCodeGiven,
)
from bot.flows.callback_data import MoveHousehold
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import accept_button, address_text, local_time, refuse_button, reply
from bot.handlers.context import LinliContext
from bot.handlers.help import refresh_commands
from bot.handlers.vote import send_ballots
from storage.models import Dialogue

AWAIT_CODE = "await_code"


def limits(context: LinliContext) -> binding.Limits:
    return binding.Limits.of(context.settings.binding)


async def start(update: Update, context: LinliContext) -> None:
    if context.args:
        await try_code(update, context, " ".join(context.args))
        return
    user_id = update.effective_user.id
    async with context.session() as session:
        address = await binding.binding_of(session, user_id)
        staff = context.principal.staff
        if address is None and staff is None:
            await dialogues.start(session, user_id, AWAIT_CODE)
    await refresh_commands(context.application, user_id)
    if address is not None:
        await reply(update, context, "start.welcome_back", address=address_text(context, address))
    elif staff is not None:
        await reply(update, context, "start.welcome_staff")
    else:
        await reply(update, context, "start.ask_code")


async def try_code(update: Update, context: LinliContext, text: str) -> None:
    """Bind the user with the code in ``text`` and tell them how it went."""
    async with context.session() as session:
        outcome = await binding.bind(
            session, update.effective_user.id, text, limits(context), context.actor
        )
    await refresh_commands(context.application, update.effective_user.id)
    await tell(update, context, outcome)


async def tell(update: Update, context: LinliContext, outcome: object) -> None:
    match outcome:
        case Bound(address):
            await reply(update, context, "bind.done", address=address_text(context, address))
            # A round already open is not missed: its question comes at once.
            await send_ballots(update, context, address.household_id)
        case AlreadyBound(address):
            await reply(update, context, "bind.already", address=address_text(context, address))
        case ConfirmMove(current, new):
            household_id = new.household_id
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            context.t("bind.move_yes"),
                            callback_data=MoveHousehold(household_id, "yes").pack(),
                        ),
                        InlineKeyboardButton(
                            context.t("bind.move_no"),
                            callback_data=MoveHousehold(household_id, "no").pack(),
                        ),
                    ]
                ]
            )
            await reply(
                update,
                context,
                "bind.confirm_move",
                markup=markup,
                current=address_text(context, current),
                new=address_text(context, new),
            )
        case NotACode():
            await reply(
                update, context, "bind.not_a_code", example=invites.grouped("7KQ2M9XD4HTRW")
            )
        case WrongCodeGiven(tries_left):
            await reply(update, context, "bind.wrong_code", tries_left=tries_left)
        case RevokedCode(tries_left):
            await reply(update, context, "bind.revoked_code", tries_left=tries_left)
        case LockedOut(until):
            await reply(update, context, "bind.locked_out", until=local_time(context, until))
        case HouseholdFull(limit):
            await reply(update, context, "bind.household_full", limit=limit)


async def code_step(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    await try_code(update, context, update.effective_message.text)


async def move_button(update: Update, context: LinliContext, button: MoveHousehold) -> None:
    query = update.callback_query
    user_id, household_id = update.effective_user.id, button.household
    async with context.session() as session:
        pending = await dialogues.current(session, user_id)
        if (
            pending is None
            or pending.kind != binding.MOVE_DIALOGUE
            or pending.data.get("household_id") != household_id
        ):
            outcome = NothingToConfirm()
        elif button.answer == "no":
            await dialogues.finish(session, user_id)
            outcome = None
        else:
            outcome = await binding.confirm_move(
                session, user_id, household_id, limits(context), context.actor
            )
    if isinstance(outcome, NothingToConfirm):
        await refuse_button(query, context)
        return
    await accept_button(query)
    if outcome is None:
        await reply(update, context, "bind.move_cancelled")
    else:
        await tell(update, context, outcome)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("start", start),
        ButtonHandler(MoveHousehold, move_button),
    ]


def steps() -> dict:
    return {AWAIT_CODE: code_step}
