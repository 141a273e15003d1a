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
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import timetable
from bot.flows import consultation, dialogues, notices, outbox, registry
from bot.flows.notices import NoticeError
from bot.flows.registry import StaffMember
from bot.handlers import callbacks
from bot.handlers.common import accept_button, local_time, refuse, refuse_button, reply
from bot.handlers.context import LinliContext
from bot.handlers.staff import parse_local_time, staff_of
from storage.models import Broadcast, Dialogue, Role

DIALOGUE = "notice"
WEEK = 7


def button(context: LinliContext, label: str, *parts: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=callbacks.encode("ntc", *parts))


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
    rows = [[button(context, c.name, "c", c.id)] for c in communities[:8]]
    rows += [
        [
            button(
                context, context.t("compose.unanswered", community=names[c.community_id]), "u", c.id
            )
        ]
        for c in open_now
    ]
    rows += [
        [button(context, context.t("compose.supervisors", community=c.name), "s", c.id)]
        for c in communities[:8]
    ]
    rows.append([button(context, context.t("compose.by_communities"), "m", 0)])
    rows.append([button(context, context.t("compose.by_buildings"), "b", 0)])
    if member.role is Role.ADMIN:
        rows.append([button(context, context.t("compose.everyone"), "all", 0)])
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
            button(context, context.t("compose.now"), "when", "now"),
            button(context, context.t("compose.at"), "when", "at"),
            button(context, context.t("compose.weekly"), "when", "weekly"),
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
# Audiences typed rather than picked: button action -> (dialogue step, prompt).
TYPED_AUDIENCES = {
    "m": ("communities", "compose.ask_communities"),
    "b": ("buildings", "compose.ask_buildings"),
}


def _moment(data: dict, field: str) -> datetime | None:
    return datetime.fromisoformat(data[field]) if data.get(field) else None


async def preview(update: Update, context: LinliContext, data: dict) -> None:
    try:
        async with context.session() as session:
            count = len(await notices.recipients(session, data["audience"]))
    except NoticeError as refusal:
        await reply(update, context, refusal.reason, **refusal.values)
        return
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
                button(context, context.t("compose.send"), "go", 0),
                button(context, context.t("open.cancel"), "stop", 0),
            ]
        ]
    )
    await reply(update, context, "compose.preview", markup=markup, count=count, when=when)


async def press(update: Update, context: LinliContext) -> None:
    query = update.callback_query
    member = await staff_of(update, context)
    if member is None:
        return
    parts = callbacks.decode(query.data, "ntc", 2)
    if parts is not None and parts[0] == "retry" and parts[1].isdigit():
        await retry(update, context, member, int(parts[1]))
        return
    async with context.session() as session:
        pending = await dialogues.current(session, update.effective_user.id)
    if parts is None or pending is None or pending.kind != DIALOGUE:
        await refuse_button(query, context)
        return
    action, value, data = parts[0], parts[1], dict(pending.data)
    handler = PRESSES.get((data.get("step"), action))
    if handler is None:
        await refuse_button(query, context)
        return
    await handler(update, context, member, data, value)


async def pick_audience(update, context, member: StaffMember, data: dict, value: str) -> None:
    query, action = update.callback_query, callbacks.decode(update.callback_query.data, "ntc", 2)[0]
    if action in TYPED_AUDIENCES:
        step, prompt = TYPED_AUDIENCES[action]
        await accept_button(query)
        await save(context, update.effective_user.id, **{**data, "step": step})
        await reply(update, context, prompt)
        return
    if action == "all":
        allowed, audience = member.role is Role.ADMIN, {"kind": "everyone"}
    elif not value.isdigit():
        allowed, audience = False, {}
    elif action in ("c", "s"):
        kind = "communities" if action == "c" else "supervisors"
        allowed, audience = member.serves(int(value)), {"kind": kind, "ids": [int(value)]}
    else:
        async with context.session() as session:
            communities = await notices.audience_communities(
                session, {"kind": "unanswered", "ids": [int(value)]}
            )
        allowed = bool(communities) and all(member.serves(c) for c in communities)
        audience = {"kind": "unanswered", "ids": [int(value)]}
    if not allowed:
        await refuse_button(query, context)
        return
    await accept_button(query)
    await chosen_audience(update, context, data, audience)


async def pick_when(update, context, member: StaffMember, data: dict, value: str) -> None:
    query = update.callback_query
    if value not in ("now", "at", "weekly"):
        await refuse_button(query, context)
        return
    await accept_button(query)
    if value == "now":
        await preview(update, context, {**data, "step": "confirm", "at": None})
    elif value == "at":
        await save(context, update.effective_user.id, **{**data, "step": "at"})
        await reply(update, context, "compose.ask_at", example="2026-12-20 09:00")
    else:
        await save(
            context, update.effective_user.id, **{**data, "step": "first", "repeat_days": WEEK}
        )
        await reply(update, context, "compose.ask_first", example="2026-12-21 09:00")


async def send(update, context, member: StaffMember, data: dict, value: str) -> None:
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
    try:
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
    except NoticeError as refusal:
        await refuse(update, context, refusal)
        return
    await accept_button(query)
    if data.get("at") is None:
        await reply(update, context, "compose.sending")
    else:
        await timetable.sweep(context.application)
        await reply(update, context, "compose.scheduled", at=local_time(context, notice.first_at))


async def cancel(update, context, member: StaffMember, data: dict, value: str) -> None:
    async with context.session() as session:
        await dialogues.finish(session, update.effective_user.id)
    await accept_button(update.callback_query)
    await reply(update, context, "compose.cancelled")


PRESSES = {
    ("audience", "c"): pick_audience,
    ("audience", "u"): pick_audience,
    ("audience", "s"): pick_audience,
    ("audience", "m"): pick_audience,
    ("audience", "b"): pick_audience,
    ("audience", "all"): pick_audience,
    ("when", "when"): pick_when,
    ("confirm", "go"): send,
    ("confirm", "stop"): cancel,
}


async def retry(update: Update, context: LinliContext, member: StaffMember, broadcast_id: int):
    """The report's button: send the failed deliveries of the author's broadcast again."""
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
        CallbackQueryHandler(press, pattern=callbacks.pattern("ntc")),
    ]


def steps() -> dict:
    return {DIALOGUE: content_step}
