"""Benchmark: the bot's transport to the Bot API (aiohttp) against the library's own (httpx).

The same python-telegram-bot ``Bot`` sends messages to the local Bot API
server, ``--in-flight`` at a time as a crowd of residents would make it,
once over each transport, in turns for ``--rounds`` rounds. The server runs
in its own process, so this process's CPU time is the client's alone.
Prints one JSON line: CPU per request and requests a second of each, medians
of the rounds, and their ratios (aiohttp over httpx).

Usage: python -m bench.transport [sqlite|postgresql] [--requests 3000] [--in-flight 200]
                                 [--rounds 3]
(the database is not used: it is taken so that ``python -m bench`` runs this like the others)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

from bench.broadcast import TOKEN, cpu_seconds, start_sandbox
from bot.transport import AiohttpRequest
from sandbox.client import SandboxClient, user

RESIDENT = user(6_000_000, "居民")
POOL = 256  # as the bot's own request object


async def send_many(base: str, request: BaseRequest, count: int, in_flight: int) -> dict:
    """``count`` messages, ``in_flight`` at a time: CPU per request and requests a second."""
    room = asyncio.Semaphore(in_flight)

    async def send(bot: Bot, number: int) -> None:
        async with room:
            await bot.send_message(RESIDENT["id"], f"第{number}条通知")

    async with Bot(TOKEN, base_url=f"{base}/bot", request=request) as bot:
        started, cpu = time.perf_counter(), cpu_seconds()
        await asyncio.gather(*(send(bot, n) for n in range(count)))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {
        "cpu_ms_per_request": round(1000 * cpu / count, 3),
        "requests_per_s": round(count / elapsed, 1),
    }


async def measure(count: int, in_flight: int, rounds: int) -> dict:
    process, base = await start_sandbox(0)
    try:
        async with SandboxClient(base, TOKEN) as telegram:
            await telegram.add_users([RESIDENT])
        runs: dict[str, list[dict]] = {"httpx": [], "aiohttp": []}
        for _ in range(rounds):
            runs["httpx"].append(
                await send_many(base, HTTPXRequest(connection_pool_size=POOL), count, in_flight)
            )
            runs["aiohttp"].append(await send_many(base, AiohttpRequest(POOL), count, in_flight))
    finally:
        process.terminate()
        await process.wait()
    figures = {
        name: {key: statistics.median(run[key] for run in done) for key in done[0]}
        for name, done in runs.items()
    }
    return {
        **figures,
        "cpu_ratio": round(
            figures["aiohttp"]["cpu_ms_per_request"] / figures["httpx"]["cpu_ms_per_request"], 2
        ),
        "throughput_ratio": round(
            figures["aiohttp"]["requests_per_s"] / figures["httpx"]["requests_per_s"], 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", nargs="?", default="sqlite")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    figures = asyncio.run(measure(options.requests, options.in_flight, options.rounds))
    result = {
        "benchmark": "transport",
        "requests": options.requests,
        "in_flight": options.in_flight,
        "rounds": options.rounds,
        **figures,
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
