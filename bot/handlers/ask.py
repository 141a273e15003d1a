"""Residents ask in their own words (/ask or plain text); staff answer from /inbox.

Resident buttons are the ``Ask...`` and ``Faq...`` kinds of callback data; staff
buttons the ``Inbox...`` kinds. Replies both ways are typed into a dialogue.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import ask, dialogues, faq, small_talk
from bot.flows.ask import Asked, AskError
from bot.flows.callback_data import (
    AskMore,
    AskNotRepair,
    AskStaff,
    CallbackData,
    FaqHelped,
    FaqPick,
    InboxClose,
    InboxReply,
    InboxShow,
    InboxToFaq,
    QuestionButton,
    RepairAnswer,
    RepairNew,
)
from bot.flows.registry import StaffMember
from bot.handlers import fallback
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import accept_button, local_time, refuse, reply, send_lines
from bot.handlers.context import LinliContext
from bot.handlers.dialogue_router import Otherwise
from bot.handlers.staff import staff_of, staff_press
from storage.models import Dialogue, FaqEntry

ASK_DIALOGUE = "ask"  # waiting for the question after a bare /ask
REPLY_DIALOGUE = "ask_reply"  # a resident's reply in a thread
STAFF_REPLY_DIALOGUE = "inbox_reply"


def button(context: LinliContext, key: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(context.t(key), callback_data=data.pack())


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
        await refuse(update, context, refusal)
        return
    await reply(update, context, "ask.what")


async def free_text(update: Update, context: LinliContext) -> None:
    """Text outside any dialogue: the answer staff wait for, a greeting or thanks, else
    a bound resident's question; anyone else's as before."""
    if context.principal.staff_waiting and await answered_staff(update, context):
        return
    text, principal = update.effective_message.text or "", context.principal
    known = principal.household_id is not None or principal.staff is not None
    talk = small_talk.kind(text)
    if talk is not None and known:
        await reply(update, context, f"small_talk.{talk}")
        return
    await take_question(update, context, text, unbound=fallback.stray_text)


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
                    callback_data=RepairAnswer(request.id).pack(),
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
            asked = await ask.ask(
                session,
                user_id,
                text,
                context.language,
                context.actor,
                community_id=context.principal.community_id,
            )
            if ends_dialogue:
                await dialogues.finish(session, user_id)
    except AskError as refusal:
        if refusal.reason == "ask.unbound" and unbound is not None:
            await unbound(update, context)
        else:
            await refuse(update, context, refusal)
        return
    if asked.sounds_like_repair:
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        context.t("ask.yes_repair"), callback_data=RepairNew().pack()
                    )
                ],
                [button(context, "ask.no_question", AskNotRepair(asked.question.id))],
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
                callback_data=FaqPick(question_id, match.entry_id).pack(),
            )
        ]
        for match in asked.matches
    ]
    to_staff = [button(context, "ask.to_staff", AskStaff(question_id))]
    await reply(update, context, "ask.candidates", markup=InlineKeyboardMarkup([*rows, to_staff]))


async def show_entry(update: Update, context: LinliContext, question_id: int, entry_id: int):
    async with context.session() as session:
        entry = await session.get(FaqEntry, entry_id)
    markup = InlineKeyboardMarkup(
        [
            [button(context, "ask.helped", FaqHelped(question_id, entry_id))],
            [button(context, "ask.to_staff", AskStaff(question_id))],
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


async def ask_button(update: Update, context: LinliContext, button: CallbackData) -> None:
    query, user_id = update.callback_query, update.effective_user.id
    async with context.session() as session:
        match button:
            case AskNotRepair(question=question_id):
                asked = await ask.matches_of(
                    session, question_id, user_id, context.language, context.actor
                )
            case FaqPick(question=question_id, entry=entry_id):
                question = await ask.own_question(session, question_id, user_id)
                await ask.entry_for(session, question, entry_id)
            case FaqHelped(question=question_id, entry=entry_id):
                await ask.answered_by_faq(session, question_id, user_id, entry_id, context.actor)
            case AskStaff(question=question_id):
                await ask.to_staff(session, question_id, user_id, context.actor)
            case AskMore(question=question_id):
                await ask.own_question(session, question_id, user_id)
                await dialogues.start(session, user_id, REPLY_DIALOGUE, question=question_id)
    await accept_button(query)
    match button:
        case AskNotRepair():
            await answer_from_faq(update, context, asked)
        case FaqPick(question=question_id, entry=entry_id):
            await show_entry(update, context, question_id, entry_id)
        case FaqHelped():
            await reply(update, context, "ask.glad")
        case AskStaff():
            await reply(update, context, "ask.sent_to_staff")
        case _:
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
        await refuse(update, context, refusal)
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
        [InlineKeyboardButton(f"#{q.id} {q.text[:40]}", callback_data=InboxShow(q.id).pack())]
        for q in questions
    ]
    await reply(update, context, "inbox.title", markup=InlineKeyboardMarkup(rows))


async def inbox_button(
    update: Update, context: LinliContext, member: StaffMember, button: QuestionButton
) -> None:
    query, question_id, user_id = update.callback_query, button.question, update.effective_user.id
    async with context.session() as session:
        match button:
            case InboxShow():
                question = await ask.served_question(session, question_id, member)
                messages = await ask.thread(session, question_id)
            case InboxReply():
                await ask.served_question(session, question_id, member)
                await dialogues.start(session, user_id, STAFF_REPLY_DIALOGUE, question=question_id)
            case InboxClose():
                await ask.close(session, question_id, member, context.actor)
            case InboxToFaq():
                await ask.to_faq(session, question_id, member, context.actor)
    await query.answer()
    match button:
        case InboxShow():
            await show_thread(update, context, question, messages)
        case InboxReply():
            await reply(update, context, "inbox.type_reply")
        case InboxClose():
            await reply(update, context, "inbox.closed")
        case _:
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
            button(context, "inbox.reply", InboxReply(question.id)),
            button(context, "inbox.close", InboxClose(question.id)),
        ],
        [button(context, "inbox.to_faq", InboxToFaq(question.id))],
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
        *(
            ButtonHandler(kind, ask_button)
            for kind in (AskNotRepair, FaqPick, FaqHelped, AskStaff, AskMore)
        ),
        *(
            ButtonHandler(kind, staff_press(inbox_button))
            for kind in (InboxShow, InboxReply, InboxClose, InboxToFaq)
        ),
    ]


def steps() -> dict:
    return {
        ASK_DIALOGUE: asked_text,
        REPLY_DIALOGUE: resident_reply_text,
        STAFF_REPLY_DIALOGUE: staff_reply_text,
    }
