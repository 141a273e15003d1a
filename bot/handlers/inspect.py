"""Quality supervisors report what they see (/inspect); staff act on it.

Supervisor buttons: ``v1:obs:<cat|sev>:<value>:0``, ``v1:obs:send:0:0``;
staff buttons: ``v1:obs:<show|ack|assign|done|nope>:<observation>:0``.
The moves offered, and which of them ask for a note in a dialogue (assigning,
dismissing), come from the flow's transition table. Staff see an observation
as a card, then its photos and its location pin, if the supervisor sent them.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.flows import dialogues, supervision
from bot.flows.supervision import SupervisionError
from bot.flows.transitions import Party
from bot.handlers import callbacks
from bot.handlers.common import accept_button, local_time, reply
from bot.handlers.context import LinliContext
from bot.handlers.staff import staff_of
from storage.models import Dialogue, Observation

NOTE_DIALOGUE = "observation_note"
STAFF = Party.STAFF


def button(context: LinliContext, key: str, *parts: object, **values) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        context.t(key, **values), callback_data=callbacks.encode("obs", *parts)
    )


async def inspect(update: Update, context: LinliContext) -> None:
    try:
        async with context.session() as session:
            await supervision.start_inspection(session, update.effective_user.id)
    except SupervisionError as refusal:
        await reply(update, context, refusal.reason)
        return
    await ask_for(update, context, "category")


async def ask_for(update: Update, context: LinliContext, step: str) -> None:
    rows = []
    if step == "category":
        rows = [
            [button(context, f"supervision.category_{c}", "cat", c, 0)]
            for c in supervision.CATEGORIES
        ]
    elif step == "severity":
        rows = [
            [button(context, f"supervision.severity_{s}", "sev", s, 0)]
            for s in supervision.SEVERITIES
        ]
    elif step == "media":
        rows = [[button(context, "supervision.send", "send", 0, 0)]]
    markup = InlineKeyboardMarkup(rows) if rows else None
    await reply(update, context, f"supervision.ask_{step}", markup=markup)


async def inspect_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    step, typed = dialogue.data.get("step"), update.effective_message.text
    try:
        async with context.session() as session:
            if step not in ("place", "text"):
                raise SupervisionError(f"supervision.expects_{step}")
            following = await supervision.inspection_step(
                session, update.effective_user.id, step, **{step: typed}
            )
    except SupervisionError as refusal:
        await reply(update, context, refusal.reason)
        return
    await ask_for(update, context, following)


async def inspect_media(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    message = update.effective_message
    photo = message.photo[-1].file_id if message.photo else None
    location = (message.location.latitude, message.location.longitude) if message.location else None
    try:
        async with context.session() as session:
            if photo is None and location is None:
                raise SupervisionError("supervision.expects_media")
            data = await supervision.add_media(session, update.effective_user.id, photo, location)
    except SupervisionError as refusal:
        await reply(update, context, refusal.reason)
        return
    if location is not None:
        await reply(update, context, "supervision.location_received")
    else:
        await reply(update, context, "supervision.media_received", photos=len(data["photos"]))


async def observation_button(update: Update, context: LinliContext) -> None:
    query = update.callback_query
    parts = callbacks.decode(query.data, "obs", 3)
    if parts is None:
        await query.answer(context.t("button.stale"), show_alert=True)
        return
    action, value = parts[0], parts[1]
    user_id = update.effective_user.id
    try:
        if action in ("cat", "sev"):
            step, field = ("category", "category") if action == "cat" else ("severity", "severity")
            async with context.session() as session:
                following = await supervision.inspection_step(
                    session, user_id, step, **{field: value}
                )
            await accept_button(query)
            await ask_for(update, context, following)
        elif action == "send":
            async with context.session() as session:
                observation = await supervision.submit_inspection(session, user_id, context.actor)
            await accept_button(query)
            await reply(update, context, "supervision.sent", number=observation.id)
        elif action == "show" or supervision.MACHINE.target_of(action, STAFF) is not None:
            await staff_action(update, context, action, value)
        else:
            raise SupervisionError("button.stale")
    except SupervisionError as refusal:
        await query.answer(context.t(refusal.reason), show_alert=True)


async def staff_action(update: Update, context: LinliContext, action: str, value: str) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    if not value.isdigit():
        raise SupervisionError("button.stale")
    observation_id, query = int(value), update.callback_query
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
        [button(context, move.label, move.action, observation.id, 0)]
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
    try:
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
    except SupervisionError as refusal:
        await reply(update, context, refusal.reason)
        return
    await moved(update, context, observation)


async def moved(update: Update, context: LinliContext, observation: Observation) -> None:
    state = context.t(f"supervision.state_{observation.state}")
    await reply(update, context, "supervision.moved", number=observation.id, state=state)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("inspect", inspect),
        CallbackQueryHandler(observation_button, pattern=callbacks.pattern("obs")),
    ]


def steps() -> dict:
    return {supervision.INSPECT_DIALOGUE: inspect_text, NOTE_DIALOGUE: note_text}


def media_steps() -> dict:
    return {supervision.INSPECT_DIALOGUE: inspect_media}
