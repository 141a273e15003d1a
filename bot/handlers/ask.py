"""Residents ask in their own words (/ask or plain text); staff answer from /inbox.

Resident buttons are ``v1:ask:<action>:<question>[:<entry>]``; staff buttons
``v1:inbox:<action>:<question>``. Replies both ways are typed into a dialogue.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.flows import ask, dialogues, faq
from bot.flows.ask import Asked, AskError
from bot.handlers import callbacks, fallback
from bot.handlers.common import accept_button, local_time, reply, send_lines
from bot.handlers.context import LinliContext
from bot.handlers.dialogue_router import Otherwise
from bot.handlers.staff import staff_of
from storage.models import Dialogue, FaqEntry

ASK_DIALOGUE = "ask"  # waiting for the question after a bare /ask
REPLY_DIALOGUE = "ask_reply"  # a resident's reply in a thread
STAFF_REPLY_DIALOGUE = "inbox_reply"


def button(context: LinliContext, key: str, feature: str, *parts: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(context.t(key), callback_data=callbacks.encode(feature, *parts))


async def _refuse(update: Update, context: LinliContext, refusal: AskError) -> None:
    text = context.t(refusal.reason, **refusal.values)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await context.bot.send_message(update.effective_chat.id, text)


async def ask_command(update: Update, context: LinliContext) -> None:
    text = " ".join(context.args or [])
    if text:
        await take_question(update, context, text)
        return
    try:
        async with context.session() as session:
            await ask.community_of_resident(session, update.effective_user.id)
            await dialogues.start(session, update.effective_user.id, ASK_DIALOGUE)
    except AskError as refusal:  # who cannot ask is told before typing a question
        await _refuse(update, context, refusal)
        return
    await reply(update, context, "ask.what")


async def free_text(update: Update, context: LinliContext) -> None:
    """Text outside any dialogue: the answer staff wait for, else a bound resident's
    question; anyone else's as before."""
    if not await answered_staff(update, context):
        await take_question(
            update, context, update.effective_message.text, unbound=fallback.stray_text
        )


async def answered_staff(update: Update, context: LinliContext) -> bool:
    """Whether staff wait for the household's answer to a question on a repair request, as
    if "Answer staff" had been pressed: the text answers the one request, or, with
    several, the resident chooses which to answer. A resident who types instead of
    pressing still reaches the staff who asked, not the FAQ."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or message.text is None:
        return False
    async with context.session() as session:
        waiting = await ask.answer_staff(session, user.id, message.text, context.actor)
    if len(waiting) == 1:
        await reply(update, context, "repair.answer_sent", number=waiting[0].number)
    elif waiting:
        rows = [
            [
                InlineKeyboardButton(
                    f"{request.number} {request.question or ''}"[:60],
                    callback_data=callbacks.encode("rep", "ans", request.id),
                )
            ]
            for request in waiting
        ]
        await reply(update, context, "ask.staff_wait_for_which", markup=InlineKeyboardMarkup(rows))
    return bool(waiting)


async def asked_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """The question after a bare /ask; text that asks nothing leaves the dialogue open."""
    await take_question(update, context, update.effective_message.text, ends_dialogue=True)


async def take_question(
    update: Update,
    context: LinliContext,
    text: str,
    unbound: Otherwise | None = None,
    *,
    ends_dialogue: bool = False,
) -> None:
    """Keep the question; offer the repair dialogue if it sounds like one, else the FAQ.

    Who is not bound is told so, or handed to ``unbound``. A kept question ends the
    /ask dialogue when ``ends_dialogue``.
    """
    user_id = update.effective_user.id
    try:
        async with context.session() as session:
            asked = await ask.ask(session, user_id, text, context.language, context.actor)
            if ends_dialogue:
                await dialogues.finish(session, user_id)
    except AskError as refusal:
        if refusal.reason == "ask.unbound" and unbound is not None:
            await unbound(update, context)
        else:
            await _refuse(update, context, refusal)
        return
    if asked.sounds_like_repair:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        context.t("ask.yes_repair"), callback_data=callbacks.encode("rep", "new")
                    )
                ],
                [button(context, "ask.no_question", "ask", "go", asked.question.id)],
            ]
        )
        await reply(update, context, "ask.sounds_like_repair", markup=markup)
        return
    await answer_from_faq(update, context, asked)


async def answer_from_faq(update: Update, context: LinliContext, asked: Asked) -> None:
    """The best answer, or candidates to pick from, each with "ask staff"; or the news
    that staff have the question, when the FAQ has nothing."""
    question_id = asked.question.id
    if asked.confident:
        await show_entry(update, context, question_id, asked.matches[0].entry_id)
        return
    if not asked.matches:  # the flow has put it in the staff inbox already
        await reply(update, context, "ask.no_match")
        return
    rows = [
        [
            InlineKeyboardButton(
                match.question[:60],
                callback_data=callbacks.encode("ask", "pick", question_id, match.entry_id),
            )
        ]
        for match in asked.matches
    ]
    to_staff = [button(context, "ask.to_staff", "ask", "staff", question_id)]
    await reply(update, context, "ask.candidates", markup=InlineKeyboardMarkup([*rows, to_staff]))


async def show_entry(update: Update, context: LinliContext, question_id: int, entry_id: int):
    async with context.session() as session:
        entry = await session.get(FaqEntry, entry_id)
    markup = InlineKeyboardMarkup(
        [
            [button(context, "ask.helped", "ask", "ok", question_id, entry_id)],
            [button(context, "ask.to_staff", "ask", "staff", question_id)],
        ]
    )
    await reply(
        update,
        context,
        "ask.answer",
        markup=markup,
        question=faq.question_of(entry, context.language),
        answer=faq.answer_of(entry, context.language),
    )


async def ask_button(update: Update, context: LinliContext) -> None:
    query, user_id = update.callback_query, update.effective_user.id
    parts = callbacks.decode_any(query.data, "ask")
    if parts is None or not all(p.isdigit() for p in parts[1:]) or len(parts) not in (2, 3):
        await query.answer(context.t("button.stale"), show_alert=True)
        return
    action, numbers = parts[0], [int(p) for p in parts[1:]]
    try:
        async with context.session() as session:
            if action == "go" and len(numbers) == 1:
                asked = await ask.matches_of(
                    session, numbers[0], user_id, context.language, context.actor
                )
            elif action == "pick" and len(numbers) == 2:
                question = await ask.own_question(session, numbers[0], user_id)
                await ask.entry_for(session, question, numbers[1])
            elif action == "ok" and len(numbers) == 2:
                await ask.answered_by_faq(session, numbers[0], user_id, numbers[1], context.actor)
            elif action == "staff" and len(numbers) == 1:
                await ask.to_staff(session, numbers[0], user_id, context.actor)
            elif action == "more" and len(numbers) == 1:
                await ask.own_question(session, numbers[0], user_id)
                await dialogues.start(session, user_id, REPLY_DIALOGUE, question=numbers[0])
            else:
                raise AskError("button.stale")
    except AskError as refusal:
        await _refuse(update, context, refusal)
        return
    await accept_button(query)
    if action == "go":
        await answer_from_faq(update, context, asked)
    elif action == "pick":
        await show_entry(update, context, numbers[0], numbers[1])
    elif action == "ok":
        await reply(update, context, "ask.glad")
    elif action == "staff":
        await reply(update, context, "ask.sent_to_staff")
    else:
        await reply(update, context, "ask.type_reply")


async def resident_reply_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    if await _send_reply(update, context, dialogue, ask.resident_reply, update.effective_user.id):
        await reply(update, context, "ask.sent_to_staff")


async def _send_reply(update, context: LinliContext, dialogue: Dialogue, send, sender) -> bool:
    """Put the typed reply into the thread (``send`` checks who may) and end the dialogue;
    whether it went in."""
    user_id = update.effective_user.id
    try:
        async with context.session() as session:
            await send(
                session,
                dialogue.data["question"],
                sender,
                update.effective_message.text,
                context.actor,
            )
            await dialogues.finish(session, user_id)
    except AskError as refusal:
        await _refuse(update, context, refusal)
        return False
    return True


# The staff inbox


async def inbox(update: Update, context: LinliContext) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    async with context.session() as session:
        questions = await ask.inbox(session, member)
    if not questions:
        await reply(update, context, "inbox.empty")
        return
    rows = [
        [
            InlineKeyboardButton(
                f"#{q.id} {q.text[:40]}", callback_data=callbacks.encode("inbox", "show", q.id)
            )
        ]
        for q in questions
    ]
    await reply(update, context, "inbox.title", markup=InlineKeyboardMarkup(rows))


async def inbox_button(update: Update, context: LinliContext) -> None:
    query = update.callback_query
    member = await staff_of(update, context)
    if member is None:
        return
    parts = callbacks.decode(query.data, "inbox", 2)
    if parts is None or not parts[1].isdigit():
        await query.answer(context.t("button.stale"), show_alert=True)
        return
    action, question_id, user_id = parts[0], int(parts[1]), update.effective_user.id
    try:
        async with context.session() as session:
            if action == "show":
                question = await ask.served_question(session, question_id, member)
                messages = await ask.thread(session, question_id)
            elif action == "reply":
                await ask.served_question(session, question_id, member)
                await dialogues.start(session, user_id, STAFF_REPLY_DIALOGUE, question=question_id)
            elif action == "close":
                await ask.close(session, question_id, member, context.actor)
            elif action == "faq":
                await ask.to_faq(session, question_id, member, context.actor)
            else:
                raise AskError("button.stale")
    except AskError as refusal:
        await _refuse(update, context, refusal)
        return
    await query.answer()
    if action == "show":
        await show_thread(update, context, question, messages)
    elif action == "reply":
        await reply(update, context, "inbox.type_reply")
    elif action == "close":
        await reply(update, context, "inbox.closed")
    else:
        await reply(update, context, "inbox.faq_added")


async def show_thread(update: Update, context: LinliContext, question, messages) -> None:
    state = context.t(f"inbox.state_{question.state}")
    lines = [context.t("inbox.head", number=question.id, state=state)]
    for message in messages:
        who = context.t("inbox.from_staff" if message.from_staff else "inbox.from_resident")
        lines.append(f"{local_time(context, message.at)} {who}：{message.text}")
    await send_lines(update, context, lines)
    rows = [
        [
            button(context, "inbox.reply", "inbox", "reply", question.id),
            button(context, "inbox.close", "inbox", "close", question.id),
        ],
        [button(context, "inbox.to_faq", "inbox", "faq", question.id)],
    ]
    await reply(update, context, "inbox.what_now", markup=InlineKeyboardMarkup(rows))


async def staff_reply_text(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    if await _send_reply(update, context, dialogue, ask.staff_reply, member):
        await reply(update, context, "inbox.reply_sent")


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("ask", ask_command),
        CommandHandler("inbox", inbox),
        CallbackQueryHandler(ask_button, pattern=callbacks.pattern("ask")),
        CallbackQueryHandler(inbox_button, pattern=callbacks.pattern("inbox")),
    ]


def steps() -> dict:
    return {
        ASK_DIALOGUE: asked_text,
        REPLY_DIALOGUE: resident_reply_text,
        STAFF_REPLY_DIALOGUE: staff_reply_text,
    }
