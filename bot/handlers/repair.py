"""Residents report repairs and follow them: /repair, /myrequests, confirm, reopen, rate.

Buttons are the ``Repair...`` kinds of ``bot.flows.callback_data``; the
intake's draft lives in the database, so every press and message is checked
against it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import dialogues, repair
from bot.flows.callback_data import (
    RESIDENT_MOVES,
    CallbackData,
    PageButton,
    RepairAnswer,
    RepairBack,
    RepairCancel,
    RepairCategory,
    RepairCommonPart,
    RepairConfirm,
    RepairDefaultSpot,
    RepairNew,
    RepairNoLocation,
    RepairOwnPart,
    RepairPage,
    RepairPhotosDone,
    RepairRate,
    RepairReopen,
    RepairShow,
    RepairSubmit,
    RepairUrgency,
    RepairWithdraw,
    RequestButton,
)
from bot.flows.registry import Address, address_of
from bot.flows.repair import Draft, RepairError
from bot.flows.transitions import Party
from bot.handlers.buttons import B, ButtonHandler, Press
from bot.handlers.common import accept_button, address_text, local_time, refuse, reply, send_lines
from bot.handlers.context import LinliContext
from storage.models import AuditEvent, Community, Dialogue, RepairRequest, RepairRoute, RepairState

REOPEN_DIALOGUE = "repair_reopen"
RATING = range(1, 6)


def button(
    context: LinliContext, key: str, data: CallbackData, **values: object
) -> InlineKeyboardButton:
    return InlineKeyboardButton(context.t(key, **values), callback_data=data.pack())


def steering(context: LinliContext) -> list[InlineKeyboardButton]:
    return [
        button(context, "repair.back", RepairBack()),
        button(context, "repair.cancel", RepairCancel()),
    ]


async def prompt(update: Update, context: LinliContext, draft: Draft) -> None:
    """Ask for what the draft's step needs."""
    rows: list[list[InlineKeyboardButton]] = []
    values: dict[str, object] = {}
    if draft.step == "category":
        categories = [
            button(context, f"repair.category_{code}", RepairCategory(code))
            for code in repair.CATEGORIES
        ]
        rows = [categories[i : i + 2] for i in range(0, len(categories), 2)]
        rows.append([button(context, "repair.cancel", RepairCancel())])
    elif draft.step == "place":
        rows = [
            [
                button(context, "repair.place_own", RepairOwnPart()),
                button(context, "repair.place_common", RepairCommonPart()),
            ],
            steering(context),
        ]
    elif draft.step == "spot":
        values["place"] = draft.data.get("place", "")
        rows = [
            [button(context, "repair.spot_default", RepairDefaultSpot(), place=values["place"])]
        ]
        rows.append(steering(context))
    elif draft.step == "urgent":
        rows = [
            [button(context, "repair.urgent_yes", RepairUrgency(True))],
            [button(context, "repair.urgent_no", RepairUrgency(False))],
            steering(context),
        ]
    elif draft.step == "description":
        rows = [steering(context)]
    elif draft.step == "photos":
        values.update(count=len(draft.photos), most=repair.MAX_PHOTOS)
        rows = [[button(context, "repair.photos_done", RepairPhotosDone())], steering(context)]
    elif draft.step == "location":
        rows = [[button(context, "repair.no_location", RepairNoLocation())], steering(context)]
    else:
        values["summary"] = summary(context, draft.data)
        rows = [[button(context, "repair.submit", RepairSubmit())], steering(context)]
    await reply(
        update, context, f"repair.ask_{draft.step}", markup=InlineKeyboardMarkup(rows), **values
    )


def summary(context: LinliContext, data: dict) -> str:
    where = context.t("repair.place_common" if data.get("common_part") else "repair.place_own")
    location = (
        context.t("repair.pinned") if data.get("latitude") is not None else context.t("repair.none")
    )
    return context.t(
        "repair.summary",
        category=context.t(f"repair.category_{data['category']}"),
        where=where,
        place=data.get("place", ""),
        urgent=context.t("repair.urgent_yes" if data.get("urgent") else "repair.urgent_no"),
        description=data.get("description", ""),
        photos=len(data.get("photos", [])),
        location=location,
    )


async def start_report(update: Update, context: LinliContext) -> None:
    async with context.session() as session:
        draft = await repair.start_intake(session, update.effective_user.id)
    await prompt(update, context, draft)


async def intake_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """Typed text during the intake: the spot, the description, or a nudge to the buttons."""
    user_id, typed = update.effective_user.id, update.effective_message.text
    step = dialogue.data.get("step")
    async with context.session() as session:
        if step == "spot":
            draft = await repair.set_spot(session, user_id, typed)
        elif step == "description":
            draft = await repair.set_description(session, user_id, typed)
        else:
            raise RepairError(f"repair.expects_{step}")
    await prompt(update, context, draft)


async def intake_media(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """A photo at the photo step, a location pin at the location step."""
    message, user_id = update.effective_message, update.effective_user.id
    step = dialogue.data.get("step")
    async with context.session() as session:
        if step == "photos" and message.photo:
            draft = await repair.add_photo(session, user_id, message.photo[-1].file_id)
        elif step == "location" and message.location:
            location = message.location
            draft = await repair.set_location(
                session, user_id, location.latitude, location.longitude
            )
        else:
            raise RepairError(f"repair.expects_{step}")
    await prompt(update, context, draft)


async def cancel_intake(session: AsyncSession, user_id: int) -> None:
    await repair.draft_of(session, user_id)
    await dialogues.finish(session, user_id)


# What each button of the intake does to the draft (None: the report is cancelled).
INTAKE: dict[type[CallbackData], Callable[[AsyncSession, int, Any], Awaitable[Draft | None]]] = {
    RepairNew: lambda session, user_id, _: repair.start_intake(session, user_id),
    RepairCancel: lambda session, user_id, _: cancel_intake(session, user_id),
    RepairBack: lambda session, user_id, _: repair.back(session, user_id),
    RepairCategory: lambda session, user_id, button: repair.choose_category(
        session, user_id, button.category
    ),
    RepairOwnPart: lambda session, user_id, _: repair.choose_place(session, user_id, False),
    RepairCommonPart: lambda session, user_id, _: repair.choose_place(session, user_id, True),
    RepairDefaultSpot: lambda session, user_id, _: repair.set_spot(session, user_id, None),
    RepairUrgency: lambda session, user_id, button: repair.choose_urgency(
        session, user_id, button.urgent
    ),
    RepairPhotosDone: lambda session, user_id, _: repair.photos_done(session, user_id),
    RepairNoLocation: lambda session, user_id, _: repair.set_location(session, user_id, None, None),
}


def intake_button(step: Callable[[AsyncSession, int, B], Awaitable[Draft | None]]) -> Press[B]:
    """A button of the intake: its change of the draft, then the draft's next question."""

    async def pressed(update: Update, context: LinliContext, button: B) -> None:
        async with context.session() as session:
            draft = await step(session, update.effective_user.id, button)
        await accept_button(update.callback_query)
        if draft is None:
            await reply(update, context, "repair.cancelled")
        else:
            await prompt(update, context, draft)

    return pressed


async def submit(update: Update, context: LinliContext, _: RepairSubmit) -> None:
    settings = context.settings
    async with context.session() as session:
        request = await repair.submit(
            session, update.effective_user.id, context.actor, settings.repair, settings.zone
        )
        community = await repair.community_with_id(session, request.community_id)
        key = f"repair.filed_{request.route}"
        unforwarded = request.route == RepairRoute.PROPERTY and (
            await repair.reachable_property_manager(session, community) is None
        )
        if unforwarded:  # nobody passes it on: the household is to call the manager
            key = "repair.filed_property_contact"
    await accept_button(update.callback_query)
    await reply(
        update,
        context,
        key,
        number=request.number,
        why=reasons(context, request, community),
        manager=community.property_manager or "",
        owners=settings.repair.owners_percent,
        government=100 - settings.repair.owners_percent,
    )


def reasons(context: LinliContext, request: RepairRequest, community: Community) -> str:
    values = {
        "year": community.delivery_year or "?",
        "cutoff": context.settings.repair.fund_delivered_before,
    }
    lines = [f"· {context.t(key, **values)}" for key in request.route_reasons]
    if request.route_override:
        lines.append(f"· {context.t('repair.overridden', reason=request.route_override)}")
    return "\n".join(lines)


# Following requests


async def list_page(
    update: Update,
    context: LinliContext,
    title: str,
    rows: list[list[InlineKeyboardButton]],
    page: repair.Page,
    kind: type[PageButton],
) -> None:
    """A page of a list: a new message for its command, or in place of the page shown
    when ◀ / ▶ (a ``kind`` of page button) was pressed."""
    either_side = [("repair.page_previous", page.number - 1), ("repair.page_next", page.number + 1)]
    navigation = [
        InlineKeyboardButton(context.t(key), callback_data=kind(n).pack())
        for key, n in either_side
        if 1 <= n <= page.pages
    ]
    if page.pages > 1:
        title += "\n" + context.t("repair.page_of", page=page.number, pages=page.pages)
    keyboard = [*rows, navigation] if navigation else rows
    markup = InlineKeyboardMarkup(keyboard) if keyboard else None  # an empty queue: none
    query = update.callback_query
    if query is None:
        await context.bot.send_message(update.effective_chat.id, title, reply_markup=markup)
        return
    await query.answer()
    try:
        await query.edit_message_text(title, reply_markup=markup)
    except BadRequest as error:  # a repeated press: the page is shown already
        if "not modified" not in error.message:
            raise


async def my_requests(update: Update, context: LinliContext) -> None:
    """/myrequests: its first page."""
    await my_requests_page(update, context, 1)


async def my_requests_page(update: Update, context: LinliContext, number: int) -> None:
    """A page of the household's requests, newest first; an empty list is said in words."""
    async with context.session() as session:
        page = await repair.of_household(session, update.effective_user.id, number)
    if not page.requests:
        raise RepairError("repair.none_yet")
    rows = [
        [
            button(
                context,
                "repair.list_line",
                RepairShow(r.id),
                number=r.number,
                category=context.t(f"repair.category_{r.category}"),
                state=context.t(f"repair.state_{r.state}"),
            )
        ]
        for r in page.requests
    ]
    await list_page(update, context, context.t("repair.yours"), rows, page, RepairPage)


def card(context: LinliContext, request: RepairRequest, address: Address) -> str:
    """A request as its household and staff see it; once done, the shares are of the final cost."""
    money = repair.money_values(request)
    if request.cost_fen is not None:
        money["estimate"] = context.t("repair.estimate_then_cost", **money)
    return context.t(
        "repair.card",
        number=request.number,
        state=context.t(f"repair.state_{request.state}"),
        address=address_text(context, address),
        category=context.t(f"repair.category_{request.category}"),
        place=request.place,
        urgent=context.t(repair.urgency_key(request)),
        route=context.t(f"repair.route_{request.route}"),
        description=request.description,
        photos=len(request.photos),
        filed=local_time(context, request.created_at),
        age=repair.age(context.language, request.created_at),
        **money,
    )


def history_lines(context: LinliContext, events: list[AuditEvent]) -> list[str]:
    lines = [context.t("repair.history")]
    for event in events:
        what = event.action.removeprefix("repair/")
        note = event.details.get("note")
        if what == "estimate_revised":
            note = context.t(
                "repair.revised_figures",
                previous=repair.yuan(event.details["previous_estimate_fen"]),
                estimate=repair.yuan(event.details["estimate_fen"]),
            )
        line = f"{local_time(context, event.at)} {context.t(f'repair.event_{what}')}"
        lines.append(line + (f"：{note}" if note else ""))
    return lines


async def show(update: Update, context: LinliContext, pressed: RepairShow) -> None:
    async with context.session() as session:
        request = await repair.request_for_resident(
            session, pressed.request, update.effective_user.id
        )
        address = await address_of(session, request.household_id)
        events = await repair.history(session, request)
    await update.callback_query.answer()
    moves = [
        button(context, move.label, RESIDENT_MOVES[move.action](request.id))
        for move in repair.MACHINE.available(request, Party.RESIDENT)
    ]
    rows = [moves] if moves else []
    if request.question:
        rows.append([button(context, "repair.answer_button", RepairAnswer(request.id))])
    await send_lines(
        update, context, [card(context, request, address), *history_lines(context, events)]
    )
    if rows:
        await reply(update, context, "repair.what_now", markup=InlineKeyboardMarkup(rows))


async def confirm(update: Update, context: LinliContext, pressed: RepairConfirm) -> None:
    async with context.session() as session:
        request = await repair.resident_move(
            session, pressed.request, RepairState.CONFIRMED, update.effective_user.id, context.actor
        )
    await accept_button(update.callback_query)
    stars = [[button(context, "repair.stars", RepairRate(request.id, n), n=n) for n in RATING]]
    await reply(update, context, "repair.ask_rating", markup=InlineKeyboardMarkup(stars))


async def rate(update: Update, context: LinliContext, pressed: RepairRate) -> None:
    async with context.session() as session:
        await repair.rate(
            session, pressed.request, update.effective_user.id, pressed.stars, context.actor
        )
    await accept_button(update.callback_query)
    await reply(update, context, "repair.rated", stars=pressed.stars)


async def withdraw(update: Update, context: LinliContext, pressed: RepairWithdraw) -> None:
    async with context.session() as session:
        await repair.resident_move(
            session, pressed.request, RepairState.WITHDRAWN, update.effective_user.id, context.actor
        )
    await accept_button(update.callback_query)


async def ask_reason(update: Update, context: LinliContext, pressed: RequestButton) -> None:
    """Reopening and answering staff take typed text: open a dialogue for it."""
    kind = REOPEN_DIALOGUE if isinstance(pressed, RepairReopen) else repair.ANSWER_DIALOGUE
    async with context.session() as session:
        request = await repair.request_for_resident(
            session, pressed.request, update.effective_user.id
        )
        await dialogues.start(session, update.effective_user.id, kind, request=request.id)
    await update.callback_query.answer()
    key = "repair.ask_reopen_reason" if kind == REOPEN_DIALOGUE else "repair.ask_answer"
    await reply(update, context, key, number=request.number, question=request.question or "")


async def reopen_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    user_id = update.effective_user.id
    async with context.session() as session:
        await repair.resident_move(
            session,
            dialogue.data["request"],
            RepairState.REOPENED,
            user_id,
            context.actor,
            update.effective_message.text,
        )
        await dialogues.finish(session, user_id)


async def answer_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    async with context.session() as session:
        request = await repair.answer(
            session,
            dialogue.data["request"],
            update.effective_user.id,
            update.effective_message.text,
            context.actor,
        )
    await reply(update, context, "repair.answer_sent", number=request.number)


def answered(press: Press[B]) -> Press[B]:
    """A resident's repair button whose refusal is told as an alert; a press of an earlier
    step's button asks again for what the draft waits for."""

    async def pressed(update: Update, context: LinliContext, button: B) -> None:
        try:
            await press(update, context, button)
        except RepairError as refusal:
            await refuse(update, context, refusal)
            if refusal.reason == "repair.wrong_step":
                await show_current_step(update, context)

    return pressed


async def show_current_step(update: Update, context: LinliContext) -> None:
    """Ask again what the draft waits for: the resident pressed an earlier step's button,
    perhaps because the question that followed it never reached them."""
    try:
        async with context.session() as session:
            draft = await repair.draft_of(session, update.effective_user.id)
    except RepairError:
        return
    await prompt(update, context, draft)


async def page_of_mine(update: Update, context: LinliContext, pressed: RepairPage) -> None:
    await my_requests_page(update, context, pressed.page)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("repair", start_report),
        CommandHandler("myrequests", my_requests),
        *(ButtonHandler(kind, answered(intake_button(step))) for kind, step in INTAKE.items()),
        ButtonHandler(RepairSubmit, answered(submit)),
        ButtonHandler(RepairPage, answered(page_of_mine)),
        ButtonHandler(RepairShow, answered(show)),
        ButtonHandler(RepairConfirm, answered(confirm)),
        ButtonHandler(RepairReopen, answered(ask_reason)),
        ButtonHandler(RepairAnswer, answered(ask_reason)),
        ButtonHandler(RepairWithdraw, answered(withdraw)),
        ButtonHandler(RepairRate, answered(rate)),
    ]


def steps() -> dict:
    return {
        repair.DIALOGUE: intake_text,
        REOPEN_DIALOGUE: reopen_text,
        repair.ANSWER_DIALOGUE: answer_text,
    }


def media_steps() -> dict:
    return {repair.DIALOGUE: intake_media}
