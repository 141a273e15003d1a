"""Residents report repairs and follow them: /repair, /myrequests, confirm, reopen, rate.

Buttons are ``v1:rep:<action>[:<argument>...]``, and ``v1:rep:page:<n>`` for
a page of /myrequests; the intake's draft lives in the database, so every
press and message is checked against it again.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.flows import dialogues, repair
from bot.flows.repair import Draft, RepairError
from bot.flows.transitions import Party
from bot.handlers import callbacks
from bot.handlers.common import accept_button, local_time, reply, send_lines
from bot.handlers.context import LinliContext
from storage.models import Community, Dialogue, RepairRequest, RepairState

REOPEN_DIALOGUE = "repair_reopen"
RATING = range(1, 6)


def button(context: LinliContext, key: str, *parts: object, **values) -> InlineKeyboardButton:
    data = ":".join(["v1", "rep", *map(str, parts)])
    return InlineKeyboardButton(context.t(key, **values), callback_data=data)


def steering(context: LinliContext) -> list[InlineKeyboardButton]:
    return [button(context, "repair.back", "back"), button(context, "repair.cancel", "cancel")]


def refusal_text(context: LinliContext, refusal: RepairError) -> str:
    values = {
        name: context.t(value) if isinstance(value, str) and value.startswith("repair.") else value
        for name, value in refusal.values.items()
    }
    return context.t(refusal.reason, **values)


async def prompt(update: Update, context: LinliContext, draft: Draft) -> None:
    """Ask for what the draft's step needs."""
    rows: list[list[InlineKeyboardButton]] = []
    values: dict[str, object] = {}
    if draft.step == "category":
        categories = [
            button(context, f"repair.category_{code}", "cat", code) for code in repair.CATEGORIES
        ]
        rows = [categories[i : i + 2] for i in range(0, len(categories), 2)]
        rows.append([button(context, "repair.cancel", "cancel")])
    elif draft.step == "place":
        rows = [
            [
                button(context, "repair.place_own", "own"),
                button(context, "repair.place_common", "common"),
            ],
            steering(context),
        ]
    elif draft.step == "spot":
        values["place"] = draft.data.get("place", "")
        rows = [[button(context, "repair.spot_default", "spot", place=values["place"])]]
        rows.append(steering(context))
    elif draft.step == "urgent":
        rows = [
            [button(context, "repair.urgent_yes", "urg", 1)],
            [button(context, "repair.urgent_no", "urg", 0)],
            steering(context),
        ]
    elif draft.step == "description":
        rows = [steering(context)]
    elif draft.step == "photos":
        values.update(count=len(draft.photos), most=repair.MAX_PHOTOS)
        rows = [[button(context, "repair.photos_done", "pdone")], steering(context)]
    elif draft.step == "location":
        rows = [[button(context, "repair.no_location", "noloc")], steering(context)]
    else:
        values["summary"] = summary(context, draft.data)
        rows = [[button(context, "repair.submit", "submit")], steering(context)]
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
    try:
        async with context.session() as session:
            draft = await repair.start_intake(session, update.effective_user.id)
    except RepairError as refusal:
        await context.bot.send_message(update.effective_chat.id, refusal_text(context, refusal))
        return
    await prompt(update, context, draft)


async def intake_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """Typed text during the intake: the spot, the description, or a nudge to the buttons."""
    user_id, typed = update.effective_user.id, update.effective_message.text
    step = dialogue.data.get("step")
    try:
        async with context.session() as session:
            if step == "spot":
                draft = await repair.set_spot(session, user_id, typed)
            elif step == "description":
                draft = await repair.set_description(session, user_id, typed)
            else:
                raise RepairError(f"repair.expects_{step}")
    except RepairError as refusal:
        await context.bot.send_message(update.effective_chat.id, refusal_text(context, refusal))
        return
    await prompt(update, context, draft)


async def intake_media(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """A photo at the photo step, a location pin at the location step."""
    message, user_id = update.effective_message, update.effective_user.id
    step = dialogue.data.get("step")
    try:
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
    except RepairError as refusal:
        await context.bot.send_message(update.effective_chat.id, refusal_text(context, refusal))
        return
    await prompt(update, context, draft)


async def intake_button(update: Update, context: LinliContext, parts: list[str]) -> None:
    user_id, action = update.effective_user.id, parts[0]
    async with context.session() as session:
        if action == "new":
            draft = await repair.start_intake(session, user_id)
        elif action == "cancel":
            await repair.draft_of(session, user_id)
            await dialogues.finish(session, user_id)
            draft = None
        elif action == "back":
            draft = await repair.back(session, user_id)
        elif action == "cat" and len(parts) == 2:
            draft = await repair.choose_category(session, user_id, parts[1])
        elif action in ("own", "common"):
            draft = await repair.choose_place(session, user_id, action == "common")
        elif action == "spot":
            draft = await repair.set_spot(session, user_id, None)
        elif action == "urg" and parts[1:] in (["0"], ["1"]):
            draft = await repair.choose_urgency(session, user_id, parts[1] == "1")
        elif action == "pdone":
            draft = await repair.photos_done(session, user_id)
        elif action == "noloc":
            draft = await repair.set_location(session, user_id, None, None)
        else:
            raise RepairError("button.stale")
    await accept_button(update.callback_query)
    if draft is None:
        await reply(update, context, "repair.cancelled")
    else:
        await prompt(update, context, draft)


async def submit(update: Update, context: LinliContext) -> None:
    settings = context.settings
    async with context.session() as session:
        request = await repair.submit(
            session, update.effective_user.id, context.actor, settings.repair, settings.zone
        )
        community = await session.get(Community, request.community_id)
    await accept_button(update.callback_query)
    await reply(
        update,
        context,
        f"repair.filed_{request.route}",
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
    feature: str,
) -> None:
    """A page of a list: a new message for its command, or in place of the page shown
    when ◀ / ▶ (``v1:<feature>:page:<n>``) was pressed."""
    either_side = [("repair.page_previous", page.number - 1), ("repair.page_next", page.number + 1)]
    navigation = [
        InlineKeyboardButton(context.t(key), callback_data=callbacks.encode(feature, "page", n))
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
    try:
        await my_requests_page(update, context, 1)
    except RepairError as refusal:
        await context.bot.send_message(update.effective_chat.id, refusal_text(context, refusal))


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
                "show",
                r.id,
                number=r.number,
                category=context.t(f"repair.category_{r.category}"),
                state=context.t(f"repair.state_{r.state}"),
            )
        ]
        for r in page.requests
    ]
    await list_page(update, context, context.t("repair.yours"), rows, page, "rep")


def card(context: LinliContext, request: RepairRequest) -> str:
    """A request as its household and staff see it; once done, the shares are of the final cost."""
    money = repair.money_values(request)
    if request.cost_fen is not None:
        money["estimate"] = context.t("repair.estimate_then_cost", **money)
    return context.t(
        "repair.card",
        number=request.number,
        state=context.t(f"repair.state_{request.state}"),
        category=context.t(f"repair.category_{request.category}"),
        place=request.place,
        urgent=context.t("repair.urgent_yes" if request.urgent else "repair.urgent_no"),
        route=context.t(f"repair.route_{request.route}"),
        description=request.description,
        photos=len(request.photos),
        filed=local_time(context, request.created_at),
        **money,
    )


async def history_lines(context: LinliContext, request: RepairRequest) -> list[str]:
    async with context.session() as session:
        events = await repair.history(session, request.id)
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


async def show(update: Update, context: LinliContext, request_id: int) -> None:
    async with context.session() as session:
        request = await repair.request_for_resident(session, request_id, update.effective_user.id)
    await update.callback_query.answer()
    moves = [
        button(context, move.label, move.action, request.id)
        for move in repair.MACHINE.available(request, Party.RESIDENT)
    ]
    rows = [moves] if moves else []
    if request.question:
        rows.append([button(context, "repair.answer_button", "ans", request.id)])
    await send_lines(
        update, context, [card(context, request), *await history_lines(context, request)]
    )
    if rows:
        await reply(update, context, "repair.what_now", markup=InlineKeyboardMarkup(rows))


async def confirm(update: Update, context: LinliContext, request_id: int) -> None:
    async with context.session() as session:
        request = await repair.resident_move(
            session, request_id, RepairState.CONFIRMED, update.effective_user.id, context.actor
        )
    await accept_button(update.callback_query)
    stars = [[button(context, "repair.stars", "rate", request.id, n, n=n) for n in RATING]]
    await reply(update, context, "repair.ask_rating", markup=InlineKeyboardMarkup(stars))


async def rate(update: Update, context: LinliContext, request_id: int, stars: int) -> None:
    async with context.session() as session:
        await repair.rate(session, request_id, update.effective_user.id, stars, context.actor)
    await accept_button(update.callback_query)
    await reply(update, context, "repair.rated", stars=stars)


async def withdraw(update: Update, context: LinliContext, request_id: int) -> None:
    async with context.session() as session:
        await repair.resident_move(
            session, request_id, RepairState.WITHDRAWN, update.effective_user.id, context.actor
        )
    await accept_button(update.callback_query)


async def ask_reason(update: Update, context: LinliContext, request_id: int, kind: str) -> None:
    """Reopening and answering staff take typed text: open a dialogue for it."""
    async with context.session() as session:
        request = await repair.request_for_resident(session, request_id, update.effective_user.id)
        await dialogues.start(session, update.effective_user.id, kind, request=request.id)
    await update.callback_query.answer()
    key = "repair.ask_reopen_reason" if kind == REOPEN_DIALOGUE else "repair.ask_answer"
    await reply(update, context, key, number=request.number, question=request.question or "")


async def reopen_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    user_id = update.effective_user.id
    try:
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
    except RepairError as refusal:
        await context.bot.send_message(update.effective_chat.id, refusal_text(context, refusal))
        return


async def answer_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    try:
        async with context.session() as session:
            request = await repair.answer(
                session,
                dialogue.data["request"],
                update.effective_user.id,
                update.effective_message.text,
                context.actor,
            )
    except RepairError as refusal:
        await context.bot.send_message(update.effective_chat.id, refusal_text(context, refusal))
        return
    await reply(update, context, "repair.answer_sent", number=request.number)


INTAKE = {"new", "cancel", "back", "cat", "own", "common", "spot", "urg", "pdone", "noloc"}


async def repair_button(update: Update, context: LinliContext) -> None:
    query = update.callback_query
    parts = callbacks.decode_any(query.data, "rep") or []
    try:
        if parts and parts[0] in INTAKE:
            await intake_button(update, context, parts)
        elif parts == ["submit"]:
            await submit(update, context)
        elif len(parts) == 2 and parts[0] == "page" and parts[1].isdigit():
            await my_requests_page(update, context, int(parts[1]))
        elif len(parts) >= 2 and parts[1].isdigit():
            await request_button(update, context, parts[0], int(parts[1]), parts[2:])
        else:
            raise RepairError("button.stale")
    except RepairError as refusal:
        await query.answer(refusal_text(context, refusal), show_alert=True)
        if refusal.reason == "repair.wrong_step":
            await show_current_step(update, context)


async def show_current_step(update: Update, context: LinliContext) -> None:
    """Ask again what the draft waits for: the resident pressed an earlier step's button,
    perhaps because the question that followed it never reached them."""
    try:
        async with context.session() as session:
            draft = await repair.draft_of(session, update.effective_user.id)
    except RepairError:
        return
    await prompt(update, context, draft)


async def request_button(
    update: Update, context: LinliContext, action: str, request_id: int, rest: list[str]
) -> None:
    if action == "show" and not rest:
        await show(update, context, request_id)
    elif action == "ok" and not rest:
        await confirm(update, context, request_id)
    elif action == "re" and not rest:
        await ask_reason(update, context, request_id, REOPEN_DIALOGUE)
    elif action == "ans" and not rest:
        await ask_reason(update, context, request_id, repair.ANSWER_DIALOGUE)
    elif action == "wd" and not rest:
        await withdraw(update, context, request_id)
    elif action == "rate" and len(rest) == 1 and rest[0].isdigit():
        await rate(update, context, request_id, int(rest[0]))
    else:
        raise RepairError("button.stale")


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("repair", start_report),
        CommandHandler("myrequests", my_requests),
        CallbackQueryHandler(repair_button, pattern=callbacks.pattern("rep")),
    ]


def steps() -> dict:
    return {
        repair.DIALOGUE: intake_text,
        REOPEN_DIALOGUE: reopen_text,
        repair.ANSWER_DIALOGUE: answer_text,
    }


def media_steps() -> dict:
    return {repair.DIALOGUE: intake_media}
