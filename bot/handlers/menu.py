"""Residents order from round 2's menu: one message with ✅ toggles, pages and Submit.

Buttons are ``MenuPress`` (callback data) whose action is
``open`` (a page, as a new message), ``page`` (edit to a page), ``tog`` (an
item), ``info`` (an item's description and picture) or ``send``. Every press
is checked again by the flow; the draft lives in the database.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler

from bot.flows import menu, round2
from bot.flows.callback_data import MenuAction, MenuPress
from bot.flows.consultation import ConsultationError
from bot.flows.notices import CAPTION_LIMIT
from bot.flows.round2 import Draft
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import local_time, show_in_place
from bot.handlers.context import LinliContext
from storage.models import MenuItem

RULES_BROKEN = ("menu.too_few", "menu.too_many", "menu.over_budget")


def _button(label: str, consultation_id: int, action: MenuAction, number: int = 0):
    return InlineKeyboardButton(
        label, callback_data=MenuPress(consultation_id, action, number).pack()
    )


def price(context: LinliContext, fen: int) -> str:
    return context.t("menu.price", amount=menu.fen_text(fen))


def names(context: LinliContext, items: list) -> str:
    return context.t("menu.separator").join(menu.name_of(i, context.language) for i in items)


def rules_text(context: LinliContext, rules: round2.Rules) -> str:
    parts = []
    if rules.min_items is not None:
        parts.append(context.t("menu.rule_min", min=rules.min_items))
    if rules.max_items is not None:
        parts.append(context.t("menu.rule_max", max=rules.max_items))
    if rules.budget_fen is not None:
        parts.append(context.t("menu.rule_budget", budget=menu.fen_text(rules.budget_fen)))
    return " · ".join(parts) if parts else context.t("menu.rule_none")


def menu_text(context: LinliContext, draft: Draft) -> str:
    consultation = draft.menu.consultation
    basic = names(context, draft.menu.basic)
    if draft.submitted_at is None:
        status = context.t("menu.status_none")
    else:
        key = "menu.status_submitted" if draft.submitted == draft.chosen else "menu.status_changed"
        status = context.t(key, at=local_time(context, draft.submitted_at))
    broken = draft.broken_rule
    return context.t(
        "menu.page",
        title=consultation.title,
        question=consultation.question,
        basic=basic or "—",
        rules=rules_text(context, draft.menu.rules),
        count=len(draft.chosen),
        total=menu.fen_text(draft.total_fen),
        warning=context.t(broken[0], **broken[1]) if broken else "",
        status=status,
        page=draft.page + 1,
        pages=draft.menu.pages,
        closes=local_time(context, consultation.closes_at),
    )


def menu_keyboard(context: LinliContext, draft: Draft) -> InlineKeyboardMarkup:
    consultation_id = draft.menu.consultation.id
    rows = []
    for item in draft.menu.page(draft.page):
        mark = "✅" if item.id in draft.chosen else "⬜"
        label = f"{mark} {menu.name_of(item, context.language)} {price(context, item.cost_fen)}"
        rows.append(
            [
                _button(label, consultation_id, "tog", item.id),
                _button("ℹ️", consultation_id, "info", item.id),
            ]
        )
    navigation = []
    if draft.page > 0:
        navigation.append(
            _button(context.t("menu.previous"), consultation_id, "page", draft.page - 1)
        )
    if draft.page + 1 < draft.menu.pages:
        navigation.append(_button(context.t("menu.next"), consultation_id, "page", draft.page + 1))
    if navigation:
        rows.append(navigation)
    rows.append([_button(context.t("menu.submit"), consultation_id, "send")])
    return InlineKeyboardMarkup(rows)


async def _show(update: Update, context: LinliContext, draft: Draft, *, new: bool) -> None:
    text, markup = menu_text(context, draft), menu_keyboard(context, draft)
    if new:
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)
    else:
        await show_in_place(context, text, markup)


async def menu_button(update: Update, context: LinliContext, button: MenuPress) -> None:
    query = update.callback_query
    consultation_id, action, number = button.consultation, button.action, button.number
    user_id = update.effective_user.id
    try:
        async with context.session() as session:
            if action == "tog":
                draft = await round2.toggle(session, user_id, consultation_id, number)
            elif action == "send":
                submitted = await round2.submit(session, user_id, consultation_id, context.actor)
                draft = submitted.draft
            else:
                page = number if action in ("open", "page") else None
                draft = await round2.draft(session, user_id, consultation_id, page)
    except ConsultationError as refusal:
        reason = context.t(refusal.reason, **refusal.values)
        if action == "send" and refusal.reason in RULES_BROKEN:
            reason = context.t("menu.not_submitted", reason=reason)
        await query.answer(reason, show_alert=True)
        return
    if action == "info":
        item = draft.menu.item(number)
        if item is None:  # an item of another menu, or none at all
            await query.answer(context.t("button.stale"), show_alert=True)
            return
        await query.answer()
        await _describe(update, context, item)
        return
    if action == "send":
        await query.answer(context.t("menu.submitted_short"))
        await _show(update, context, draft, new=False)
        await _confirm(update, context, submitted)
        return
    await query.answer()
    await _show(update, context, draft, new=action == "open")


async def _describe(update: Update, context: LinliContext, item: MenuItem) -> None:
    """The item's description, under its picture if it has one; a description too long
    for a caption (descriptions may have 1,000 characters) follows the picture instead."""
    chat = update.effective_chat.id
    text = context.t(
        "menu.item",
        name=menu.name_of(item, context.language),
        item_class=context.t(f"menu.class_{item.item_class}"),
        cost=price(context, item.cost_fen),
        description=menu.description_of(item, context.language) or "—",
    )
    if item.picture and len(text) <= CAPTION_LIMIT:
        await context.bot.send_photo(chat, item.picture, caption=text)
        return
    if item.picture:
        await context.bot.send_photo(chat, item.picture)
    await context.bot.send_message(chat, text)


async def _confirm(update: Update, context: LinliContext, submitted: round2.Submitted) -> None:
    draft = submitted.draft
    chosen = [item for item in draft.menu.choosable if item.id in draft.chosen]
    await context.bot.send_message(
        update.effective_chat.id,
        context.t(
            "menu.submitted" if submitted.previous is None else "menu.changed",
            title=draft.menu.consultation.title,
            items=names(context, chosen) or context.t("menu.nothing_chosen"),
            count=len(chosen),
            total=menu.fen_text(draft.total_fen),
            at=local_time(context, submitted.cast_at),
            closes=local_time(context, draft.menu.consultation.closes_at),
        ),
    )


def handlers() -> list[BaseHandler]:
    return [ButtonHandler(MenuPress, menu_button)]
