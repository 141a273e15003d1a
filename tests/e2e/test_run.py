"""`linli run` as an operator starts it: migrates first, polls or takes webhooks, stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import httpx
import pytest
from telegram import Update

from bot.app import build_application
from storage.db import Database
from tests.e2e.conftest import EVENT_WAIT, TOKEN, Person
from tests.registry import import_sample_registry, issue_codes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
async def test_run_polls_creates_the_database_and_stops_cleanly(
    tmp_path, sandbox, telegram, stop_signal
):
    environment = {
        **os.environ,
        "LINLI_TELEGRAM__TOKEN": TOKEN,
        "LINLI_TELEGRAM__API_BASE_URL": sandbox.bot_api_url,
        "LINLI_TELEGRAM__FILE_BASE_URL": sandbox.file_url,
        "LINLI_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "run",
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        visitor = Person(telegram, 3001, "访客")
        answer = await visitor.say("/start")
        assert "邀请码" in answer
        assert (tmp_path / "fresh.db").exists()
    finally:
        process.send_signal(stop_signal)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=EVENT_WAIT)
    assert process.returncode == 0, output.decode()
    log = output.decode()
    assert TOKEN not in log and TOKEN.split(":")[1] not in log


async def test_webhook_mode_checks_the_secret_token(db, bot_settings, telegram):
    await import_sample_registry(db)
    codes = await issue_codes(db, "运南新村")
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    database = Database(bot_settings.database.url)
    application = build_application(bot_settings, database)
    async with application:
        await application.start()
        await application.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="telegram",
            webhook_url=url,
            secret_token="webhook-secret",
            allowed_updates=Update.ALL_TYPES,
        )
        try:
            assert (await telegram.stats())["webhook_url"] == url
            resident = Person(telegram, 3002, "住户")
            assert "绑定成功" in await resident.say(f"/start {codes['5--101']}")

            forged = {
                "update_id": 99,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": 3003, "type": "private"},
                    "text": "/start",
                },
            }
            async with httpx.AsyncClient() as client:
                without = await client.post(url, json=forged)
                wrong = await client.post(
                    url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
                )
            assert without.status_code == wrong.status_code == 403
        finally:
            await application.updater.stop()
            await application.stop()
    await database.dispose()


async def linli_run(tmp_path, *arguments: str, **settings: str) -> tuple[int, str]:
    """``linli run`` (or ``linli ARGUMENTS``) with these telegram settings; code and output."""
    environment = {**os.environ, "LINLI_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
    environment.update({f"LINLI_TELEGRAM__{name.upper()}": v for name, v in settings.items()})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        *(arguments or ["run"]),
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=EVENT_WAIT)
    return process.returncode, output.decode()


async def test_a_bot_api_out_of_reach_stops_run_with_one_line(tmp_path):
    token = "123456789:AA-unreachable-secret"
    address = f"http://127.0.0.1:{free_port()}/bot"
    code, output = await linli_run(tmp_path, token=token, api_base_url=address)
    assert code == 2
    assert output.strip().splitlines() == [
        f"linli: 无法连接{address}的Bot API（httpx.ConnectError: All connection attempts "
        "failed）：请检查网络和设置项telegram.api_base_url；"
        "不用Telegram试用邻里，请运行'linli demo'"
    ]
    assert "unreachable-secret" not in output


async def test_a_token_the_bot_api_refuses_stops_run_with_one_line(tmp_path, sandbox):
    code, output = await linli_run(tmp_path, token="not-a-token", api_base_url=sandbox.bot_api_url)
    assert code == 2
    assert output.strip().splitlines() == [
        "linli: Bot API拒绝了设置项telegram.token：请复制@BotFather给您的令牌；"
        "不用Telegram试用邻里，请运行'linli demo'"
    ]


async def test_webhook_mode_without_its_settings_stops_with_one_line(tmp_path):
    code, output = await linli_run(tmp_path, token="123456789:AA-secret", mode="webhook")
    assert code == 2
    assert output.strip().splitlines() == ["linli: mode为webhook时必须设置telegram.webhook_url"]


async def test_invite_slips_without_a_reachable_bot_api_stop_with_one_line(tmp_path):
    """The slips need the bot's username for their deep links: without ``bot_username`` it is
    asked of the Bot API, and when that cannot be reached the operator reads one line."""
    address = f"http://127.0.0.1:{free_port()}/bot"
    assert (await linli_run(tmp_path, "db", "upgrade"))[0] == 0  # the registry's database
    code, output = await linli_run(
        tmp_path,
        "invites",
        "export",
        "--community",
        "南溪小区",
        "--out",
        "slips.csv",
        token="123456789:AA-unreachable-secret",
        api_base_url=address,
    )
    assert code == 2
    assert output.strip().splitlines()[0].startswith(f"linli: 无法连接{address}的Bot API")
    assert len(output.strip().splitlines()) == 1 and "unreachable-secret" not in output
