"""/notice: staff compose a notice in a dialogue — content, audience, when — preview, send.

Audiences: one community (picked) or several (typed), some of a community's
buildings, the households that have not answered an open consultation, a
community's quality supervisors, or everyone. The draft is a dialogue row in
the database, so it survives restarts. Every
choice is checked again when it arrives: a staff member addresses only their
own communities; everyone is for admins.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import BaseHandler, CommandHandler

from bot import timetable
from bot.flows import consultation, dialogues, notices, outbox, registry
from bot.flows.callback_data import (
    CallbackData,
    NoticeCancel,
    NoticeRetry,
    NoticeSend,
    NoticeToBuildings,
    NoticeToCommunities,
    NoticeToCommunity,
    NoticeToEveryone,
    NoticeToSupervisors,
    NoticeToUnanswered,
    NoticeWhen,
)
from bot.flows.registry import StaffMember
from bot.handlers.buttons import ButtonHandler, Press
from bot.handlers.common import accept_button, local_time, refuse_button, reply
from bot.handlers.context import LinliContext
from bot.handlers.staff import parse_local_time, staff_of, staff_press
from storage.models import Broadcast, Dialogue, Role

DIALOGUE = "notice"
WEEK = 7


def button(context: LinliContext, label: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data.pack())


async def save(context: LinliContext, user_id: int, **data) -> None:
    async with context.session() as session:
        await dialogues.start(session, user_id, DIALOGUE, **data)


async def compose(update: Update, context: LinliContext) -> None:
    if await staff_of(update, context) is None:
        return
    await save(context, update.effective_user.id, step="content")
    await reply(update, context, "compose.ask_content")


async def content_step(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """Text (formatting kept), or a photo or document with a caption; then the audience."""
    member = await staff_of(update, context)
    if member is None:
        return
    step = dialogue.data.get("step")
    if step != "content":
        typed = update.effective_message.text is not None
        handler = TYPED_STEPS.get(step, wrong_input) if typed else wrong_input
        await handler(update, context, member, dialogue.data)
        return
    message = update.effective_message
    draft = {"step": "audience", "photo_file_id": None, "document_file_id": None}
    if message.photo:
        draft.update(body=message.caption_html or "", photo_file_id=message.photo[-1].file_id)
    elif message.document:
        draft.update(body=message.caption_html or "", document_file_id=message.document.file_id)
    elif message.text:
        draft.update(body=message.text_html)
    else:
        await reply(update, context, "compose.ask_content")
        return
    limit = notices.CAPTION_LIMIT if message.photo or message.document else notices.BODY_LIMIT
    if not draft["body"].strip() or len(draft["body"]) > limit:
        await reply(update, context, "notice.too_long", limit=limit)
        return
    await save(context, update.effective_user.id, **draft)
    await ask_audience(update, context, member)


async def ask_audience(update: Update, context: LinliContext, member: StaffMember) -> None:
    async with context.session() as session:
        communities = await registry.communities_served(session, member)
        open_now = [
            c
            for c in await consultation.open_consultations(session)
            if member.serves(c.community_id)
        ]
    names = {c.id: c.name for c in communities}
    rows = [[button(context, c.name, NoticeToCommunity(c.id))] for c in communities[:8]]
    rows += [
        [
            button(
                context,
                context.t("compose.unanswered", community=names[c.community_id]),
                NoticeToUnanswered(c.id),
            )
        ]
        for c in open_now
    ]
    rows += [
        [
            button(
                context,
                context.t("compose.supervisors", community=c.name),
                NoticeToSupervisors(c.id),
            )
        ]
        for c in communities[:8]
    ]
    rows.append([button(context, context.t("compose.by_communities"), NoticeToCommunities())])
    rows.append([button(context, context.t("compose.by_buildings"), NoticeToBuildings())])
    if member.role is Role.ADMIN:
        rows.append([button(context, context.t("compose.everyone"), NoticeToEveryone())])
    await reply(update, context, "compose.ask_audience", markup=InlineKeyboardMarkup(rows))


async def buildings_step(update, context, member: StaffMember, data: dict) -> None:
    """'南溪小区 1,2,5': buildings of one community, by their numbers."""
    community_name, _, numbers = update.effective_message.text.strip().partition(" ")
    wanted = [n.strip() for n in numbers.replace("，", ",").split(",") if n.strip()]
    async with context.session() as session:
        community = await registry.community_or_none(session, community_name)
        found = (
            await registry.building_ids(session, community.id, wanted)
            if community is not None and member.serves(community.id)
            else None
        )
    if not found or len(found) != len(wanted):
        await reply(update, context, "compose.bad_buildings")
        return
    await chosen_audience(update, context, data, {"kind": "buildings", "ids": found})


async def communities_step(update, context, member: StaffMember, data: dict) -> None:
    """'南溪小区、运南新村': several communities (any number, not only the first listed)."""
    typed = update.effective_message.text
    names = [n for n in re.split(r"[\s,，、;；]+", typed.strip()) if n]
    async with context.session() as session:
        found = [await registry.community_or_none(session, name) for name in names]
    if not names or any(c is None or not member.serves(c.id) for c in found):
        await reply(update, context, "compose.bad_communities")
        return
    ids = sorted({c.id for c in found})
    await chosen_audience(update, context, data, {"kind": "communities", "ids": ids})


async def chosen_audience(update, context: LinliContext, data: dict, audience: dict) -> None:
    await save(context, update.effective_user.id, **{**data, "step": "when", "audience": audience})
    rows = [
        [
            button(context, context.t("compose.now"), NoticeWhen("now")),
            button(context, context.t("compose.at"), NoticeWhen("at")),
            button(context, context.t("compose.weekly"), NoticeWhen("weekly")),
        ]
    ]
    await reply(update, context, "compose.ask_when", markup=InlineKeyboardMarkup(rows))


async def time_step(update, context: LinliContext, member: StaffMember, data: dict) -> None:
    """A typed time: when to send, the first weekly sending, or the last one."""
    moment = parse_local_time(context, update.effective_message.text)
    if moment is None:
        await reply(update, context, "open.bad_time", example="2026-12-20 09:00")
        return
    if data["step"] == "first":
        await save(
            context, update.effective_user.id, **{**data, "step": "until", "at": moment.isoformat()}
        )
        await reply(update, context, "compose.ask_until", example="2027-01-31 23:59")
        return
    field = "until" if data["step"] == "until" else "at"
    await preview(update, context, {**data, "step": "confirm", field: moment.isoformat()})


async def wrong_input(update, context: LinliContext, member, data: dict) -> None:
    await reply(update, context, "open.use_buttons")


TYPED_STEPS = {
    "communities": communities_step,
    "buildings": buildings_step,
    "at": time_step,
    "first": time_step,
    "until": time_step,
}
# Audiences typed rather than picked: button -> (dialogue step, prompt).
TYPED_AUDIENCES = {
    NoticeToCommunities: ("communities", "compose.ask_communities"),
    NoticeToBuildings: ("buildings", "compose.ask_buildings"),
}


def _moment(data: dict, field: str) -> datetime | None:
    return datetime.fromisoformat(data[field]) if data.get(field) else None


async def preview(update: Update, context: LinliContext, data: dict) -> None:
    """The notice as residents will read it, then whom it reaches and when, to confirm."""
    audience = data["audience"]
    async with context.session() as session:
        count = len(await notices.recipients(session, audience))
        names = await notices.audience_names(session, audience)
    await save(context, update.effective_user.id, **data)
    at, until = _moment(data, "at"), _moment(data, "until")
    if data.get("repeat_days"):
        when = context.t(
            "compose.when_weekly", first=local_time(context, at), until=local_time(context, until)
        )
    elif at is not None:
        when = context.t("compose.when_at", at=local_time(context, at))
    else:
        when = context.t("compose.now")
    markup = InlineKeyboardMarkup(
        [
            [
                button(context, context.t("compose.send"), NoticeSend()),
                button(context, context.t("open.cancel"), NoticeCancel()),
            ]
        ]
    )
    await show_draft(update, context, data)
    named = [
        context.t("compose.building_name", community=community, building=detail)
        if audience["kind"] == "buildings"
        else context.t("compose.round_name", community=community, title=detail)
        if detail
        else community
        for community, detail in names
    ]
    whom = context.t(
        f"compose.audience_{audience['kind']}", names=context.t("menu.separator").join(named)
    )
    await reply(
        update, context, "compose.preview", markup=markup, count=count, when=when, audience=whom
    )


async def show_draft(update: Update, context: LinliContext, data: dict) -> None:
    """The notice as residents will read it: its text, or the photo or file with it."""
    chat = context.principal.telegram_id  # a private chat: its id is the user's
    words = context.t("notice.text", body=data["body"])
    if data.get("photo_file_id"):
        await context.bot.send_photo(
            chat, data["photo_file_id"], caption=words, parse_mode=ParseMode.HTML
        )
    elif data.get("document_file_id"):
        await context.bot.send_document(
            chat, data["document_file_id"], caption=words, parse_mode=ParseMode.HTML
        )
    else:
        await context.bot.send_message(chat, words, parse_mode=ParseMode.HTML)


def in_step(step: str, act: Callable[..., Awaitable[None]]) -> Press:
    """A button of the notice being composed, pressed at the dialogue's ``step``."""

    async def pressed(
        update: Update, context: LinliContext, member: StaffMember, button: CallbackData
    ) -> None:
        async with context.session() as session:
            pending = await dialogues.current(session, update.effective_user.id)
        if pending is None or pending.kind != DIALOGUE or pending.data.get("step") != step:
            await refuse_button(update.callback_query, context)
            return
        await act(update, context, member, dict(pending.data), button)

    return staff_press(pressed)


async def pick_typed_audience(
    update, context, member: StaffMember, data: dict, button: CallbackData
) -> None:
    step, prompt = TYPED_AUDIENCES[type(button)]
    await accept_button(update.callback_query)
    await save(context, update.effective_user.id, **{**data, "step": step})
    await reply(update, context, prompt)


async def pick_audience(update, context, member: StaffMember, data: dict, button) -> None:
    query = update.callback_query
    match button:
        case NoticeToEveryone():
            audience: dict[str, object] = {"kind": "everyone"}
            allowed = member.role is Role.ADMIN
        case NoticeToCommunity(community=community_id):
            allowed = member.serves(community_id)
            audience = {"kind": "communities", "ids": [community_id]}
        case NoticeToSupervisors(community=community_id):
            allowed = member.serves(community_id)
            audience = {"kind": "supervisors", "ids": [community_id]}
        case NoticeToUnanswered(consultation=consultation_id):
            audience = {"kind": "unanswered", "ids": [consultation_id]}
            async with context.session() as session:
                communities = await notices.audience_communities(session, audience)
            allowed = bool(communities) and all(member.serves(c) for c in communities)
    if not allowed:
        await refuse_button(query, context)
        return
    await accept_button(query)
    await chosen_audience(update, context, data, audience)


async def pick_when(update, context, member: StaffMember, data: dict, button: NoticeWhen) -> None:
    await accept_button(update.callback_query)
    if button.when == "now":
        await preview(update, context, {**data, "step": "confirm", "at": None})
    elif button.when == "at":
        await save(context, update.effective_user.id, **{**data, "step": "at"})
        await reply(update, context, "compose.ask_at", example="2026-12-20 09:00")
    else:
        await save(
            context, update.effective_user.id, **{**data, "step": "first", "repeat_days": WEEK}
        )
        await reply(update, context, "compose.ask_first", example="2026-12-21 09:00")


async def send(update, context, member: StaffMember, data: dict, _: NoticeSend) -> None:
    query, user_id = update.callback_query, update.effective_user.id
    communities_ok = True
    async with context.session() as session:
        touched = await notices.audience_communities(session, data["audience"])
    if touched is None:
        communities_ok = member.role is Role.ADMIN
    else:
        communities_ok = all(member.serves(c) for c in touched)
    if not communities_ok:
        await refuse_button(query, context)
        return
    grace = timedelta(minutes=context.settings.scheduler.notice_grace_minutes)
    async with context.session() as session:
        notice = await notices.create(
            session,
            context.actor,
            data["body"],
            data["audience"],
            at=_moment(data, "at"),
            repeat_days=data.get("repeat_days"),
            until=_moment(data, "until"),
            photo_file_id=data.get("photo_file_id"),
            document_file_id=data.get("document_file_id"),
        )
        if data.get("at") is None:
            await notices.fire(session, notice.id, grace, context.settings.zone)
        await dialogues.finish(session, user_id)
    await accept_button(query)
    if data.get("at") is None:
        await reply(update, context, "compose.sending")
    else:
        await timetable.sweep(context.application)
        await reply(update, context, "compose.scheduled", at=local_time(context, notice.first_at))


async def cancel(update, context, member: StaffMember, data: dict, _: NoticeCancel) -> None:
    async with context.session() as session:
        await dialogues.finish(session, update.effective_user.id)
    await accept_button(update.callback_query)
    await reply(update, context, "compose.cancelled")


# Each button of the notice being composed: the step it belongs to, and what it does.
PRESSES: dict[type[CallbackData], tuple[str, Callable[..., Awaitable[None]]]] = {
    NoticeToCommunity: ("audience", pick_audience),
    NoticeToUnanswered: ("audience", pick_audience),
    NoticeToSupervisors: ("audience", pick_audience),
    NoticeToEveryone: ("audience", pick_audience),
    NoticeToCommunities: ("audience", pick_typed_audience),
    NoticeToBuildings: ("audience", pick_typed_audience),
    NoticeWhen: ("when", pick_when),
    NoticeSend: ("confirm", send),
    NoticeCancel: ("confirm", cancel),
}


async def retry(update: Update, context: LinliContext, member: StaffMember, button: NoticeRetry):
    """The report's button: send the failed deliveries of the author's broadcast again."""
    broadcast_id = button.broadcast
    async with context.session() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        if broadcast is None or broadcast.created_by != update.effective_user.id:
            count = None
        else:
            count = await outbox.retry_failed(session, broadcast_id)
    if not count:
        await refuse_button(update.callback_query, context)
        return
    await accept_button(update.callback_query)
    await reply(update, context, "notice.retrying", count=count)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("notice", compose),
        ButtonHandler(NoticeRetry, staff_press(retry)),
        *(ButtonHandler(kind, in_step(step, act)) for kind, (step, act) in PRESSES.items()),
    ]


def steps() -> dict:
    return {DIALOGUE: content_step}
