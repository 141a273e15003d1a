"""A user's own account: /me, /unbind, /lang."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.flows import binding, dialogues, people
from bot.flows.callback_data import Language, Unbind
from bot.handlers.buttons import ButtonHandler
from bot.handlers.common import accept_button, address_text, refuse_button, reply
from bot.handlers.context import LinliContext
from bot.handlers.help import refresh_commands
from bot.i18n import LANGUAGES


async def me(update: Update, context: LinliContext) -> None:
    user_id = update.effective_user.id
    async with context.session() as session:
        address = await binding.binding_of(session, user_id)
    staff = context.principal.staff
    if staff is not None:
        await reply(update, context, f"me.role_{staff.role.value}")
    if address is not None:
        await reply(update, context, "me.bound", address=address_text(context, address))
    elif staff is None:
        await reply(update, context, "me.unbound")


async def unbind(update: Update, context: LinliContext) -> None:
    async with context.session() as session:
        address = await binding.binding_of(session, update.effective_user.id)
    if address is None:
        await reply(update, context, "me.unbound")
        return
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(context.t("unbind.yes"), callback_data=Unbind("yes").pack()),
                InlineKeyboardButton(context.t("unbind.no"), callback_data=Unbind("no").pack()),
            ]
        ]
    )
    await reply(
        update, context, "unbind.confirm", markup=markup, address=address_text(context, address)
    )


async def unbind_button(update: Update, context: LinliContext, button: Unbind) -> None:
    await accept_button(update.callback_query)
    if button.answer == "no":
        await reply(update, context, "unbind.kept")
        return
    async with context.session() as session:
        address = await binding.unbind(session, update.effective_user.id, context.actor)
    await refresh_commands(context.application, update.effective_user.id)
    if address is None:
        await reply(update, context, "me.unbound")
    else:
        await reply(update, context, "unbind.done", address=address_text(context, address))


async def lang(update: Update, context: LinliContext) -> None:
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    context.t(f"lang.name_{language}"),
                    callback_data=Language(language).pack(),
                )
                for language in LANGUAGES
            ]
        ]
    )
    await reply(update, context, "lang.choose", markup=markup)


async def lang_button(update: Update, context: LinliContext, button: Language) -> None:
    query = update.callback_query
    if button.language not in LANGUAGES:
        await refuse_button(query, context)
        return
    user_id = update.effective_user.id
    async with context.session() as session:
        await people.choose_language(session, user_id, button.language)
    context.language = button.language
    await accept_button(query)
    await refresh_commands(context.application, user_id)
    await reply(update, context, "lang.chosen")


async def cancel(update: Update, context: LinliContext) -> None:
    """Leave whatever dialogue the user is in."""
    async with context.session() as session:
        open_dialogue = await dialogues.current(session, update.effective_user.id)
        await dialogues.finish(session, update.effective_user.id)
    await reply(update, context, "cancel.done" if open_dialogue else "cancel.nothing")


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("cancel", cancel),
        CommandHandler("me", me),
        CommandHandler("unbind", unbind),
        CommandHandler("lang", lang),
        ButtonHandler(Unbind, unbind_button),
        ButtonHandler(Language, lang_button),
    ]
