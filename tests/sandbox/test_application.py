"""A whole python-telegram-bot Application, polling the sandbox like a real deployment."""

from __future__ import annotations

import asyncio
import sys

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from .helpers import ALICE, TOKEN


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Join", callback_data="join")]])
    await update.message.reply_html(
        f"Welcome, <b>{update.effective_user.first_name}</b>", reply_markup=keyboard
    )


async def join(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer("Joined")
    await update.callback_query.edit_message_text("You joined")


async def test_an_application_answers_a_command_and_a_button(sandbox, tg):
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(sandbox.bot_api_url)
        .base_file_url(sandbox.file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(join))
    async with application:
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=1)

        seen = await tg.last_seq()
        await tg.send(ALICE, "/start")
        welcome = await tg.wait_for(ALICE["id"], after=seen)
        assert welcome["message"]["text"] == "Welcome, Alice"
        assert welcome["message"]["entities"] == [{"type": "bold", "offset": 9, "length": 5}]

        seen = welcome["seq"]
        await tg.press(ALICE, welcome["message"]["message_id"], "join")
        answer = await tg.wait_for(ALICE["id"], after=seen, kind="callback_answer")
        assert answer["text"] == "Joined"
        edit = await tg.wait_for(ALICE["id"], after=seen, kind="edit")
        assert edit["message"]["text"] == "You joined"
        assert "reply_markup" not in edit["message"]

        await application.updater.stop()
        await application.stop()


async def test_python_dash_m_sandbox_serves_and_keeps_tokens_out_of_its_log():
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "sandbox", "--port", "0"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
        assert line.startswith("sandbox Bot API at http://127.0.0.1:")
        base_url = line.split(" at ")[1].strip()
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{base_url}/bot{TOKEN}/getMe")
        assert response.json()["ok"] is True
        # The access line is written just after the answer; wait for it, not for a kill.
        log = b""
        while b"getMe" not in log:
            log += await asyncio.wait_for(process.stderr.readline(), 10)
    finally:
        process.terminate()
        _, rest = await asyncio.wait_for(process.communicate(), 10)
    log += rest
    assert "/bot<token>/getMe 200" in log.decode()
    assert TOKEN.partition(":")[2] not in log.decode()
