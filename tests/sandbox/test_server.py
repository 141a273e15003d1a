"""Starting and stopping the sandbox server."""

from __future__ import annotations

import asyncio

import httpx

from sandbox import RateLimits, run_sandbox

from .helpers import ALICE, TOKEN


async def test_urls_point_at_a_free_port():
    async with run_sandbox() as sandbox:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        assert sandbox.bot_api_url == sandbox.base_url + "/bot"
        assert sandbox.file_url == sandbox.base_url + "/file/bot"


async def test_leaving_ends_waiting_long_polls_and_streams_promptly():
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(timeout=30) as http:
        async with run_sandbox() as sandbox:
            base = sandbox.base_url
            waiting = [
                asyncio.create_task(
                    http.post(f"{base}/bot{TOKEN}/getUpdates", json={"timeout": 30})
                ),
                asyncio.create_task(http.get(f"{base}/control/bot{TOKEN}/events?timeout=30")),
                asyncio.create_task(http.get(f"{base}/control/bot{TOKEN}/stream")),
            ]
            await asyncio.sleep(0.2)
            stopping = loop.time()
        await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 5)
    assert loop.time() - stopping < 3


async def test_a_newer_poll_ends_an_older_one_with_a_conflict():
    async with run_sandbox() as sandbox, httpx.AsyncClient(base_url=sandbox.base_url) as http:
        url = f"/bot{TOKEN}/getUpdates"
        older = asyncio.create_task(http.post(url, json={"timeout": 5}))
        await asyncio.sleep(0.1)
        newer = await http.post(url, json={"timeout": 0})
        assert newer.json() == {"ok": True, "result": []}
        conflict = await asyncio.wait_for(older, 2)
        assert conflict.status_code == 409
        assert conflict.json()["description"].startswith(
            "Conflict: terminated by other getUpdates request"
        )


async def test_rate_limits_and_username_from_the_constructor():
    limits = RateLimits(enabled=True, per_second=1)
    async with (
        run_sandbox(bot_username="other_bot", rate_limits=limits) as sandbox,
        httpx.AsyncClient(base_url=sandbox.base_url) as http,
        sandbox.client(TOKEN) as tg,
    ):
        me = (await http.get(f"/bot{TOKEN}/getMe")).json()["result"]
        assert me["username"] == "other_bot"
        await tg.send(ALICE, "hi")
        first = await http.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": 1001, "text": "a"})
        second = await http.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": 1001, "text": "b"})
    assert first.status_code == 200
    assert second.status_code == 429
