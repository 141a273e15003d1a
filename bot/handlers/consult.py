"""Staff run round 1 from the chat: /staff (open, remind, close), /results, /ranking."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import (
    charts,
    civil_code,
    consultation,
    dialogues,
    exports,
    registry,
    round1_results,
    round2,
    turnout,
)
from bot.flows.callback_data import (
    AskClose,
    CallbackData,
    CancelOpening,
    CloseNow,
    ConfirmOpening,
    ConsultationButton,
    KeepOpen,
    OfflineStart,
    OpeningCommunity,
    OpenRound1,
    OpenRound2,
    RemindAgain,
    RemindNot,
    RemindNow,
    ShowResults,
)
from bot.flows.consultation import Tally
from bot.flows.registry import StaffMember
from bot.flows.round1_results import Round1Results
from bot.handlers import plan
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import (
    accept_button,
    document_name,
    local_month,
    local_time,
    refuse_button,
    reply,
    send_lines,
)
from bot.handlers.context import LinliContext
from bot.handlers.staff import (
    consultation_served,
    parse_local_time,
    served,
    staff_of,
    staff_press,
)
from storage.models import Channel, Community, Consultation, Dialogue, Role

OPEN_DIALOGUE = "consult_open"
TITLE_LIMIT, QUESTION_LIMIT = 200, 2000
COMMUNITY_BUTTONS = 8


def button(context: LinliContext, label_key: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(context.t(label_key), callback_data=data.pack())


def labelled(context: LinliContext, label_key: str, tally: Tally, kind: type[ConsultationButton]):
    """A panel button that names the community it acts on."""
    return InlineKeyboardButton(
        context.t(label_key, community=tally.community),
        callback_data=kind(tally.consultation_id).pack(),
    )


# /staff: the panel -----------------------------------------------------------


async def panel(update: Update, context: LinliContext) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    community_ids = None if member.role is Role.ADMIN else set(member.community_ids)
    async with context.session() as session:
        tallies = [
            t
            for t in await consultation.current_tallies(session, community_ids)
            if t.status == "open"
        ]
        menus = await round2.needing_staff(session, community_ids)
        names = {c.id: c.name for c in await registry.communities_served(session, member)}
    rows = [
        [
            button(context, "staff.open_round1", OpenRound1()),
            button(context, "staff.open_round2", OpenRound2()),
        ]
    ]
    if tallies or menus:
        rows.append(
            [InlineKeyboardButton(context.t("offline.record"), callback_data=OfflineStart().pack())]
        )
    rows += plan.panel_rows(context, menus, names)
    for tally in tallies:
        rows.append(
            [
                labelled(context, "staff.results", tally, ShowResults),
                labelled(context, "staff.remind", tally, RemindNow),
                labelled(context, "staff.close", tally, AskClose),
            ]
        )
    lines = [
        context.t(
            "staff.open_line",
            community=t.community,
            title=t.title,
            closes=local_time(context, t.closes_at),
            answered=t.answered,
            total=t.total,
        )
        for t in tallies
    ]
    lines += [
        context.t("staff.menu_line", community=names[c.community_id], title=c.title) for c in menus
    ]
    listing = "\n".join(lines)
    key = "staff.panel" if tallies or menus else "staff.panel_empty"
    await reply(update, context, key, markup=InlineKeyboardMarkup(rows), open=listing)


# Opening a round: a dialogue held in the database ------------------------------


async def start_opening(
    update: Update, context: LinliContext, member: StaffMember, round_: int
) -> None:
    communities = await served(context, member)
    async with context.session() as session:
        await dialogues.start(
            session, update.effective_user.id, OPEN_DIALOGUE, step="community", round=round_
        )
    if len(communities) <= COMMUNITY_BUTTONS:
        rows = [
            [InlineKeyboardButton(c.name, callback_data=OpeningCommunity(c.id).pack())]
            for c in communities
        ]
        await reply(update, context, "open.pick_community", markup=InlineKeyboardMarkup(rows))
    else:
        await reply(update, context, "open.type_community")


async def choose_community(
    update: Update, context: LinliContext, member: StaffMember, community: Community | None
) -> None:
    if community is None or not member.serves(community.id):
        await reply(update, context, "open.unknown_community")
        return
    async with context.session() as session:
        pending = await dialogues.current(session, update.effective_user.id)
        round_ = pending.data.get("round", 1) if pending is not None else 1
        await consultation.check_opening(session, community, round_)
        total = await consultation.households_in(session, community.id)
        if total == 0:
            await dialogues.finish(session, update.effective_user.id)
        else:
            await dialogues.start(
                session,
                update.effective_user.id,
                OPEN_DIALOGUE,
                step="title",
                round=round_,
                community_id=community.id,
                community=community.name,
            )
    if total == 0:
        await reply(update, context, "consult.no_households", community=community.name)
    else:
        await reply(update, context, "open.ask_title", community=community.name, total=total)


async def opening_step(update: Update, context: LinliContext, dialogue: Dialogue) -> None:
    """Each text the staff member types while opening a round."""
    member = await staff_of(update, context)
    if member is None:
        return
    typed = update.effective_message.text.strip()
    data, user_id = dict(dialogue.data), update.effective_user.id
    step = data.get("step")
    if step == "community":
        async with context.session() as session:
            community = await registry.community_or_none(session, typed)
        await choose_community(update, context, member, community)
        return
    if step == "title":
        if not 0 < len(typed) <= TITLE_LIMIT:
            await reply(update, context, "open.too_long", limit=TITLE_LIMIT)
            return
        data.update(step="question", title=typed)
        next_key, values = "open.ask_question", {}
    elif step == "question":
        if not 0 < len(typed) <= QUESTION_LIMIT:
            await reply(update, context, "open.too_long", limit=QUESTION_LIMIT)
            return
        data.update(step="closes", question=typed)
        next_key, values = "open.ask_closes", {"example": "2026-12-20 18:00"}
    elif step == "closes":
        closes = parse_local_time(context, typed)
        if closes is None:
            await reply(update, context, "open.bad_time", example="2026-12-20 18:00")
            return
        data.update(step="confirm", closes_at=closes.isoformat())
        next_key, values = None, {}
    else:
        await reply(update, context, "open.use_buttons")
        return
    async with context.session() as session:
        await dialogues.start(session, user_id, OPEN_DIALOGUE, **data)
    if next_key is not None:
        await reply(update, context, next_key, **values)
        return
    async with context.session() as session:
        residents = len(await consultation.residents_in(session, data["community_id"]))
        total = await consultation.households_in(session, data["community_id"])
    markup = InlineKeyboardMarkup(
        [
            [
                button(context, "open.confirm", ConfirmOpening()),
                button(context, "open.cancel", CancelOpening()),
            ]
        ]
    )
    await reply(
        update,
        context,
        "open.preview_menu" if data.get("round") == 2 else "open.preview",
        markup=markup,
        community=data["community"],
        title=data["title"],
        question=data["question"],
        closes=local_time(context, closes),
        total=total,
        residents=residents,
        threshold=context.settings.consultation.threshold_percent,
    )


async def confirm_opening(
    update: Update, context: LinliContext, member: StaffMember, _: ConfirmOpening
) -> None:
    query, user_id = update.callback_query, update.effective_user.id
    settings = context.settings.consultation
    async with context.session() as session:
        pending = await dialogues.current(session, user_id)
    if pending is None or pending.kind != OPEN_DIALOGUE or pending.data.get("step") != "confirm":
        await refuse_button(query, context)
        return
    data = pending.data
    if not member.serves(data["community_id"]):
        await refuse_button(query, context)
        return
    reminder = settings.reminder_hours_before
    remind_before = timedelta(hours=reminder) if reminder else None
    opening = (data["community_id"], data["title"], data["question"])
    closes_at = datetime.fromisoformat(data["closes_at"])
    async with context.session() as session:
        if data.get("round") == 2:
            opened = await round2.open_round2(
                session,
                *opening,
                closes_at,
                context.actor,
                rules=round2.Rules(
                    settings.menu_min_items,
                    settings.menu_max_items,
                    settings.menu_budget_fen,
                ),
                inclusion_percent=settings.menu_inclusion_percent,
                remind_before=remind_before,
            )
        else:
            opened = await consultation.open_round1(
                session,
                *opening,
                closes_at,
                context.actor,
                threshold_percent=settings.threshold_percent,
                remind_before=remind_before,
            )
        recipients = len(await consultation.residents_in(session, data["community_id"]))
        await dialogues.finish(session, user_id)
    await accept_button(query)
    await reply(
        update,
        context,
        "open.done",
        community=data["community"],
        total=opened.total_households,
        residents=recipients,
        closes=local_time(context, opened.closes_at),
    )


# Buttons of the panel ---------------------------------------------------------


async def open_round(
    update: Update, context: LinliContext, member: StaffMember, button: OpenRound1 | OpenRound2
) -> None:
    await accept_button(update.callback_query)
    await start_opening(update, context, member, 2 if isinstance(button, OpenRound2) else 1)


async def cancel_opening(
    update: Update, context: LinliContext, member: StaffMember, _: CancelOpening
) -> None:
    async with context.session() as session:
        await dialogues.finish(session, update.effective_user.id)
    await accept_button(update.callback_query)
    await reply(update, context, "open.cancelled")


async def opening_community(
    update: Update, context: LinliContext, member: StaffMember, button: OpeningCommunity
) -> None:
    query = context.query
    async with context.session() as session:
        pending = await dialogues.current(session, member.telegram_id)
        community = await session.get(Community, button.community)
    if pending is None or pending.kind != OPEN_DIALOGUE or pending.data.get("step") != "community":
        await refuse_button(query, context)
        return
    if community is None or not member.serves(button.community):
        await refuse_button(query, context)
        return
    async with context.session() as session:  # a round open already is the press's alert
        await consultation.check_opening(session, community, pending.data.get("round", 1))
    await accept_button(query)
    await choose_community(update, context, member, community)


def on_consultation(act: Callable[[Update, LinliContext, Consultation], Awaitable[None]]):
    """A panel button about a consultation, pressed by staff who serve its community."""

    async def pressed(
        update: Update, context: LinliContext, member: StaffMember, button: ConsultationButton
    ) -> None:
        found = await consultation_served(update, context, member, button.consultation)
        if found is not None:
            await act(update, context, found)

    return staff_press(pressed)


async def show_results(update: Update, context: LinliContext, found: Consultation) -> None:
    await update.callback_query.answer()
    async with context.session() as session:
        tally = await consultation.tally(session, found.id)
    await send_results(update, context, [tally])


async def remind_now(update: Update, context: LinliContext, found: Consultation) -> None:
    """Remind the silent households, unless a reminder went out within the quiet time:
    then ask first, so a second press does not send the same reminder again."""
    quiet = timedelta(minutes=context.settings.consultation.reminder_quiet_minutes)
    async with context.session() as session:
        last = await consultation.recent_reminder(session, found, quiet)
    if last is not None:
        await context.query.answer()
        markup = InlineKeyboardMarkup(
            [
                [
                    button(context, "staff.remind_again", RemindAgain(found.id)),
                    button(context, "staff.remind_not", RemindNot(found.id)),
                ]
            ]
        )
        await reply(
            update, context, "staff.reminded_recently", markup=markup, at=local_time(context, last)
        )
        return
    await send_reminder(update, context, found)


async def send_reminder(update: Update, context: LinliContext, found: Consultation) -> None:
    async with context.session() as session:
        count = await consultation.remind(session, found.id, context.actor)
    await update.callback_query.answer()
    await reply(update, context, "staff.reminded", count=count, title=found.title)


async def ask_close(update: Update, context: LinliContext, found: Consultation) -> None:
    await update.callback_query.answer()
    markup = InlineKeyboardMarkup(
        [
            [
                button(context, "staff.close_yes", CloseNow(found.id)),
                button(context, "staff.close_no", KeepOpen(found.id)),
            ]
        ]
    )
    await reply(update, context, "staff.close_confirm", markup=markup, title=found.title)


async def not_now(update: Update, context: LinliContext, found: Consultation) -> None:
    """A confirmation answered No: the question (and its buttons) becomes the answer,
    nothing else changes."""
    await context.query.answer()
    await context.query.edit_message_text(context.t("staff.nothing_done", title=found.title))


async def close_now(update: Update, context: LinliContext, found: Consultation) -> None:
    async with context.session() as session:
        tally = await consultation.close(session, found.id, context.actor)
    await accept_button(update.callback_query)
    await send_results(update, context, [tally])


PANEL_ACTIONS: dict[type[ConsultationButton], Callable] = {
    ShowResults: show_results,
    RemindNow: remind_now,
    RemindAgain: send_reminder,
    RemindNot: not_now,
    AskClose: ask_close,
    CloseNow: close_now,
    KeepOpen: not_now,
}


# /results and /ranking ---------------------------------------------------------


def tally_line(context: LinliContext, tally: Tally) -> str:
    verdict = context.t("results.reached" if tally.reached else "results.below")
    return context.t(
        "results.line",
        community=tally.community,
        title=tally.title,
        total=tally.total,
        answered=tally.answered,
        agree=tally.agree,
        disagree=tally.disagree,
        not_answered=tally.not_answered,
        ratio=tally.ratio_text,
        threshold=tally.threshold_percent,
        verdict=verdict,
        status=context.t(f"results.status_{tally.status}"),
    )


def result_lines(context: LinliContext, result: Round1Results) -> list[str]:
    """A round's line, its answers by channel and turnout by building, and the Civil
    Code's double tally when asked for."""
    channels = result.channels
    lines = [
        tally_line(context, result.tally),
        context.t(
            "offline.by_channel",
            bot=channels.get(Channel.BOT, 0),
            paper=channels.get(Channel.PAPER, 0),
            proxy=channels.get(Channel.PROXY, 0),
        ),
    ]
    lines += [
        context.t(
            "offline.by_building", building=b.building, answered=b.answered, total=b.households
        )
        for b in result.buildings
    ]
    if not context.settings.consultation.double_tally:
        return lines
    double = result.double_tally
    if double is None:
        return [*lines, context.t("civil.no_areas")]
    verdict = context.t("civil.reached" if double.reached else "civil.below")
    return [*lines, context.t("civil.line", verdict=verdict, **civil_code.values(double))]


def chart_labels(context: LinliContext, title_key: str) -> dict[str, str]:
    return {
        "title": context.t(title_key),
        "agree": context.t("vote.agree"),
        "disagree": context.t("vote.disagree"),
        "not_answered": context.t("results.not_answered"),
        "threshold": context.t("results.threshold"),
    }


async def send_results(update: Update, context: LinliContext, tallies: list[Tally]) -> None:
    """The rounds' figures, their chart, and the spreadsheet with every building."""
    settings = context.settings.consultation
    shares = settings.double_tally_shares if settings.double_tally else None
    async with context.session() as session:
        results = await round1_results.results_of(session, tallies, shares)
    await send_lines(update, context, [line for r in results for line in result_lines(context, r)])
    chat = update.effective_chat.id
    chart = charts.round1_chart(tallies, chart_labels(context, "results.chart_title"))
    await context.bot.send_photo(chat, chart)
    table = io.BytesIO()
    exports.write_xlsx(table, *exports.results_tables(results, context.settings.zone))
    if len(tallies) == 1:
        name = document_name(
            context, "file.results", community=tallies[0].community, month=local_month(context)
        )
    else:
        name = document_name(context, "file.all_results", month=local_month(context))
    await context.bot.send_document(chat, InputFile(table.getvalue(), filename=name))


async def results(update: Update, context: LinliContext) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    community_ids = None if member.role is Role.ADMIN else set(member.community_ids)
    async with context.session() as session:
        tallies = await consultation.current_tallies(session, community_ids)
        menus = [
            await round2.tally(session, c.id)
            for c in await round2.needing_staff(session, community_ids)
            if c.status == "open"
        ]
    if not tallies and not menus:
        await reply(update, context, "results.none")
        return
    if tallies:
        await send_results(update, context, tallies)
    for result in menus:
        await plan.send_tally(update, context, result)


async def ranking(update: Update, context: LinliContext) -> None:
    member = await staff_of(update, context)
    if member is None:
        return
    if member.role is not Role.ADMIN:
        await reply(update, context, "ranking.admins_only")
        return
    async with context.session() as session:
        ranked = await consultation.ranking(session, zone=context.settings.zone)
        channels = await turnout.channels_of(session, [r.tally.consultation_id for r in ranked])
    if not ranked:
        await reply(update, context, "ranking.none")
        return
    lines = [context.t("ranking.title")] + [
        f"{r.position}. {tally_line(context, r.tally)}" for r in ranked
    ]
    await send_lines(update, context, lines)
    chat = update.effective_chat.id
    tallies = [r.tally for r in ranked]
    await context.bot.send_photo(
        chat, charts.round1_chart(tallies, chart_labels(context, "ranking.chart_title"))
    )
    table = io.BytesIO()
    exports.write_xlsx(table, exports.ranking_table(ranked, channels, context.settings.zone))
    name = document_name(context, "file.ranking", month=local_month(context))
    await context.bot.send_document(chat, InputFile(table.getvalue(), filename=name))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("staff", panel),
        CommandHandler("results", results),
        CommandHandler("ranking", ranking),
        ButtonHandler(OpenRound1, staff_press(open_round)),
        ButtonHandler(OpenRound2, staff_press(open_round)),
        ButtonHandler(ConfirmOpening, staff_press(confirm_opening)),
        ButtonHandler(CancelOpening, staff_press(cancel_opening)),
        ButtonHandler(OpeningCommunity, staff_press(opening_community)),
        *(ButtonHandler(kind, on_consultation(act)) for kind, act in PANEL_ACTIONS.items()),
    ]


def steps() -> dict:
    return {OPEN_DIALOGUE: opening_step}
