"""Residents answer round 1 for their household: /vote and the Agree / Disagree buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import consultation
from bot.flows.callback_data import Vote
from bot.flows.consultation import ConsultationError, Tally
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import local_time, reply
from bot.handlers.context import LinliContext
from bot.handlers.keyboards import inline_keyboard


def outcome_text(context: LinliContext, tally: Tally) -> str:
    key = "vote.outcome_reached" if tally.reached else "vote.outcome_postponed"
    return context.t(key, **consultation.outcome_values(tally))


async def vote(update: Update, context: LinliContext) -> None:
    household_id = context.principal.household_id
    if household_id is None:
        await reply(update, context, "vote.unbound")
        return
    async with context.session() as session:
        open_now = await consultation.open_for_household(session, household_id)
        answers = {
            item.id: await consultation.ballot_of(session, item.id, household_id)
            for item in open_now
        }
    if not open_now:
        await reply(update, context, "vote.none_open")
        return
    for item in open_now:
        ballot = answers[item.id]
        if item.round == 2:
            key = "menu.current_done" if ballot is not None else "menu.current_none"
            current = context.t(key, at=local_time(context, ballot.cast_at) if ballot else "")
        elif ballot is not None:
            current = context.t(
                f"vote.current_{ballot.choice}", at=local_time(context, ballot.cast_at)
            )
        else:
            current = context.t("vote.current_none")
        await reply(
            update,
            context,
            "vote.ballot",
            markup=inline_keyboard(context.language, consultation.answer_buttons(item)),
            title=item.title,
            question=item.question,
            current=current,
            closes=local_time(context, item.closes_at),
        )


async def vote_button(update: Update, context: LinliContext, button: Vote) -> None:
    query = update.callback_query
    consultation_id, choice = button.consultation, button.choice
    try:
        async with context.session() as session:
            recorded = await consultation.cast(
                session, consultation_id, update.effective_user.id, choice, context.actor
            )
    except ConsultationError as refusal:
        await query.answer(context.t(refusal.reason), show_alert=True)
        if refusal.reason == "vote.closed":
            async with context.session() as session:
                tally = await consultation.tally(session, consultation_id)
            await context.bot.send_message(update.effective_chat.id, outcome_text(context, tally))
        return
    await query.answer(context.t(f"vote.{recorded.choice}"))
    await reply(
        update,
        context,
        f"vote.recorded_{recorded.choice}",
        title=recorded.consultation.title,
        at=local_time(context, recorded.cast_at),
        closes=local_time(context, recorded.consultation.closes_at),
    )


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("vote", vote),
        ButtonHandler(Vote, vote_button),
    ]
