"""kill -9 in the middle of a broadcast: after a restart it finishes, skipping nobody.

The bound on duplicates is bot.delivery.MAX_BATCH, what the sender's lanes hold
claimed at once: a batch is marked sent only after all of it went out, so a
kill can leave the lanes' batches sent but unmarked, and they are sent again.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from datetime import timedelta

import pytest

from bench.crowd import crowd
from bot.delivery import MAX_BATCH
from bot.flows import notices
from bot.flows.audit import Actor
from tests.e2e.conftest import BOT_PROCESSES, EVENT_WAIT, TOKEN
from tests.e2e.test_outbox import wait_until_delivered

RECIPIENTS = 2000
# Where a kill falls is drawn at random; the seed is printed, and LINLI_CRASH_SEED repeats it.
CRASH_SEED = int(os.environ.get("LINLI_CRASH_SEED") or random.SystemRandom().randrange(10**6))


def kill_point(low: float, high: float) -> float:
    """A moment between ``low`` and ``high`` (a count or seconds), drawn from CRASH_SEED."""
    return random.Random(CRASH_SEED).uniform(low, high)


async def start_bot(sandbox, database_url: str, folder) -> asyncio.subprocess.Process:
    environment = {
        # A sweep a second (unless the test says otherwise): what a test moves in the
        # database is seen soon, and a sweep that met a busy database is soon tried again.
        "LINLI_SCHEDULER__SWEEP_SECONDS": "1",
        **os.environ,
        "LINLI_TELEGRAM__TOKEN": TOKEN,
        "LINLI_TELEGRAM__API_BASE_URL": sandbox.bot_api_url,
        "LINLI_TELEGRAM__FILE_BASE_URL": sandbox.file_url,
        "LINLI_DATABASE__URL": database_url,
        "LINLI_DELIVERY__MESSAGES_PER_SECOND": "400",
        "LINLI_DELIVERY__STALE_CLAIM_SECONDS": "1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from bot.cli import main; main()",
        "run",
        cwd=folder,
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    BOT_PROCESSES.append(process)
    return process


@pytest.mark.slow
async def test_kill_9_mid_broadcast_loses_nobody(db, tmp_path, sandbox, telegram, database_url):
    residents = await crowd(db, telegram, tmp_path, "南溪小区", RECIPIENTS, 300_000)
    async with db.session() as session:
        notice = await notices.create(session, Actor(), "断电演练通知", {"kind": "everyone"})
        await notices.fire(session, notice.id, timedelta(minutes=1))

    first = await start_bot(sandbox, database_url, tmp_path)
    kill_after = kill_point(RECIPIENTS * 0.1, RECIPIENTS * 0.9)
    while (await telegram.stats())["sent_messages"] < kill_after:
        await asyncio.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    sent_before_kill = (await telegram.stats())["sent_messages"]

    second = await start_bot(sandbox, database_url, tmp_path)
    try:
        await wait_until_delivered(db, timeout=4 * EVENT_WAIT)  # two thousand messages
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()

    received: Counter = Counter()
    for event in await telegram.events():
        if event["kind"] == "message" and "断电演练通知" in (event["message"].get("text") or ""):
            received[event["chat_id"]] += 1
    missing = [r for r in residents if received[r] == 0]
    duplicated = sum(count - 1 for count in received.values())
    print(
        f"\nkill -9 after {sent_before_kill} of {RECIPIENTS} sent: "
        f"missing {len(missing)}, duplicated {duplicated} (bound {MAX_BATCH}; seed {CRASH_SEED})"
    )
    assert sent_before_kill < RECIPIENTS
    assert missing == []
    assert duplicated <= MAX_BATCH
