"""Residents answer round 1 for their household: /vote and the Agree / Disagree buttons.

A ballot message says what the household has answered and is edited in place
when the answer changes, so the message in the chat is never out of date.
"""

from __future__ import annotations

from datetime import datetime

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import consultation
from bot.flows.callback_data import Vote
from bot.flows.consultation import ConsultationError, Entry, Tally
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import local_time, reply, send, show_in_place
from bot.handlers.context import LinliContext
from bot.handlers.keyboards import inline_keyboard
from storage.models import Ballot, Consultation


def outcome_text(context: LinliContext, tally: Tally) -> str:
    key = "vote.outcome_reached" if tally.reached else "vote.outcome_postponed"
    return context.t(key, **consultation.outcome_values(tally))


def current_answer(context: LinliContext, item: Consultation, ballot: Ballot | None) -> str:
    """What the household has answered, and when, in the words of the round."""
    if item.round == 2:
        key = "menu.current_done" if ballot is not None else "menu.current_none"
        return context.t(key, at=local_time(context, ballot.cast_at) if ballot else "")
    if ballot is None:
        return context.t("vote.current_none")
    return answered(context, ballot.choice, ballot.cast_at)


def answered(context: LinliContext, choice: str, at: datetime) -> str:
    return context.t(f"vote.current_{choice}", at=local_time(context, at))


def ballot_text(context: LinliContext, item: Consultation, current: str) -> str:
    return context.t(
        "vote.ballot",
        title=item.title,
        question=item.question,
        current=current,
        closes=local_time(context, item.closes_at),
    )


async def send_ballots(update: Update, context: LinliContext, household_id: int) -> bool:
    """Send the household's ballot message of every open round; whether there was one."""
    async with context.session() as session:
        open_now = await consultation.open_for_household(session, household_id)
        answers = {
            item.id: await consultation.ballot_of(session, item.id, household_id)
            for item in open_now
        }
    for item in open_now:
        await send(
            update,
            context,
            ballot_text(context, item, current_answer(context, item, answers[item.id])),
            inline_keyboard(context.language, consultation.answer_buttons(item)),
        )
    return bool(open_now)


async def vote(update: Update, context: LinliContext) -> None:
    household_id = context.principal.household_id
    if household_id is None:
        await reply(update, context, "vote.unbound")
    elif not await send_ballots(update, context, household_id):
        await reply(update, context, "vote.none_open")


async def vote_button(update: Update, context: LinliContext, button: Vote) -> None:
    query = context.query
    consultation_id, choice = button.consultation, button.choice
    household_id = context.principal.household_id
    try:
        if household_id is None:
            raise ConsultationError("vote.unbound")
        async with context.session() as session:
            recorded = await consultation.answer(
                session,
                consultation_id,
                household_id,
                choice,
                Entry(by=update.effective_user.id),
                context.actor,
            )
    except ConsultationError as refusal:
        await query.answer(context.t(refusal.reason), show_alert=True)
        if refusal.reason == "vote.closed":
            async with context.session() as session:
                tally = await consultation.tally(session, consultation_id)
            await context.bot.send_message(update.effective_chat.id, outcome_text(context, tally))
        return
    await query.answer(context.t(f"vote.recorded_{recorded.choice}"))
    item = recorded.consultation
    await show_in_place(
        context,
        ballot_text(context, item, answered(context, recorded.choice, recorded.cast_at)),
        inline_keyboard(context.language, consultation.answer_buttons(item)),
    )


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("vote", vote),
        ButtonHandler(Vote, vote_button),
    ]
