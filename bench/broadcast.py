"""Benchmark: a broadcast through the outbox against the local Bot API server's rate limit.

The sandbox runs in its own process with Telegram's limits switched on; the
outbox sender runs here, paced just below the limit. With the limit at
30 messages a second it shows how close the sender gets (goal: at least 0.95
of the limit, with no 429, no duplicate, nobody missed); with the limit
raised to 1,000 a second it shows what does limit it (messages a second, CPU
seconds per 1,000 messages, and the cores the sender and the server each kept
busy: on a small machine they share its cores). Prints one JSON line.

Usage: python -m bench.broadcast [sqlite|postgresql] [--recipients 3000] [--limits 30,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlmodel import func, select
from telegram.ext import ApplicationBuilder

from bench.crowd import crowd
from bench.databases import fresh_database
from bot.config import Settings
from bot.delivery import OutboxSender
from bot.flows import notices
from bot.flows.audit import CLI
from sandbox.client import SandboxClient
from storage.db import Database
from storage.models import Delivery, DeliveryState

TOKEN = "123456:BENCH"
# The sender's pace as a share of the server's limit. Turns are spaced evenly,
# so 31 sends fall in one second only if the network squeezes 30 intervals
# (about 1.02 s here) into less than a second.
HEADROOM = 0.98


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def start_sandbox(limit: int) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        str(port),
        "--rate-limit",
        str(limit),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            async with SandboxClient(base, TOKEN) as client:
                await client.stats()
            return process, base
        except Exception:  # not listening yet
            await asyncio.sleep(0.1)
    raise RuntimeError("the sandbox did not start")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds of another process (the server), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_run(url: str, folder: Path, recipients: int, limit: int) -> dict[str, float]:
    process, base = await start_sandbox(limit)
    db = Database(url)
    try:
        async with SandboxClient(base, TOKEN) as telegram:
            await telegram.set_limits(enabled=True, per_second=limit)
            residents = await crowd(
                db, telegram, folder, f"小区{limit}", recipients, 1_000_000 * limit
            )
            application = (
                ApplicationBuilder().token(TOKEN).base_url(f"{base}/bot").updater(None).build()
            )
            application.bot_data["settings"] = Settings()
            async with application:
                sender = OutboxSender(
                    application, db, rate=limit * HEADROOM, default_language="zh_Hans"
                )
                async with db.session() as session:
                    notice = await notices.create(
                        session,
                        CLI,
                        "基准测试通知",
                        {
                            "kind": "communities",
                            "ids": await notices.community_ids_named(session, [f"小区{limit}"]),
                        },
                    )
                    await notices.fire(session, notice.id, timedelta(minutes=5))
                cpu, server_cpu = cpu_seconds(), process_cpu_seconds(process.pid)
                started = time.perf_counter()
                sender.start()
                while await pending(db):
                    await asyncio.sleep(0.05)
                elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
                server_cpu = process_cpu_seconds(process.pid) - server_cpu
                await sender.stop()
            stats = await telegram.stats()
            counts = Counter(
                event["chat_id"] for event in await telegram.events() if event["kind"] == "message"
            )
    finally:
        await db.dispose()
        process.terminate()
        await process.wait()
    rate = recipients / elapsed
    return {
        "limit_per_s": limit,
        "recipients": recipients,
        "seconds": round(elapsed, 2),
        "messages_per_s": round(rate, 1),
        "share_of_limit": round(rate / limit, 3),
        "too_many_requests": stats["too_many_requests"],
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "missing": sum(1 for r in residents if counts[r] == 0),
        "cpu_s_per_1000": round(1000 * cpu / recipients, 3),
        "sender_cores": round(cpu / elapsed, 2),
        "server_cores": round(server_cpu / elapsed, 2),
    }


async def pending(db: Database) -> int:
    async with db.session() as session:
        statement = select(func.count()).where(
            Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING])
        )
        return (await session.exec(statement)).one()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", nargs="?", default="sqlite")
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--limits", default="30,1000")
    options = parser.parse_args()
    runs = []
    for limit in (int(x) for x in options.limits.split(",")):
        with (
            tempfile.TemporaryDirectory() as folder,
            fresh_database(options.database, Path(folder)) as url,
        ):
            runs.append(asyncio.run(one_run(url, Path(folder), options.recipients, limit)))
    json.dump({"benchmark": "broadcast", "database": options.database, "runs": runs}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
