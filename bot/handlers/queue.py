"""Staff work the repair queue of their communities (/queue) and admins read the fund report.

Buttons are ``v1:rq:<action>:<request>``. Actions that need words (a reason,
a question, an amount) open a dialogue for the next typed message.
"""

from __future__ import annotations

import io
from datetime import date, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.flows import charts, dialogues, exports, repair
from bot.flows.menu import yuan_to_fen
from bot.flows.registry import StaffMember
from bot.flows.repair import RepairError
from bot.handlers import callbacks
from bot.handlers.common import accept_button, reply, send_lines
from bot.handlers.context import LinliContext
from bot.handlers.repair import card, history_lines, reasons, refusal_text
from bot.handlers.staff import staff_of
from storage.models import Community, Dialogue, RepairRequest, RepairRoute, RepairState, Role

S = RepairState
WORDS_DIALOGUE = "repair_staff"
# Moves made with one press: action -> the state it leads to.
PRESSES = {
    "acc": S.TRIAGED,
    "ok": S.APPROVED,
    "go": S.IN_PROGRESS,
    "done": S.DONE,
    "close": S.CLOSED,
}
# Actions that need typed words: action -> the prompt's catalogue key.
WORDS = {
    "rej": "queue.ask_reject_reason",
    "ask": "queue.ask_question",
    "est": "queue.ask_estimate",
    "fund": "queue.ask_reroute_reason",
    "prop": "queue.ask_reroute_reason",
}


def button(context: LinliContext, key: str, action: str, request_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        context.t(key), callback_data=callbacks.encode("rq", action, request_id)
    )


def actions(context: LinliContext, request: RepairRequest) -> list[list[InlineKeyboardButton]]:
    """The buttons for what may happen next, by state and route."""
    fund = request.route == RepairRoute.FUND
    state = RepairState(request.state)
    by_state = {
        S.SUBMITTED: ["acc", "rej"],
        S.TRIAGED: ["est" if fund else "go", "rej"],
        S.ESTIMATED: ["ok"],
        S.APPROVED: ["go"],
        S.REOPENED: ["go"],
        S.IN_PROGRESS: ["done"],
        S.DONE: ["close"],
    }
    row = [button(context, f"queue.do_{a}", a, request.id) for a in by_state.get(state, [])]
    more = []
    if state in (S.SUBMITTED, S.TRIAGED):
        more.append(
            button(
                context,
                "queue.do_prop" if fund else "queue.do_fund",
                "prop" if fund else "fund",
                request.id,
            )
        )
    if state not in repair.FINISHED:
        more.append(button(context, "queue.do_ask", "ask", request.id))
    if request.photos:
        more.append(button(context, "queue.do_photos", "pho", request.id))
    return [r for r in (row, more) if r]


async def queue(update: Update, context: LinliContext) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    async with context.db.session() as session:
        requests = await repair.queue(session, member)
    if not requests:
        await reply(update, context, "queue.empty")
        return
    rows = [
        [
            InlineKeyboardButton(
                context.t(
                    "queue.line",
                    urgent="🔴" if r.urgent else "⚪",
                    number=r.number,
                    category=context.t(f"repair.category_{r.category}"),
                    state=context.t(f"repair.state_{r.state}"),
                ),
                callback_data=callbacks.encode("rq", "show", r.id),
            )
        ]
        for r in requests
    ]
    await reply(update, context, "queue.title", markup=InlineKeyboardMarkup(rows))


async def show(update: Update, context: LinliContext, member: StaffMember, request_id: int) -> None:
    async with context.db.session() as session:
        request = await repair.request_for_staff(session, request_id, member)
        community = await session.get(Community, request.community_id)
    await update.callback_query.answer()
    text = "\n".join(
        [
            card(context, request),
            context.t("queue.route_why", why=reasons(context, request, community)),
            *await history_lines(context, request),
        ]
    )
    await send_lines(update, context, [text])
    rows = actions(context, request)
    if rows:
        await reply(update, context, "queue.what_now", markup=InlineKeyboardMarkup(rows))


async def photos(update: Update, context: LinliContext, member: StaffMember, request_id: int):
    async with context.db.session() as session:
        request = await repair.request_for_staff(session, request_id, member)
    await update.callback_query.answer()
    for number, file_id in enumerate(request.photos, start=1):
        caption = context.t("queue.photo_caption", number=request.number, n=number)
        await context.bot.send_photo(update.effective_chat.id, file_id, caption=caption)


async def press(update: Update, context: LinliContext, member: StaffMember, request_id: int, to):
    async with context.db.session() as session:
        request = await repair.staff_move(session, request_id, to, member, context.actor)
    await accept_button(update.callback_query)
    context.application.bot_data["sender"].poke()
    await reply(
        update,
        context,
        "queue.moved",
        number=request.number,
        state=context.t(f"repair.state_{request.state}"),
    )


async def ask_words(update: Update, context: LinliContext, member, request_id: int, action: str):
    async with context.db.session() as session:
        request = await repair.request_for_staff(session, request_id, member)
        await dialogues.start(
            session, update.effective_user.id, WORDS_DIALOGUE, request=request.id, action=action
        )
    await update.callback_query.answer()
    await reply(update, context, WORDS[action], number=request.number)


async def words_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """The reason, question or amount typed for an action of the queue."""
    member = await staff_of(update, context)
    if member is None:
        return
    typed = update.effective_message.text
    action, request_id = dialogue.data["action"], dialogue.data["request"]
    user_id, actor = update.effective_user.id, context.actor
    try:
        async with context.db.session() as session:
            if action == "rej":
                request = await repair.staff_move(
                    session, request_id, S.REJECTED, member, actor, typed
                )
            elif action == "ask":
                request = await repair.ask_resident(session, request_id, typed, member, actor)
            elif action == "est":
                fen = yuan_to_fen(typed.replace("元", "").replace("¥", ""))
                if fen is None:
                    raise RepairError("repair.bad_amount")
                request = await repair.estimate(
                    session, request_id, fen, member, actor, context.settings.repair
                )
            else:
                route = RepairRoute.FUND if action == "fund" else RepairRoute.PROPERTY
                request = await repair.reroute(session, request_id, route, typed, member, actor)
            await dialogues.finish(session, user_id)
    except RepairError as refusal:
        await context.bot.send_message(update.effective_chat.id, refusal_text(context, refusal))
        return
    context.application.bot_data["sender"].poke()
    await reply(
        update,
        context,
        f"queue.done_{action}",
        number=request.number,
        **repair.money_values(request),
    )


async def queue_button(update: Update, context: LinliContext) -> None:
    query = update.callback_query
    member = await staff_of(update, context)
    if member is None:
        return
    parts = callbacks.decode(query.data, "rq", 2)
    if parts is None or not parts[1].isdigit():
        await query.answer(context.t("button.stale"), show_alert=True)
        return
    action, request_id = parts[0], int(parts[1])
    try:
        if action == "show":
            await show(update, context, member, request_id)
        elif action == "pho":
            await photos(update, context, member, request_id)
        elif action in PRESSES:
            await press(update, context, member, request_id, PRESSES[action])
        elif action in WORDS:
            await ask_words(update, context, member, request_id, action)
        else:
            raise RepairError("button.stale")
    except RepairError as refusal:
        await query.answer(refusal_text(context, refusal), show_alert=True)


# The fund report


async def fund_report(update: Update, context: LinliContext) -> None:
    """/fundreport [year]: uses of the emergency repair fund, for admins."""
    member = await staff_of(update, context)
    if member is None:
        return
    if member.role is not Role.ADMIN:
        await reply(update, context, "ranking.admins_only")
        return
    this_year = datetime.now(context.settings.zone).year
    typed = context.args[0] if context.args else str(this_year)
    if not (typed.isdigit() and 2000 <= int(typed) <= 2100):
        await reply(update, context, "queue.report_year", example=this_year)
        return
    year = int(typed)
    async with context.db.session() as session:
        report = await repair.fund_report(
            session, context.settings.zone, date(year, 1, 1), date(year + 1, 1, 1)
        )
    lines = [
        context.t(
            "queue.report_head",
            year=year,
            uses=report.uses,
            total=repair.yuan(report.cost_fen),
            owners=repair.yuan(report.owners_fen),
            government=repair.yuan(report.government_fen),
        )
    ]
    lines += [
        context.t(
            "queue.report_line",
            community=line.community,
            month=line.month,
            uses=line.uses,
            total=repair.yuan(line.cost_fen),
        )
        for line in report.lines
    ]
    await send_lines(update, context, lines)
    if not report.lines:
        return
    chat = update.effective_chat.id
    await context.bot.send_photo(chat, charts.fund_chart(context.language, report))
    table = io.BytesIO()
    exports.write_xlsx(table, "fund", exports.FUND_HEADERS, exports.fund_rows(report))
    await context.bot.send_document(chat, InputFile(table.getvalue(), filename=f"fund-{year}.xlsx"))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("queue", queue),
        CommandHandler("fundreport", fund_report),
        CallbackQueryHandler(queue_button, pattern=callbacks.pattern("rq")),
    ]


def steps() -> dict:
    return {WORDS_DIALOGUE: words_text}
