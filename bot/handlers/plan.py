"""Staff watch round 2 and settle its plan: live tallies, closing, changes with reasons, confirming.

Buttons are the ``Plan...`` kinds of callback data, one per action. Taking an item out
of the plan or putting one in asks for the reason in a dialogue held in the
database.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler

from bot.flows import charts, dialogues, exports, menu, round2
from bot.flows.callback_data import (
    PlanAskClose,
    PlanButton,
    PlanClose,
    PlanConfirm,
    PlanPutIn,
    PlanResults,
    PlanShow,
    PlanTakeOut,
    RemindNow,
)
from bot.flows.consultation import ConsultationError, percent_text
from bot.flows.registry import StaffMember
from bot.flows.round2 import ItemCount, MenuTally
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import accept_button, document_name, local_month, reply, send_lines
from bot.handlers.context import LinliContext
from bot.handlers.staff import consultation_served, staff_of, staff_press
from storage.models import Consultation, ConsultationStatus, Dialogue, ItemClass

REASON_DIALOGUE = "plan_reason"
REASON_LIMIT = 500


def button(
    context: LinliContext, label: str, kind: type[PlanButton], consultation_id: int, item: int = 0
):
    return InlineKeyboardButton(label, callback_data=kind(consultation_id, item).pack())


def panel_rows(context: LinliContext, consultations: list[Consultation], names: dict[int, str]):
    """The /staff panel's buttons for round-2 consultations: open ones and plans to settle."""
    rows = []
    for found in consultations:
        community = names[found.community_id]
        if found.status == ConsultationStatus.OPEN:
            rows.append(
                [
                    button(
                        context,
                        context.t("plan.results", community=community),
                        PlanResults,
                        found.id,
                    ),
                    InlineKeyboardButton(
                        context.t("staff.remind", community=community),
                        callback_data=RemindNow(found.id).pack(),
                    ),
                    button(
                        context,
                        context.t("staff.close", community=community),
                        PlanAskClose,
                        found.id,
                    ),
                ]
            )
        elif found.plan_confirmed_at is None:
            rows.append(
                [button(context, context.t("plan.settle", community=community), PlanShow, found.id)]
            )
    return rows


def item_line(context: LinliContext, result: MenuTally, row: ItemCount) -> str:
    mark = {True: "✅", False: "▫️", None: "•"}[row.in_plan]
    line = context.t(
        "plan.line",
        mark=mark,
        name=menu.name_of(row.item, context.language),
        households=row.households,
        of_all=percent_text(result.share_of_all(row)),
        of_answered=percent_text(result.share_of_answered(row)),
    )
    if row.plan_note:
        line += "\n    " + context.t("plan.note", note=row.plan_note)
    return line


def tally_lines(context: LinliContext, result: MenuTally) -> list[str]:
    head = context.t(
        "plan.head",
        community=result.community,
        title=result.consultation.title,
        total=result.total,
        answered=result.answered,
        status=context.t(f"results.status_{result.consultation.status}"),
    )
    choosable = [r for r in result.items if r.item.item_class != ItemClass.BASIC]
    basic = [r for r in result.items if r.item.item_class == ItemClass.BASIC]
    basic_names = context.t("menu.separator").join(
        menu.name_of(r.item, context.language) for r in basic
    )
    lines = [head] + [item_line(context, result, row) for row in choosable]
    if basic:
        lines.append(context.t("plan.basic", items=basic_names))
    if result.low_turnout:
        lines.append(
            context.t("menu.plan_low_turnout", answered=result.answered, total=result.total).strip()
        )
    return lines


async def send_tally(update: Update, context: LinliContext, result: MenuTally) -> None:
    """The table, the chart and the spreadsheet of a round-2 tally."""
    await send_lines(update, context, tally_lines(context, result))
    chat = update.effective_chat.id
    await context.bot.send_photo(chat, charts.plan_chart(context.language, result))
    table = io.BytesIO()
    exports.write_xlsx(table, exports.menu_table(result))
    month = local_month(context, result.consultation.opened_at)
    name = document_name(context, "file.menu", community=result.community, month=month)
    await context.bot.send_document(chat, InputFile(table.getvalue(), filename=name))


async def send_plan(update: Update, context: LinliContext, result: MenuTally) -> None:
    """The drawn plan with a button per item to take it out or put it in, and Confirm."""
    consultation_id = result.consultation.id
    rows = []
    for row in result.items:
        if row.item.item_class == ItemClass.BASIC or (not row.in_plan and not row.households):
            continue
        name = menu.name_of(row.item, context.language)
        if row.in_plan:
            rows.append(
                [
                    button(
                        context,
                        context.t("plan.remove", name=name),
                        PlanTakeOut,
                        consultation_id,
                        row.item.id,
                    )
                ]
            )
        else:
            rows.append(
                [
                    button(
                        context,
                        context.t("plan.include", name=name),
                        PlanPutIn,
                        consultation_id,
                        row.item.id,
                    )
                ]
            )
    rows.append([button(context, context.t("plan.confirm"), PlanConfirm, consultation_id)])
    await send_lines(update, context, tally_lines(context, result))
    await reply(update, context, "plan.how_to_settle", markup=InlineKeyboardMarkup(rows))


def on_round2(act: Callable[..., Awaitable[None]]):
    """A plan button, pressed by staff who serve the community of its round 2."""

    async def pressed(
        update: Update, context: LinliContext, member: StaffMember, button: PlanButton
    ) -> None:
        found = await consultation_served(update, context, member, button.consultation)
        if found is None:
            return
        if found.round != 2:
            await update.callback_query.answer(context.t("button.stale"), show_alert=True)
            return
        await act(update, context, member, found, button.item)

    return staff_press(pressed)


async def show_results(update, context, member: StaffMember, found: Consultation, _: int) -> None:
    await update.callback_query.answer()
    async with context.session() as session:
        result = await round2.tally(session, found.id)
    await send_tally(update, context, result)


async def ask_close(update, context, member: StaffMember, found: Consultation, _: int) -> None:
    await update.callback_query.answer()
    markup = InlineKeyboardMarkup(
        [[button(context, context.t("staff.close_yes"), PlanClose, found.id)]]
    )
    await reply(update, context, "staff.close_confirm", markup=markup, title=found.title)


async def close_now(update, context, member: StaffMember, found: Consultation, _: int) -> None:
    async with context.session() as session:
        result = await round2.close(session, found.id, context.actor)
    await accept_button(update.callback_query)
    await send_plan(update, context, result)


async def show_plan(update, context, member: StaffMember, found: Consultation, _: int) -> None:
    await update.callback_query.answer()
    async with context.session() as session:
        result = await round2.tally(session, found.id)
    await send_plan(update, context, result)


async def ask_reason(
    update, context, member: StaffMember, found: Consultation, item_id: int, include: bool
) -> None:
    if found.status != ConsultationStatus.CLOSED or found.plan_confirmed_at is not None:
        await update.callback_query.answer(context.t("menu.plan_not_open"), show_alert=True)
        return
    async with context.session() as session:
        menu_ = await round2.menu_of(session, found.id)
        item = menu_.item(item_id)
        if item is None:
            await update.callback_query.answer(context.t("button.stale"), show_alert=True)
            return
        await dialogues.start(
            session,
            update.effective_user.id,
            REASON_DIALOGUE,
            consultation=found.id,
            code=item.code,
            include=include,
        )
    await update.callback_query.answer()
    key = "plan.ask_reason_include" if include else "plan.ask_reason_remove"
    await reply(update, context, key, name=menu.name_of(item, context.language))


async def take_out(update, context, member, found, item_id: int) -> None:
    await ask_reason(update, context, member, found, item_id, include=False)


async def put_in(update, context, member, found, item_id: int) -> None:
    await ask_reason(update, context, member, found, item_id, include=True)


async def reason_step(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """The reason typed for a change of the plan."""
    member = await staff_of(update, context)
    if member is None:
        return
    reason = update.effective_message.text.strip()
    if not 0 < len(reason) <= REASON_LIMIT:
        await reply(update, context, "open.too_long", limit=REASON_LIMIT)
        return
    data, user_id = dialogue.data, update.effective_user.id
    try:
        async with context.session() as session:
            found = await session.get(Consultation, data["consultation"])
            if found is None or not member.serves(found.community_id):
                raise ConsultationError("button.stale")
            result = await round2.change_plan(
                session, found.id, data["code"], data["include"], reason, context.actor
            )
            await dialogues.finish(session, user_id)
    except ConsultationError as refusal:
        async with context.session() as session:
            await dialogues.finish(session, user_id)
        await reply(update, context, refusal.reason, **refusal.values)
        return
    await send_plan(update, context, result)


async def confirm(update, context, member: StaffMember, found: Consultation, _: int) -> None:
    async with context.session() as session:
        # One picture for every resident: in the city's default language.
        result = await round2.tally(session, found.id)
        chart = charts.plan_chart(context.settings.default_language, result)
        result = await round2.confirm_plan(session, found.id, context.actor, chart)
    await accept_button(update.callback_query)
    await reply(
        update,
        context,
        "plan.confirmed",
        community=result.community,
        items=len(result.plan),
    )


ACTIONS: dict[type[PlanButton], Callable[..., Awaitable[None]]] = {
    PlanResults: show_results,
    PlanAskClose: ask_close,
    PlanClose: close_now,
    PlanShow: show_plan,
    PlanTakeOut: take_out,
    PlanPutIn: put_in,
    PlanConfirm: confirm,
}


def handlers() -> list[BaseHandler]:
    return [ButtonHandler(kind, on_round2(act)) for kind, act in ACTIONS.items()]


def steps() -> dict:
    return {REASON_DIALOGUE: reason_step}
