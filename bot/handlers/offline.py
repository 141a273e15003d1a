"""Grid workers record households' answers in the chat, door after door, and see who is missing.

From /staff: choose the open round, then the household (a button of the
next unanswered ones, or typed ``3-1-101``), the answer, a reason if it
replaces the resident's own bot answer, a photo of the signed form or none,
and confirm. Then the next unanswered door of the same unit is offered.
Buttons are the ``Offline...`` kinds of callback data; the dialogue is held in the database
and every press checks again that the staff member serves the community.
/missing lists the households still without an answer, as text, XLSX and PDF.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import dialogues, doorsheet, exports, offline, registry, round2, turnout
from bot.flows.callback_data import (
    CallbackData,
    OfflineAnswer,
    OfflineConfirm,
    OfflineFinish,
    OfflineHousehold,
    OfflineItem,
    OfflineItemsDone,
    OfflineNoEvidence,
    OfflineRound,
    OfflineStart,
)
from bot.flows.consultation import Choice, ConsultationError, Entry, Replace, ballot_of
from bot.flows.evidence import check_upload
from bot.flows.menu import name_of
from bot.flows.registry import StaffMember
from bot.flows.round2 import ANSWERED
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import (
    accept_button,
    address_text,
    document_name,
    local_day,
    local_time,
    refuse_button,
    reply,
    send_lines,
)
from bot.handlers.context import LinliContext
from bot.handlers.staff import staff_of, staff_press
from storage.models import Channel, Consultation, ConsultationStatus, Dialogue, MenuItem, Role

DIALOGUE = "offline"
REASON_LIMIT = 500
HOUSEHOLD_BUTTONS = 8


def button(context: LinliContext, label: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data.pack())


def community_ids(member: StaffMember) -> set[int] | None:
    return None if member.role is Role.ADMIN else set(member.community_ids)


async def _names(context: LinliContext, member: StaffMember) -> dict[int, str]:
    async with context.session() as session:
        return {c.id: c.name for c in await registry.communities_served(session, member)}


def round_label(context: LinliContext, found: Consultation, names: dict[int, str]) -> str:
    return context.t("offline.round_label", community=names[found.community_id], round=found.round)


# Starting: which open round ---------------------------------------------------


async def start(update: Update, context: LinliContext, member: StaffMember) -> None:
    async with context.session() as session:
        rounds = await offline.open_rounds(session, community_ids(member))
    if not rounds:
        await reply(update, context, "offline.none_open")
        return
    names = await _names(context, member)
    rows = [[button(context, round_label(context, r, names), OfflineRound(r.id))] for r in rounds]
    await reply(update, context, "offline.pick_round", markup=InlineKeyboardMarkup(rows))


async def _served_round(context: LinliContext, member: StaffMember, consultation_id: object):
    """The round a dialogue or button names, if the member serves its community (a
    closed one too: recording in it is refused as closed, which says more)."""
    if not isinstance(consultation_id, int):
        return None
    async with context.session() as session:
        found = await session.get(Consultation, consultation_id)
    if found is None or not member.serves(found.community_id):
        return None
    return found


async def ask_household(
    update: Update, context: LinliContext, found: Consultation, after=None
) -> None:
    """Ask for the next household: the next door of the unit first, then others unanswered."""
    async with context.session() as session:
        await dialogues.start(
            session, update.effective_user.id, DIALOGUE, step="household", consultation=found.id
        )
        missing = [m.address for m in await turnout.missing(session, found)]
        following = await offline.next_unanswered(session, found, after) if after else None
    offered = ([following] if following else []) + [
        a for a in missing if following is None or a.household_id != following.household_id
    ]
    rows = [
        [button(context, address_text(context, a), OfflineHousehold(a.household_id))]
        for a in offered[:HOUSEHOLD_BUTTONS]
    ]
    rows.append([button(context, context.t("offline.finish"), OfflineFinish())])
    key = "offline.ask_next" if following else "offline.ask_household"
    await reply(
        update,
        context,
        key,
        markup=InlineKeyboardMarkup(rows),
        missing=len(missing),
        example="3-1-101",
    )


# Each step --------------------------------------------------------------------


async def choose_household(
    update: Update, context: LinliContext, found: Consultation, household_id: int
) -> None:
    """Show the household's current answer and ask for the new one."""
    async with context.session() as session:
        address = await registry.address_of(session, household_id)
        ballot = await ballot_of(session, found.id, household_id)
        await dialogues.start(
            session,
            update.effective_user.id,
            DIALOGUE,
            step="answer" if found.round == 1 else "items",
            consultation=found.id,
            household=household_id,
            bot_answer=ballot is not None and ballot.channel == Channel.BOT,
        )
    current = context.t("offline.no_answer_yet")
    if ballot is not None:
        current = context.t(
            "offline.current_answer",
            answer=answer_text(context, ballot.choice),
            channel=context.t(f"offline.channel_{ballot.channel}"),
            at=local_time(context, ballot.cast_at),
        )
    if found.round == 1:
        markup = InlineKeyboardMarkup(
            [
                [
                    button(context, context.t("vote.agree"), OfflineAnswer(Choice.AGREE)),
                    button(context, context.t("vote.disagree"), OfflineAnswer(Choice.DISAGREE)),
                ]
            ]
        )
        await reply(
            update,
            context,
            "offline.ask_answer",
            markup=markup,
            address=address_text(context, address),
            current=current,
        )
    else:
        assert found.id is not None  # a stored round
        async with context.session() as session:
            choosable = (await round2.menu_of(session, found.id)).choosable
        await reply(
            update,
            context,
            "offline.ask_items",
            markup=items_keyboard(context, choosable, set()),
            address=address_text(context, address),
            current=current,
        )


def items_keyboard(
    context: LinliContext, choosable: list[MenuItem], picked: set[int]
) -> InlineKeyboardMarkup:
    """Round 2's choosable items to tick as the paper form shows them, two to a row, and Done."""
    buttons = [
        button(
            context,
            f"{'✅' if item.id in picked else '⬜'} {item.code} {name_of(item, context.language)}",
            OfflineItem(item.id),
        )
        for item in choosable
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button(context, context.t("offline.items_done"), OfflineItemsDone())])
    return InlineKeyboardMarkup(rows)


async def tick_item(
    update: Update, context: LinliContext, query: CallbackQuery, data: dict, item_id: int
) -> None:
    """An item ticked or unticked: kept in the dialogue, the buttons redrawn in place."""
    async with context.session() as session:
        choosable = (await round2.menu_of(session, data["consultation"])).choosable
        if item_id not in {item.id for item in choosable}:
            await refuse_button(query, context)
            return
        picked = set(data.get("picked", [])) ^ {item_id}
        await dialogues.start(
            session, query.from_user.id, DIALOGUE, **{**data, "picked": sorted(picked)}
        )
    await accept_button(query)
    await query.edit_message_reply_markup(items_keyboard(context, choosable, picked))


async def items_done(
    update: Update, context: LinliContext, query: CallbackQuery, data: dict
) -> None:
    """The ticked items are the household's answer."""
    async with context.session() as session:
        choosable = (await round2.menu_of(session, data["consultation"])).choosable
    picked = set(data.get("picked", []))
    codes = [item.code for item in choosable if item.id in picked]
    if not codes:
        await query.answer(context.t("offline.items_none"), show_alert=True)
        return
    await accept_button(query)
    await after_answer(update, context, {**data, "answer": ",".join(codes)})


def answer_text(context: LinliContext, answer: str) -> str:
    """Round 1's answer, round 2's item codes, or (a ballot's choice) that a menu was sent."""
    if answer in ("agree", "disagree"):
        return context.t(f"vote.{answer}")
    if answer == ANSWERED:
        return context.t("offline.menu_submitted")
    return context.t("offline.menu_answer", items=answer)


async def after_answer(update: Update, context: LinliContext, data: dict) -> None:
    """Once the answer is given: a reason when it replaces the resident's own, then evidence."""
    user_id = update.effective_user.id
    if data.get("bot_answer"):
        if context.settings.offline.staff_replaces_bot == Replace.NEVER:
            await reply(update, context, "offline.resident_answer_kept")
            return
        data["step"] = "reason"
    else:
        data["step"] = "evidence"
    async with context.session() as session:
        await dialogues.start(session, user_id, DIALOGUE, **data)
    if data["step"] == "evidence":
        await ask_evidence(update, context)
    else:
        await reply(update, context, "offline.ask_reason")


async def ask_evidence(update: Update, context: LinliContext) -> None:
    markup = InlineKeyboardMarkup(
        [[button(context, context.t("offline.no_photo"), OfflineNoEvidence())]]
    )
    await reply(update, context, "offline.ask_evidence", markup=markup)


async def ask_confirm(update: Update, context: LinliContext, data: dict) -> None:
    async with context.session() as session:
        await dialogues.start(
            session, update.effective_user.id, DIALOGUE, **{**data, "step": "confirm"}
        )
        address = await registry.address_of(session, data["household"])
    markup = InlineKeyboardMarkup(
        [
            [
                button(context, context.t("offline.confirm"), OfflineConfirm()),
                button(context, context.t("offline.cancel"), OfflineFinish()),
            ]
        ]
    )
    await reply(
        update,
        context,
        "offline.preview",
        markup=markup,
        address=address_text(context, address),
        answer=answer_text(context, data["answer"]),
        evidence=context.t(
            "offline.with_photo" if data.get("evidence") else "offline.without_photo"
        ),
        reason=data.get("reason") or "-",
    )


async def confirm(update: Update, context: LinliContext, found: Consultation, data: dict) -> None:
    query, user_id = update.callback_query, update.effective_user.id
    evidence = data.get("evidence")
    entry = offline.with_evidence(Entry(by=user_id, reason=data.get("reason")), evidence)
    rule = Replace(context.settings.offline.staff_replaces_bot)
    async with context.session() as session:
        result = await offline.record_answer(
            session, found, data["household"], data["answer"], entry, context.actor, rule
        )
        address = await registry.address_of(session, data["household"])
    await accept_button(query)
    await reply(
        update,
        context,
        "offline.recorded" if result.written else "offline.unchanged",
        address=address_text(context, address),
        answer=answer_text(context, data["answer"]),
    )
    await ask_household(update, context, found, after=address)


# Routing ------------------------------------------------------------------------


async def pressed(
    update: Update, context: LinliContext, member: StaffMember, button: CallbackData
) -> None:
    query = update.callback_query
    assert query is not None  # a ButtonHandler's update is a press
    if isinstance(button, OfflineStart):
        await accept_button(query)
        await start(update, context, member)
        return
    if isinstance(button, OfflineFinish):
        async with context.session() as session:
            await dialogues.finish(session, update.effective_user.id)
        await accept_button(query)
        await reply(update, context, "offline.finished")
        return
    if isinstance(button, OfflineRound):
        found = await _served_round(context, member, button.consultation)
        if found is None:
            await refuse_button(query, context)
            return
        if found.status != ConsultationStatus.OPEN:
            await query.answer(context.t("vote.closed"), show_alert=True)
            return
        await accept_button(query)
        await ask_household(update, context, found)
        return
    async with context.session() as session:
        pending = await dialogues.current(session, update.effective_user.id)
    data = dict(pending.data) if pending is not None and pending.kind == DIALOGUE else {}
    found = await _served_round(context, member, data.get("consultation"))
    step = data.get("step")
    if found is None:
        await refuse_button(query, context)
        return
    if isinstance(button, OfflineHousehold) and step == "household":
        household_id = await _household_of(context, found, button.household)
        if household_id is None:
            await refuse_button(query, context)
            return
        await accept_button(query)
        await choose_household(update, context, found, household_id)
    elif isinstance(button, OfflineAnswer):
        if step != "answer" or found.round != 1:
            await refuse_button(query, context)
            return
        await accept_button(query)
        await after_answer(update, context, {**data, "answer": button.choice.value})
    elif isinstance(button, OfflineItem) and step == "items":
        await tick_item(update, context, query, data, button.item)
    elif isinstance(button, OfflineItemsDone) and step == "items":
        await items_done(update, context, query, data)
    elif isinstance(button, OfflineNoEvidence) and step == "evidence":
        await accept_button(query)
        await ask_confirm(update, context, {**data, "evidence": None})
    elif isinstance(button, OfflineConfirm) and step == "confirm":
        await confirm(update, context, found, data)
    else:
        await refuse_button(query, context)


async def _household_of(context: LinliContext, found: Consultation, household_id: int):
    """The household, if it is one of the round's community."""
    async with context.session() as session:
        addresses = await registry.addresses_in(session, found.community_id)
    return household_id if any(a.household_id == household_id for a in addresses) else None


async def _dialogue_round(
    update: Update, context: LinliContext, dialogue: Dialogue
) -> tuple[dict, Consultation] | None:
    """The dialogue's draft and its round, while the staff member still serves its
    community; otherwise they are told, and None."""
    member = await staff_of(update, context)
    if member is None:
        return None
    data = dict(dialogue.data)
    found = await _served_round(context, member, data.get("consultation"))
    if found is None:
        await reply(update, context, "offline.not_served")
        return None
    return data, found


async def typed(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """Text typed in the dialogue: an address, item codes or a reason."""
    opened = await _dialogue_round(update, context, dialogue)
    if opened is None:
        return
    data, found = opened
    text = update.effective_message.text.strip()
    step = data.get("step")
    if step == "household":
        async with context.session() as session:
            household_id = await offline.household_at(session, found.community_id, text)
        if household_id is None:
            await reply(update, context, "offline.unknown_household", address=text[:50])
            return
        await choose_household(update, context, found, household_id)
    elif step == "items":
        codes = offline.codes_of(text)
        if not codes:
            await reply(update, context, "offline.ask_items_again")
            return
        await after_answer(update, context, {**data, "answer": ",".join(codes)})
    elif step == "reason":
        if not 0 < len(text) <= REASON_LIMIT:
            await reply(update, context, "open.too_long", limit=REASON_LIMIT)
            return
        await after_answer(update, context, {**data, "reason": text, "bot_answer": False})
    elif step == "evidence":
        await ask_evidence(update, context)
    else:
        await reply(update, context, "open.use_buttons")


async def sent_media(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """A photo (or an image or PDF document) of the signed form."""
    opened = await _dialogue_round(update, context, dialogue)
    if opened is None:
        return
    data, found = opened
    if data.get("step") != "evidence":
        await reply(update, context, "open.use_buttons")
        return
    message = update.effective_message
    limit = context.settings.offline.evidence_max_kb
    if message.photo:
        upload = message.photo[-1]
        check_upload(None, upload.file_size, limit)
    elif message.document:
        upload = message.document
        check_upload(upload.mime_type or "", upload.file_size, limit)
    else:
        raise ConsultationError("offline.evidence_not_image")
    await ask_confirm(update, context, {**data, "evidence": f"tg:{upload.file_id}"})


# /missing -------------------------------------------------------------------------


async def missing(update: Update, context: LinliContext) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    names = await _names(context, member)
    async with context.session() as session:
        rounds = await offline.open_rounds(session, community_ids(member))
        found = [(r, await turnout.missing(session, r)) for r in rounds]
    if not found:
        await reply(update, context, "offline.none_open")
        return
    chat = update.effective_chat.id
    for opened, households in found:
        lines = [
            context.t(
                "offline.missing_head",
                round=round_label(context, opened, names),
                missing=len(households),
                total=opened.total_households,
            )
        ]
        lines += [
            context.t(
                "offline.missing_line" if m.residents else "offline.missing_visit",
                address=address_text(context, m.address),
                residents=m.residents,
            )
            for m in households
        ]
        await send_lines(update, context, lines)
        stem = document_name(
            context,
            "file.missing",
            community=names[opened.community_id],
            day=local_day(context),
            suffix="",
        )
        table = io.BytesIO()
        exports.write_xlsx(table, exports.missing_table(households))
        await context.bot.send_document(chat, InputFile(table.getvalue(), filename=f"{stem}.xlsx"))
        with tempfile.TemporaryDirectory() as folder:
            pdf = Path(folder) / f"{stem}.pdf"
            community = names[opened.community_id]
            doorsheet.write_pdf(pdf, context.language, community, opened.title, households)
            await context.bot.send_document(chat, InputFile(pdf.read_bytes(), filename=pdf.name))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("missing", missing),
        *(
            ButtonHandler(kind, staff_press(pressed))
            for kind in (
                OfflineStart,
                OfflineFinish,
                OfflineRound,
                OfflineHousehold,
                OfflineAnswer,
                OfflineItem,
                OfflineItemsDone,
                OfflineNoEvidence,
                OfflineConfirm,
            )
        ),
    ]


def steps() -> dict:
    return {DIALOGUE: typed}


def media_steps() -> dict:
    return {DIALOGUE: sent_media}
