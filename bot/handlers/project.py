"""/project for staff (see and advance the stages), /progress and /settings for residents."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import people, project, registry
from bot.flows.callback_data import NoticeSetting, ProjectAdvance, ProjectShow
from bot.flows.project import Progress
from bot.flows.registry import StaffMember
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import accept_button, local_time, refuse_button, reply
from bot.handlers.context import LinliContext
from bot.handlers.staff import staff_of, staff_press
from storage.models import NoticeKind

COMMUNITY_BUTTONS = 8


def progress_text(context: LinliContext, progress: Progress) -> str:
    lines = [context.t("project.title", community=progress.community)]
    for view in progress.stages:
        name = context.t(f"stage.{view.stage}")
        planned = str(view.planned_on) if view.planned_on else "—"
        reached = local_time(context, view.reached_at) if view.reached_at else "—"
        mark = "✅" if view.reached_at else "▫️"
        lines.append(
            context.t("project.line", mark=mark, stage=name, planned=planned, reached=reached)
        )
    if progress.observations_open or progress.observations_resolved:
        lines.append(
            context.t(
                "project.observations",
                open=progress.observations_open,
                resolved=progress.observations_resolved,
            )
        )
    return "\n".join(lines)


async def show(update: Update, context: LinliContext, community_id: int) -> None:
    async with context.session() as session:
        progress = await project.progress(session, community_id)
    markup = None
    if progress.next is not None:
        label = context.t("project.advance", stage=context.t(f"stage.{progress.next}"))
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        label,
                        callback_data=ProjectAdvance(community_id, progress.next).pack(),
                    )
                ]
            ]
        )
    await context.bot.send_message(
        update.effective_chat.id, progress_text(context, progress), reply_markup=markup
    )


async def project_command(update: Update, context: LinliContext) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    async with context.session() as session:
        communities = await registry.communities_served(session, member)
    if len(communities) == 1:
        await show(update, context, communities[0].id)
        return
    rows = [
        [InlineKeyboardButton(c.name, callback_data=ProjectShow(c.id).pack())]
        for c in communities[:COMMUNITY_BUTTONS]
    ]
    await reply(update, context, "project.pick", markup=InlineKeyboardMarkup(rows))


async def show_press(
    update: Update, context: LinliContext, member: StaffMember, button: ProjectShow
) -> None:
    if not member.serves(button.community):
        await refuse_button(update.callback_query, context)
        return
    await accept_button(update.callback_query)
    await show(update, context, button.community)


async def advance_press(
    update: Update, context: LinliContext, member: StaffMember, button: ProjectAdvance
) -> None:
    query, community_id = update.callback_query, button.community
    if not member.serves(community_id):
        await refuse_button(query, context)
        return
    async with context.session() as session:
        await project.advance(session, community_id, button.stage, context.actor)
    await accept_button(query)
    await show(update, context, community_id)


async def progress_command(update: Update, context: LinliContext) -> None:
    household_id = context.principal.household_id
    async with context.session() as session:
        if household_id is None:
            progress = None
        else:
            address = await registry.address_of(session, household_id)
            community = await registry.community_named(session, address.community)
            progress = await project.progress(session, community.id)
    if progress is None:
        await reply(update, context, "me.unbound")
    else:
        await context.bot.send_message(update.effective_chat.id, progress_text(context, progress))


MUTABLE = (NoticeKind.GENERAL, NoticeKind.PROGRESS)


async def settings_keyboard(context: LinliContext, user_id: int) -> InlineKeyboardMarkup:
    async with context.session() as session:
        muted = await people.muted_kinds(session, user_id)
    rows = []
    for kind in MUTABLE:
        state = "off" if kind in muted else "on"
        label = context.t(f"settings.{kind}_{state}")
        flip = NoticeSetting(kind, "on" if state == "off" else "off")
        rows.append([InlineKeyboardButton(label, callback_data=flip.pack())])
    return InlineKeyboardMarkup(rows)


async def settings_command(update: Update, context: LinliContext) -> None:
    markup = await settings_keyboard(context, update.effective_user.id)
    await reply(update, context, "settings.title", markup=markup)


async def settings_press(update: Update, context: LinliContext, button: NoticeSetting) -> None:
    query = update.callback_query
    if button.kind not in MUTABLE:
        await refuse_button(query, context)
        return
    async with context.session() as session:
        await people.set_muted(session, update.effective_user.id, button.kind, button.turn == "off")
    await query.answer(context.t("settings.saved"))
    await query.edit_message_reply_markup(
        await settings_keyboard(context, update.effective_user.id)
    )


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("project", project_command),
        CommandHandler("progress", progress_command),
        CommandHandler("settings", settings_command),
        ButtonHandler(ProjectShow, staff_press(show_press)),
        ButtonHandler(ProjectAdvance, staff_press(advance_press)),
        ButtonHandler(NoticeSetting, settings_press),
    ]
