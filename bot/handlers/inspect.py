"""Quality supervisors report what they see (/inspect); staff act on it.

Supervisor buttons are the ``Inspection...`` kinds of ``bot.flows.callback_data``,
staff buttons the ``Observation...`` kinds.
The moves offered, and which of them ask for a note in a dialogue (assigning,
dismissing), come from the flow's transition table. Staff see an observation
as a card, then its photos and its location pin, if the supervisor sent them.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import dialogues, supervision
from bot.flows.callback_data import (
    OBSERVATION_MOVES,
    CallbackData,
    InspectionCategory,
    InspectionSend,
    InspectionSeverity,
    ObservationButton,
    ObservationShow,
)
from bot.flows.registry import StaffMember
from bot.flows.supervision import SupervisionError
from bot.flows.transitions import Party
from bot.handlers.buttons import B, ButtonHandler, Press
from bot.handlers.common import accept_button, local_time, reply
from bot.handlers.context import LinliContext
from bot.handlers.staff import staff_of, staff_press
from storage.models import Dialogue, Observation

NOTE_DIALOGUE = "observation_note"
STAFF = Party.STAFF


def button(
    context: LinliContext, key: str, data: CallbackData, **values: object
) -> InlineKeyboardButton:
    return InlineKeyboardButton(context.t(key, **values), callback_data=data.pack())


async def inspect(update: Update, context: LinliContext) -> None:
    async with context.session() as session:
        await supervision.start_inspection(session, update.effective_user.id)
    await ask_for(update, context, "category")


async def ask_for(update: Update, context: LinliContext, step: str) -> None:
    rows = []
    if step == "category":
        rows = [
            [button(context, f"supervision.category_{c}", InspectionCategory(c))]
            for c in supervision.CATEGORIES
        ]
    elif step == "severity":
        rows = [
            [button(context, f"supervision.severity_{s}", InspectionSeverity(s))]
            for s in supervision.SEVERITIES
        ]
    elif step == "media":
        rows = [[button(context, "supervision.send", InspectionSend())]]
    markup = InlineKeyboardMarkup(rows) if rows else None
    await reply(update, context, f"supervision.ask_{step}", markup=markup)


async def inspect_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    step, typed = dialogue.data.get("step"), update.effective_message.text
    async with context.session() as session:
        if step not in ("place", "text"):
            raise SupervisionError(f"supervision.expects_{step}")
        following = await supervision.inspection_step(
            session, update.effective_user.id, step, **{step: typed}
        )
    await ask_for(update, context, following)


async def inspect_media(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    message = update.effective_message
    photo = message.photo[-1].file_id if message.photo else None
    location = (message.location.latitude, message.location.longitude) if message.location else None
    async with context.session() as session:
        if photo is None and location is None:
            raise SupervisionError("supervision.expects_media")
        data = await supervision.add_media(session, update.effective_user.id, photo, location)
    if location is not None:
        await reply(update, context, "supervision.location_received")
    else:
        await reply(update, context, "supervision.media_received", photos=len(data["photos"]))


def answered(press: Press[B]) -> Press[B]:
    """An observation's button whose refusal is told as an alert."""

    async def pressed(update: Update, context: LinliContext, button: B) -> None:
        await press(update, context, button)

    return pressed


async def inspection_button(
    update: Update,
    context: LinliContext,
    button: InspectionCategory | InspectionSeverity | InspectionSend,
) -> None:
    """The supervisor's buttons: the category, the severity, then sending the observation."""
    query, user_id = update.callback_query, update.effective_user.id
    if isinstance(button, InspectionSend):
        async with context.session() as session:
            observation = await supervision.submit_inspection(session, user_id, context.actor)
        await accept_button(query)
        await reply(update, context, "supervision.sent", number=observation.id)
        return
    if isinstance(button, InspectionCategory):
        step, changes = "category", {"category": button.category}
    else:
        step, changes = "severity", {"severity": button.severity}
    async with context.session() as session:
        following = await supervision.inspection_step(session, user_id, step, **changes)
    await accept_button(query)
    await ask_for(update, context, following)


async def staff_action(
    update: Update, context: LinliContext, member: StaffMember, button: ObservationButton
) -> None:
    observation_id, query = button.observation, update.callback_query
    action = button.last_word()
    to = supervision.MACHINE.target_of(action, STAFF)  # None: just show it
    async with context.session() as session:
        observation = await supervision.served_observation(session, observation_id, member)
        move = None if to is None else supervision.MACHINE.transition(observation, to, STAFF)
        if move is not None and move.needs_note:
            await dialogues.start(
                session,
                update.effective_user.id,
                NOTE_DIALOGUE,
                observation=observation_id,
                action=action,
            )
        elif move is not None:
            observation = await supervision.move_observation(
                session, observation_id, to, member, context.actor
            )
    await query.answer()
    if move is None:
        await show(update, context, observation)
    elif move.needs_note:
        await reply(update, context, f"supervision.ask_note_{action}", number=observation_id)
    else:
        await moved(update, context, observation)


async def show(update: Update, context: LinliContext, observation: Observation) -> None:
    rows = [
        [button(context, move.label, OBSERVATION_MOVES[move.action](observation.id))]
        for move in supervision.MACHINE.available(observation, STAFF)
    ]
    await reply(
        update,
        context,
        "supervision.card",
        markup=InlineKeyboardMarkup(rows) if rows else None,
        number=observation.id,
        state=context.t(f"supervision.state_{observation.state}"),
        category=context.t(f"supervision.category_{observation.category}"),
        severity=context.t(f"supervision.severity_{observation.severity}"),
        place=observation.place,
        text=observation.text,
        photos=len(observation.photos),
        at=local_time(context, observation.created_at),
    )
    for file_id in observation.photos:
        await context.bot.send_photo(update.effective_chat.id, file_id)
    if observation.latitude is not None:  # the supervisor's pin, as a map staff can open
        await context.bot.send_location(
            update.effective_chat.id, observation.latitude, observation.longitude
        )


async def note_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    action, observation_id = dialogue.data["action"], dialogue.data["observation"]
    async with context.session() as session:
        observation = await supervision.move_observation(
            session,
            observation_id,
            supervision.MACHINE.target_of(action, STAFF),
            member,
            context.actor,
            update.effective_message.text,
        )
        await dialogues.finish(session, update.effective_user.id)
    await moved(update, context, observation)


async def moved(update: Update, context: LinliContext, observation: Observation) -> None:
    state = context.t(f"supervision.state_{observation.state}")
    await reply(update, context, "supervision.moved", number=observation.id, state=state)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("inspect", inspect),
        ButtonHandler(InspectionCategory, answered(inspection_button)),
        ButtonHandler(InspectionSeverity, answered(inspection_button)),
        ButtonHandler(InspectionSend, answered(inspection_button)),
        *(
            ButtonHandler(kind, answered(staff_press(staff_action)))
            for kind in (ObservationShow, *OBSERVATION_MOVES.values())
        ),
    ]


def steps() -> dict:
    return {supervision.INSPECT_DIALOGUE: inspect_text, NOTE_DIALOGUE: note_text}


def media_steps() -> dict:
    return {supervision.INSPECT_DIALOGUE: inspect_media}
