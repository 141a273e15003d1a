"""/supervisors: staff appoint residents of their communities as quality supervisors.

Only in a community under renovation (``supervision.require_under_renovation``):
the "appoint" button of any other is refused with the reason.

Buttons are ``SupervisorAdd`` (then the household's address is typed) and
``SupervisorDismiss``, of ``bot.flows.callback_data``.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import dialogues, registry, supervision
from bot.flows.callback_data import (
    CallbackData,
    SupervisorAdd,
    SupervisorDismiss,
    TelegramId,
)
from bot.flows.registry import StaffMember
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import accept_button, address_text, reply
from bot.handlers.context import LinliContext
from bot.handlers.help import refresh_commands
from bot.handlers.staff import served, staff_of, staff_press
from storage.models import Community, Dialogue

DIALOGUE = "supervisor_add"
COMMUNITIES_SHOWN = 8


def button(label: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data.pack())


async def overview(update: Update, context: LinliContext) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    lines, rows = [], []
    async with context.session() as session:
        for community in (await served(context, member))[:COMMUNITIES_SHOWN]:
            appointed = await supervision.supervisors_of(session, community.id)
            names = context.t("supervisors.separator").join(
                f"{name}（{address_text(context, address)}）" if address else name
                for _, name, address in appointed
            )
            line = context.t("supervisors.line", community=community.name, names=names or "—")
            lines.append(line)
            add = context.t("supervisors.add", community=community.name)
            rows.append([button(add, SupervisorAdd(community.id))])
            rows += [
                [
                    button(
                        context.t("supervisors.dismiss", name=name),
                        SupervisorDismiss(community.id, TelegramId(telegram_id)),
                    )
                ]
                for telegram_id, name, _ in appointed
            ]
    await reply(
        update,
        context,
        "supervisors.title",
        markup=InlineKeyboardMarkup(rows),
        communities="\n".join(lines),
    )


async def supervisors_button(
    update: Update,
    context: LinliContext,
    member: StaffMember,
    button: SupervisorAdd | SupervisorDismiss,
) -> None:
    query, community_id = update.callback_query, button.community
    if not member.serves(community_id):
        await query.answer(context.t("button.stale"), show_alert=True)
        return
    async with context.session() as session:
        community = await session.get(Community, community_id)
        if isinstance(button, SupervisorAdd):
            await supervision.require_under_renovation(session, community_id)
            await dialogues.start(
                session, update.effective_user.id, DIALOGUE, community=community_id
            )
        else:
            await supervision.dismiss(session, community_id, button.person, context.actor)
    await accept_button(query)
    if isinstance(button, SupervisorAdd):
        await reply(update, context, "supervisors.ask_address", community=community.name)
    else:
        await refresh_commands(context.application, button.person)
        await reply(update, context, "supervisors.dismissed", community=community.name)


async def address_text_step(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """'1-1-101': the household whose bound residents become supervisors."""
    member = await staff_of(update, context)
    if member is None:
        return
    community_id = dialogue.data["community"]
    if not member.serves(community_id):  # no longer theirs since the dialogue began
        async with context.session() as session:
            await dialogues.finish(session, update.effective_user.id)
        await reply(update, context, "button.stale")
        return
    parts = update.effective_message.text.strip().split("-")
    if len(parts) != 3:
        await reply(update, context, "supervisors.bad_address")
        return
    async with context.session() as session:
        household_id = await supervision.household_at(session, community_id, *parts)
        appointed = await supervision.appoint_household(
            session, community_id, household_id, context.actor
        )
        address = await registry.address_of(session, household_id)
        await dialogues.finish(session, update.effective_user.id)
    await refresh_commands(context.application, *appointed)
    await reply(
        update,
        context,
        "supervisors.appointed",
        address=address_text(context, address),
        count=len(appointed),
    )


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("supervisors", overview),
        ButtonHandler(SupervisorAdd, staff_press(supervisors_button)),
        ButtonHandler(SupervisorDismiss, staff_press(supervisors_button)),
    ]


def steps() -> dict:
    return {DIALOGUE: address_text_step}
