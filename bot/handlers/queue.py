"""Staff work the repair queue of their communities (/queue) and admins read the fund report.

Buttons are the ``Queue...`` kinds of ``bot.flows.callback_data``, one per
action. Opening a request sends its pin and photos, then its card with the
moves the flow's transition table offers now (``repair.MACHINE.available``).
A move of one press edits the card in place with the moves that follow, so
staff walk a request through without going back to the queue. Actions that
need words (a reason, a question, an amount) open a dialogue for the next
typed message, then show the card again with its next moves.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaPhoto,
    Update,
)
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import charts, dialogues, exports, repair
from bot.flows.callback_data import (
    STAFF_MOVES,
    CallbackData,
    QueueAccept,
    QueueApprove,
    QueueAsk,
    QueueClose,
    QueueDone,
    QueueEstimate,
    QueueFinish,
    QueuePage,
    QueueReject,
    QueueSameAsEstimate,
    QueueShow,
    QueueStart,
    QueueToFund,
    QueueToProperty,
    RequestButton,
)
from bot.flows.menu import yuan_to_fen
from bot.flows.registry import StaffMember, address_of
from bot.flows.repair import RepairError
from bot.flows.transitions import Party
from bot.handlers.buttons import B, ButtonHandler, Press
from bot.handlers.common import (
    MESSAGE_LIMIT,
    accept_button,
    address_text,
    document_name,
    reply,
    send_lines,
)
from bot.handlers.context import LinliContext
from bot.handlers.repair import card, history_lines, list_page, reasons
from bot.handlers.staff import StaffPress, staff_of, staff_press
from storage.models import Community, Dialogue, RepairRequest, RepairRoute, RepairState, Role

S = RepairState
WORDS_DIALOGUE = "repair_staff"
# Moves made with one press; the others need words first.
PRESSES = (QueueAccept, QueueApprove, QueueStart, QueueDone, QueueClose)
WORDS_KINDS = (QueueReject, QueueAsk, QueueEstimate, QueueFinish, QueueToFund, QueueToProperty)
# Actions that need typed words: action -> the prompt's catalogue key.
WORDS = {
    "rej": "queue.ask_reject_reason",
    "ask": "queue.ask_question",
    "est": "queue.ask_estimate",
    "fin": "queue.ask_final_cost",
    "fund": "queue.ask_reroute_reason",
    "prop": "queue.ask_reroute_reason",
}


def button(context: LinliContext, key: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(context.t(key), callback_data=data.pack())


def move_buttons(context: LinliContext, request: RepairRequest) -> list[InlineKeyboardButton]:
    """A button for each move the transition table lets staff make now."""
    return [
        button(context, move.label, STAFF_MOVES[move.action](request.id))
        for move in repair.MACHINE.available(request, Party.STAFF)
    ]


def actions(context: LinliContext, request: RepairRequest) -> list[list[InlineKeyboardButton]]:
    """The buttons for what may happen next, by state and route."""
    fund = request.route == RepairRoute.FUND
    state = RepairState(request.state)
    row = move_buttons(context, request)
    more = []
    if state in (S.SUBMITTED, S.TRIAGED):
        reroute = QueueToProperty(request.id) if fund else QueueToFund(request.id)
        more.append(button(context, "queue.do_prop" if fund else "queue.do_fund", reroute))
    if state not in repair.FINISHED:
        more.append(button(context, "queue.do_ask", QueueAsk(request.id)))
    return [r for r in (row, more) if r]


async def queue(update: Update, context: LinliContext) -> None:
    """/queue: its first page."""
    member = await staff_of(update, context)
    if member is None:
        return
    await queue_page(update, context, member, 1)


async def queue_page(
    update: Update, context: LinliContext, member: StaffMember, number: int
) -> None:
    """A page of the queue: sent for /queue, in place of the page shown for ◀ / ▶."""
    async with context.session() as session:
        page = await repair.queue(session, member, number)
        addresses = await repair.addresses(session, page.requests)
    rows = [
        [
            InlineKeyboardButton(
                context.t(
                    "queue.line",
                    urgent="🔴" if r.urgent else "⚪",
                    number=r.number,
                    address=address_text(context, addresses[r.household_id]),
                    category=context.t(f"repair.category_{r.category}"),
                    age=repair.age(context.language, r.created_at),
                    state=context.t(f"repair.state_{r.state}"),
                ),
                callback_data=QueueShow(r.id).pack(),
            )
        ]
        for r in page.requests
    ]
    title = "queue.title" if page.requests else "queue.empty"
    await list_page(update, context, context.t(title), rows, page, QueuePage)


async def show(update: Update, context: LinliContext, member: StaffMember, pressed: QueueShow):
    """The request's pin and photos, once, then its card with the next moves."""
    async with context.session() as session:
        request = await repair.request_for_staff(session, pressed.request, member)
    await context.query.answer()
    chat = update.effective_chat.id
    if request.latitude is not None and request.longitude is not None:
        await context.bot.send_location(chat, request.latitude, request.longitude)
    captions = [
        context.t("queue.photo_caption", number=request.number, n=n)
        for n in range(1, len(request.photos) + 1)
    ]
    if len(request.photos) == 1:
        await context.bot.send_photo(chat, request.photos[0], caption=captions[0])
    elif request.photos:
        album = [
            InputMediaPhoto(photo, caption)
            for photo, caption in zip(request.photos, captions, strict=True)
        ]
        await context.bot.send_media_group(chat, album)
    await send_card(update, context, request)


async def send_card(
    update: Update,
    context: LinliContext,
    request: RepairRequest,
    edit: CallbackQuery | None = None,
) -> None:
    """The request's card, its history and the buttons of its next moves: in place of the
    card whose button was pressed (``edit``) where it fits in one message, else sent anew."""
    async with context.session() as session:
        community = await session.get(Community, request.community_id)
        address = await address_of(session, request.household_id)
        events = await repair.history(session, request)
    lines = [
        card(context, request, address),
        context.t("queue.route_why", why=reasons(context, request, community)),
        *history_lines(context, events),
    ]
    rows = actions(context, request)
    markup = InlineKeyboardMarkup(rows) if rows else None
    text = "\n".join(lines)
    if edit is not None and len(text) <= MESSAGE_LIMIT:
        await edit.edit_message_text(text, reply_markup=markup)
        return
    if edit is not None:  # grown too long for one message: the old card's buttons go
        await edit.edit_message_reply_markup(None)
    await send_lines(update, context, lines, markup)


async def press(update: Update, context: LinliContext, member: StaffMember, pressed: RequestButton):
    """A move made with one press: said in a moment's notice, and the card shows what follows."""
    to = repair.MACHINE.target_of(pressed.last_word(), Party.STAFF)
    if to is None:  # not a move of the table
        raise RepairError("button.stale")
    async with context.session() as session:
        request = await repair.staff_move(
            session, pressed.request, RepairState(to), member, context.actor
        )
    state = context.t(f"repair.state_{request.state}")
    await context.query.answer(context.t("queue.moved", number=request.number, state=state))
    await send_card(update, context, request, edit=context.query)


async def ask_words(update: Update, context: LinliContext, member, pressed: RequestButton):
    """Ask for the words an action needs; a move the request is past is refused at once.
    The card's buttons go: the card comes again, with its next moves, once the words are in."""
    action = pressed.last_word()
    async with context.session() as session:
        request = await repair.request_for_staff(session, pressed.request, member)
        to = repair.MACHINE.target_of(action, Party.STAFF)
        if to is not None:
            repair.MACHINE.transition(request, to, Party.STAFF)
        await dialogues.start(
            session, update.effective_user.id, WORDS_DIALOGUE, request=request.id, action=action
        )
    await accept_button(context.query)
    key = WORDS[action]
    if action == "est" and request.state == S.ESTIMATED:
        key = "queue.ask_revised_estimate"
    markup = None
    if action == "fin":  # most repairs cost what was estimated: one press instead of typing
        same = button(context, "queue.same_as_estimate", QueueSameAsEstimate(request.id))
        markup = InlineKeyboardMarkup([[same]])
    await reply(
        update,
        context,
        key,
        markup=markup,
        number=request.number,
        **repair.money_values(request),
    )


def typed_amount(typed: str) -> int:
    """Yuan as staff type them ("3217.47", "3,217.47元") in fen; refused if not an amount."""
    fen = yuan_to_fen(typed.replace("元", "").replace("¥", ""))
    if fen is None:
        raise RepairError("repair.bad_amount")
    return fen


async def words_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """The reason, question or amount typed for an action of the queue."""
    member = await staff_of(update, context)
    if member is None:
        return
    typed = update.effective_message.text
    action, request_id = dialogue.data["action"], dialogue.data["request"]
    user_id, actor, rules = update.effective_user.id, context.actor, context.settings.repair
    async with context.session() as session:
        if action == "rej":
            request = await repair.staff_move(session, request_id, S.REJECTED, member, actor, typed)
        elif action == "ask":
            request = await repair.ask_resident(session, request_id, typed, member, actor)
        elif action == "est":
            fen = typed_amount(typed)
            request = await repair.estimate(session, request_id, fen, member, actor, rules)
        elif action == "fin":
            fen = typed_amount(typed)
            request = await repair.finish_fund_repair(
                session, request_id, fen, member, actor, rules
            )
        else:
            route = RepairRoute.FUND if action == "fund" else RepairRoute.PROPERTY
            request = await repair.reroute(session, request_id, route, typed, member, actor)
        await dialogues.finish(session, user_id)
    await reply(
        update,
        context,
        f"queue.done_{action}",
        number=request.number,
        route=context.t(f"repair.route_{request.route}"),
        **repair.money_values(request),
    )
    await send_card(update, context, request)


async def same_as_estimate(
    update: Update, context: LinliContext, member: StaffMember, pressed: QueueSameAsEstimate
) -> None:
    """The fund repair is done at its estimate: nothing left to type, so the dialogue ends."""
    user_id = update.effective_user.id
    async with context.session() as session:
        request = await repair.finish_fund_repair(
            session, pressed.request, None, member, context.actor, context.settings.repair
        )
        typing_it = (WORDS_DIALOGUE, {"request": request.id, "action": "fin"})
        waiting = await dialogues.current(session, user_id)
        if waiting is not None and (waiting.kind, waiting.data) == typing_it:
            await dialogues.finish(session, user_id)
    await accept_button(update.callback_query)
    await reply(
        update, context, "queue.done_fin", number=request.number, **repair.money_values(request)
    )
    await send_card(update, context, request)


async def page_of_queue(
    update: Update, context: LinliContext, member: StaffMember, pressed: QueuePage
) -> None:
    await queue_page(update, context, member, pressed.page)


def on_queue(act: StaffPress[B]) -> Press[B]:
    """A button of the queue, for staff; a refusal is told as an alert."""

    async def pressed(update: Update, context: LinliContext, member: StaffMember, button: B):
        await act(update, context, member, button)

    return staff_press(pressed)


# The fund report


def period_of(words: list[str]) -> tuple[date, date, str | None] | None:
    """The first and last day, and the community, that /fundreport's words name.

    ``2020`` is a year; ``2020-01-01 2020-12-31`` two days, both included; a
    community's name may follow. None when the words name no period.
    """
    try:
        if len(words[0]) == 4 and words[0].isascii() and words[0].isdigit():
            year = int(words[0])
            return date(year, 1, 1), date(year, 12, 31), " ".join(words[1:]) or None
        if len(words) >= 2:
            first, last = date.fromisoformat(words[0]), date.fromisoformat(words[1])
            return first, last, " ".join(words[2:]) or None
    except ValueError:
        pass
    return None


def amounts(figures: repair.FundReport | repair.FundLine) -> dict[str, object]:
    return {
        "uses": figures.uses,
        "total": repair.yuan(figures.cost_fen),
        "owners": repair.yuan(figures.owners_fen),
        "government": repair.yuan(figures.government_fen),
    }


async def send_fund_files(
    update: Update, context: LinliContext, report: repair.FundReport, name: str
) -> None:
    """The chart, then the table as CSV and XLSX (written to a scratch folder, then sent)."""
    chat = update.effective_chat.id
    await context.bot.send_photo(chat, charts.fund_chart(context.language, report))
    with tempfile.TemporaryDirectory() as folder:
        written = exports.write_fund_tables(report, Path(folder) / name)
        tables = [(path.name, path.read_bytes()) for path in written]
    for filename, content in tables:
        await context.bot.send_document(chat, InputFile(content, filename=filename))


async def fund_report(update: Update, context: LinliContext) -> None:
    """/fundreport [2020 | 2020-01-01 2020-12-31] [community]: the fund's uses, for admins."""
    member = await staff_of(update, context)
    if member is None:
        return
    if member.role is not Role.ADMIN:
        await reply(update, context, "queue.fund_admins_only")
        return
    this_year = datetime.now(context.settings.zone).year
    period = period_of(context.args or [str(this_year)])
    if period is None:
        await reply(update, context, "queue.fund_usage", year=this_year)
        return
    first, last, community = period
    async with context.session() as session:
        report = await repair.fund_report(session, context.settings.zone, first, last, community)
    where = community or context.t("queue.fund_everywhere")
    lines = [context.t("queue.fund_head", first=first, last=last, where=where, **amounts(report))]
    lines += [
        context.t("queue.fund_line", community=line.community, month=line.month, **amounts(line))
        for line in report.lines
    ]
    await send_lines(update, context, lines)
    if report.lines:
        scope = community or context.t("file.city")
        name = document_name(context, "file.fund", scope=scope, first=first, last=last, suffix="")
        await send_fund_files(update, context, report, name)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("queue", queue),
        CommandHandler("fundreport", fund_report),
        ButtonHandler(QueuePage, on_queue(page_of_queue)),
        ButtonHandler(QueueShow, on_queue(show)),
        ButtonHandler(QueueSameAsEstimate, on_queue(same_as_estimate)),
        *(ButtonHandler(kind, on_queue(press)) for kind in PRESSES),
        *(ButtonHandler(kind, on_queue(ask_words)) for kind in WORDS_KINDS),
    ]


def steps() -> dict:
    return {WORDS_DIALOGUE: words_text}
