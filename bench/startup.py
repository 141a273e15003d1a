"""Benchmark: how soon ``linli run`` is ready, what ``linli --help`` costs, the CPU spent idle.

The database holds a city's registry (as in the memory benchmark). Ready is
the time from starting the process to its first ``getUpdates`` at the local
Bot API server, which runs in its own process; the echo bot, started the
same way in the same run, is the baseline. ``linli --help`` is timed next to
a bare ``python -c pass``. Idle CPU is the CPU seconds a polling bot's
process uses over ``--idle-seconds`` once it is ready and nobody writes to
it, with the Bot API calls it made meanwhile (long polls); the echo bot is
the baseline. Figures are medians of ``--runs``. Prints one JSON line.

Usage: python -m bench.startup [sqlite|postgresql] [--runs 5] [--idle-seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.broadcast import process_cpu_seconds, start_sandbox
from bench.databases import fresh_database
from bench.memory import import_city
from bench.updates import ECHO_TOKEN, LINLI_TOKEN, ROOT, echo_command, linli_command
from sandbox.client import SandboxClient

READY_TIMEOUT = 60.0
SETTLE_SECONDS = 3.0  # the start-up's own work (command menu, first sweep) is not idling
CLI = "from bot.cli import main; main()"


def environment(extra: dict | None = None) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), **(extra or {})}


def wall_seconds(command: list[str], folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=folder, env=environment(), capture_output=True, check=True)
    return time.perf_counter() - started


def help_figures(folder: Path, runs: int) -> dict:
    """``linli --help`` and ``python -c pass``, taken in turns so that both meet the same load."""
    helps, bare = [], []
    for _ in range(runs):
        helps.append(wall_seconds([sys.executable, "-c", CLI, "--help"], folder))
        bare.append(wall_seconds([sys.executable, "-c", "pass"], folder))
    return {
        "help_s": round(statistics.median(helps), 3),
        "baseline_python_s": round(statistics.median(bare), 3),
    }


async def calls(telegram: SandboxClient) -> int:
    return sum((await telegram.stats())["calls"].values())


async def one_start(
    base: str, folder: Path, url: str | None, idle_seconds: float | None
) -> dict[str, float]:
    """Start linli (``url`` given) or the echo bot by polling; seconds to its first
    getUpdates and, if ``idle_seconds``, its CPU seconds and Bot API calls idling that long."""
    if url is not None:
        command, extra = linli_command(base, url, None)
        token = LINLI_TOKEN
    else:
        command, extra, token = echo_command(base, None), {}, ECHO_TOKEN
    async with SandboxClient(base, token) as telegram:
        polls = (await telegram.stats())["calls"].get("getUpdates", 0)
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=folder,
            env=environment(extra),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            while (await telegram.stats())["calls"].get("getUpdates", 0) == polls:
                if time.perf_counter() - started > READY_TIMEOUT or process.returncode is not None:
                    raise RuntimeError(f"{command} did not start polling")
                await asyncio.sleep(0.01)
            figures = {"ready_s": time.perf_counter() - started}
            if idle_seconds:
                await asyncio.sleep(SETTLE_SECONDS)
                cpu, made = process_cpu_seconds(process.pid), await calls(telegram)
                await asyncio.sleep(idle_seconds)
                figures["idle_cpu_s"] = process_cpu_seconds(process.pid) - cpu
                figures["idle_calls"] = await calls(telegram) - made
            return figures
        finally:
            process.terminate()
            await process.wait()


async def start_figures(url: str, folder: Path, runs: int, idle_seconds: float) -> dict:
    process, base = await start_sandbox(0)
    try:
        measured: dict[str, list[dict]] = {"bot": [], "baseline": []}
        for run in range(runs):
            idle = idle_seconds if run == runs - 1 else None  # once is enough: it is slow
            measured["bot"].append(await one_start(base, folder, url, idle))
            measured["baseline"].append(await one_start(base, folder, None, idle))
    finally:
        process.terminate()
        await process.wait()
    figures = {}
    for name, starts in measured.items():
        figures[f"{name}_ready_s"] = round(statistics.median(s["ready_s"] for s in starts), 3)
        figures[f"{name}_idle_cpu_s"] = round(starts[-1]["idle_cpu_s"], 2)
        figures[f"{name}_idle_bot_api_calls"] = starts[-1]["idle_calls"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", nargs="?", default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(options.database, Path(folder)) as url,
    ):
        asyncio.run(import_city(url, Path(folder)))
        figures = help_figures(Path(folder), options.runs)
        figures |= asyncio.run(start_figures(url, Path(folder), options.runs, options.idle_seconds))
    result = {
        "benchmark": "startup",
        "database": options.database,
        "starts": options.runs,
        "idle_seconds": options.idle_seconds,
        **figures,
        "help_vs_baseline": round(figures["help_s"] / figures["baseline_python_s"], 1),
        "ready_vs_baseline": round(figures["bot_ready_s"] / figures["baseline_ready_s"], 2),
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
