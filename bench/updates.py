"""Benchmark: residents pressing vote buttons and sending texts, linli against an echo bot.

The local Bot API server runs in its own process, the bot in another
(``linli run``, as in production), and the residents are played from here
over the control API. Each resident waits for the bot's answer before the
next action, so ``--residents`` is the number of updates in flight. The same
residents then talk to a bare python-telegram-bot echo bot on the same
server: the baseline. Both bots are measured by long polling and by webhook.

Latency is from the moment an update is injected to the moment the bot's
answering message shows in the server's log. Prints one JSON line.

``--traffic`` picks what the residents do: ``mixed`` (a text, a press, a
text, ...), ``votes`` (only presses of the round's buttons, alternating
agree and disagree) or ``questions`` (only texts, which linli takes as
questions for the FAQ), so that each kind of update can be read alone. For
votes every resident first sends one text, before the clock starts, to have
a message of the bot's to press on.

Each mode is measured in ``--rounds`` rounds, the two bots taking turns;
figures are the rounds' medians.

Usage: python -m bench.updates [sqlite|postgresql] [--residents 200] [--actions 6]
                               [--traffic mixed|votes|questions] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bench.broadcast import free_port, pending, process_cpu_seconds, start_sandbox
from bench.crowd import crowd
from bench.databases import fresh_database
from bot.flows import consultation
from bot.flows.audit import CLI
from sandbox.client import SandboxClient, user
from storage.db import Database
from storage.models import Community
from storage.types import utcnow

LINLI_TOKEN = "111:LINLI"
ECHO_TOKEN = "222:ECHO"
FIRST_RESIDENT = 5_000_000
PROBE_USER = 4_999_999
TEXTS = ("你好", "请问什么时候施工？", "谢谢 👍", "hello")
TRAFFIC = ("mixed", "votes", "questions")
ANSWER_TIMEOUT = 30.0
ROOT = Path(__file__).parent.parent


@dataclass
class Bot:
    """A bot running in a child process."""

    name: str
    token: str
    process: asyncio.subprocess.Process

    def rss_kib(self) -> int:
        """Resident set size of the bot's process, from /proc."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1])


def linli_command(
    base: str,
    url: str,
    webhook_port: int | None,
    profile: Path | None = None,
    rate: float = 1000,
) -> tuple[list[str], dict]:
    """``linli run`` configured by environment, as an operator would start it, its outbox
    sending ``rate`` a second; under pyinstrument writing to ``profile`` if given."""
    env = {
        "LINLI_TELEGRAM__TOKEN": LINLI_TOKEN,
        "LINLI_TELEGRAM__API_BASE_URL": f"{base}/bot",
        "LINLI_TELEGRAM__FILE_BASE_URL": f"{base}/file/bot",
        "LINLI_DATABASE__URL": url,
        "LINLI_DELIVERY__MESSAGES_PER_SECOND": str(rate),
    }
    if webhook_port is not None:
        env |= {
            "LINLI_TELEGRAM__MODE": "webhook",
            "LINLI_TELEGRAM__WEBHOOK_PORT": str(webhook_port),
            "LINLI_TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/telegram",
            "LINLI_TELEGRAM__WEBHOOK_SECRET": "bench-secret",
        }
    program = ["-c", "from bot.cli import main; main()", "run"]
    if profile is not None:
        return [sys.executable, "-m", "pyinstrument", "-o", str(profile), *program], env
    return [sys.executable, *program], env


def echo_command(base: str, webhook_port: int | None) -> list[str]:
    command = [sys.executable, "-m", "bench.echo_bot", base, ECHO_TOKEN]
    if webhook_port is not None:
        command += ["--webhook-port", str(webhook_port)]
    return command


@asynccontextmanager
async def running(
    name: str,
    base: str,
    folder: Path,
    url: str | None,
    webhook: bool,
    profile: Path | None = None,
    rate: float = 1000,  # the round's questions go out before measuring: don't wait long
) -> AsyncIterator[Bot]:
    """Start linli (``url`` given) or the echo bot; yields once it answers a message."""
    port = free_port() if webhook else None
    if url is not None:
        command, extra = linli_command(base, url, port, profile, rate)
        token = LINLI_TOKEN
    else:
        command, extra, token = echo_command(base, port), {}, ECHO_TOKEN
    log = open(folder / f"{name}-{'webhook' if webhook else 'polling'}.log", "w")  # noqa: SIM115
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=folder,  # no config.toml there: the environment is the whole configuration
        env={**os.environ, "PYTHONPATH": str(ROOT), **extra},
        stdout=log,
        stderr=log,
    )
    bot = Bot(name, token, process)
    try:
        async with SandboxClient(base, token) as telegram:
            probe = user(PROBE_USER, "探针")
            after = await telegram.last_seq()
            await telegram.send(probe, "你好")
            await telegram.wait_for(PROBE_USER, after=after, timeout=60)
        yield bot
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
        log.close()


class Answers:
    """Watches the server's log and wakes the resident whose chat got a bot message, or an
    edit of one (linli answers a vote by editing the ballot the resident pressed)."""

    def __init__(self, telegram: SandboxClient, after: int):
        self.telegram = telegram
        self.cursor = after
        self.waiting: dict[int, asyncio.Future[dict]] = {}

    def expect(self, chat_id: int) -> asyncio.Future[dict]:
        self.waiting[chat_id] = asyncio.get_running_loop().create_future()
        return self.waiting[chat_id]

    async def watch(self) -> None:
        while True:
            for event in await self.telegram.events(after=self.cursor, timeout=5):
                self.cursor = event["seq"]
                future = self.waiting.get(event["chat_id"])
                answer = event["kind"] in ("message", "edit")
                if answer and future is not None and not future.done():
                    future.set_result(event["message"])


def presses(traffic: str, turn: int, host_message: int | None) -> bool:
    """Whether a resident's turn is a press (else a text); mixed traffic starts with a text."""
    if traffic == "mixed":
        return turn % 2 == 1 and host_message is not None
    return traffic == "votes"


async def resident(
    telegram: SandboxClient,
    answers: Answers,
    person: dict,
    actions: int,
    buttons: tuple[str, str],
    latencies: list[float],
    traffic: str = "mixed",
    host_message: int | None = None,
) -> int:
    """One resident's turns (see ``presses``), pressing on ``host_message`` or on the
    answer to their first text. Returns how many went unanswered."""
    missed, pressed = 0, 0
    for turn in range(actions):
        answered = answers.expect(person["id"])
        started = time.perf_counter()
        if presses(traffic, turn, host_message):
            await telegram.press(person, host_message, buttons[pressed % 2])
            pressed += 1
        else:
            await telegram.send(person, TEXTS[turn % len(TEXTS)])
        try:
            message = await asyncio.wait_for(answered, ANSWER_TIMEOUT)
        except TimeoutError:
            missed += 1
            continue
        latencies.append(time.perf_counter() - started)
        host_message = host_message or message["message_id"]
    return missed


async def first_answer(telegram: SandboxClient, answers: Answers, person: dict) -> int:
    """The message id of the bot's answer to one text of ``person``."""
    answered = answers.expect(person["id"])
    await telegram.send(person, TEXTS[0])
    return (await asyncio.wait_for(answered, ANSWER_TIMEOUT))["message_id"]


async def load(
    base: str,
    bot: Bot,
    residents: list[int],
    actions: int,
    buttons: tuple[str, str],
    traffic: str = "mixed",
) -> dict:
    """Every resident at once; throughput, latency percentiles of their updates and the
    bot's CPU per update (its own process's, so the machine's noise weighs less)."""
    async with SandboxClient(base, bot.token) as telegram:
        answers = Answers(telegram, await telegram.last_seq())
        watcher = asyncio.create_task(answers.watch())
        people = [user(r, f"居民{r}") for r in residents]
        hosts: list[int | None] = [None] * len(people)
        if traffic == "votes":
            hosts = await asyncio.gather(*(first_answer(telegram, answers, p) for p in people))
        latencies: list[float] = []
        started, cpu = time.perf_counter(), process_cpu_seconds(bot.process.pid)
        missed = await asyncio.gather(
            *(
                resident(telegram, answers, p, actions, buttons, latencies, traffic, host)
                for p, host in zip(people, hosts, strict=True)
            )
        )
        elapsed = time.perf_counter() - started
        cpu = process_cpu_seconds(bot.process.pid) - cpu
        watcher.cancel()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "updates": len(latencies) + sum(missed),
        "unanswered": sum(missed),
        "updates_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * cuts[94], 1),
        "p99_ms": round(1000 * cuts[98], 1),
        "cpu_ms_per_update": round(1000 * cpu / max(len(latencies), 1), 2),
    }


async def prepare(url: str, base: str, folder: Path, count: int) -> tuple[list[int], int]:
    """``count`` bound residents of one community with round 1 open; their ids and the round."""
    db = Database(url)
    try:
        async with (
            SandboxClient(base, LINLI_TOKEN) as linli,
            SandboxClient(base, ECHO_TOKEN) as echo,
        ):
            residents = await crowd(db, linli, folder, "基准小区", count, FIRST_RESIDENT)
            await echo.add_users([user(r, f"居民{r}") for r in residents])
        async with db.session() as session:
            community = (
                await session.exec(select(Community).where(Community.name == "基准小区"))
            ).one()
            opened = await consultation.open_round1(
                session,
                community.id,
                "改造意愿征询",
                "同意改造吗？",
                utcnow() + timedelta(days=7),
                CLI,
            )
        return residents, opened.id
    finally:
        await db.dispose()


async def questions_delivered(url: str) -> None:
    """Wait until the outbox has sent the round's question to everybody."""
    db = Database(url)
    try:
        while await pending(db):
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()


async def one_round(
    base: str,
    folder: Path,
    url: str,
    residents: list[int],
    actions: int,
    votes,
    traffic: str,
    webhook: bool,
) -> tuple[dict, dict]:
    """linli's figures, then the echo bot's, each bot started afresh."""
    async with running("linli", base, folder, url, webhook) as bot:
        await questions_delivered(url)
        linli = await load(base, bot, residents, actions, votes, traffic)
    async with running("echo", base, folder, None, webhook) as bot:
        echo = await load(base, bot, residents, actions, votes, traffic)
    return linli, echo


def medians(runs: list[dict]) -> dict:
    """Each figure's median over the rounds."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def ratio(runs: list[tuple[dict, dict]], figure: str) -> float:
    """The median over the rounds of linli's figure over the echo bot's."""
    return statistics.median(linli[figure] / echo[figure] for linli, echo in runs)


async def measure(
    url: str, folder: Path, count: int, actions: int, traffic: str, rounds: int
) -> dict:
    """``rounds`` rounds per mode, linli and the echo bot taking turns, so that a noisy
    moment of the machine weighs on one round of both; the ratios are the medians of
    the rounds' ratios."""
    process, base = await start_sandbox(0)
    try:
        residents, round_id = await prepare(url, base, folder, count)
        votes = (f"v1:vote:{round_id}:agree", f"v1:vote:{round_id}:disagree")
        figures: dict = {"rounds": rounds}
        for mode in ("polling", "webhook"):
            runs = [
                await one_round(
                    base, folder, url, residents, actions, votes, traffic, mode == "webhook"
                )
                for _ in range(rounds)
            ]
            figures[mode] = {
                "bot": medians([linli for linli, _ in runs]),
                "baseline": medians([echo for _, echo in runs]),
                "throughput_ratio": round(ratio(runs, "updates_per_s"), 3),
                "p50_ratio": round(ratio(runs, "p50_ms"), 2),
                "cpu_ratio": round(ratio(runs, "cpu_ms_per_update"), 2),
            }
        return figures
    finally:
        process.terminate()
        await process.wait()


async def profile(
    url: str, folder: Path, count: int, actions: int, traffic: str, output: Path
) -> dict:
    """Only linli by polling, under pyinstrument (``pip install -e ".[bench]"``)."""
    process, base = await start_sandbox(0)
    try:
        residents, round_id = await prepare(url, base, folder, count)
        votes = (f"v1:vote:{round_id}:agree", f"v1:vote:{round_id}:disagree")
        async with running("linli", base, folder, url, False, output.resolve()) as bot:
            await questions_delivered(url)
            linli = await load(base, bot, residents, actions, votes, traffic)
            return {"polling": {"bot": linli}}
    finally:
        process.terminate()
        await process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", nargs="?", default="sqlite")
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--actions", type=int, default=6, help="updates per resident")
    parser.add_argument("--traffic", choices=TRAFFIC, default="mixed")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both bots per mode")
    parser.add_argument(
        "--profile", type=Path, help="profile linli alone; the report's format by its suffix"
    )
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        fresh_database(options.database, Path(folder)) as url,
    ):
        arguments = (url, Path(folder), options.residents, options.actions, options.traffic)
        if options.profile is None:
            figures = asyncio.run(measure(*arguments, options.rounds))
        else:
            figures = asyncio.run(profile(*arguments, options.profile))
    result = {
        "benchmark": "updates",
        "database": options.database,
        "traffic": options.traffic,
        "residents": options.residents,
        "updates_per_resident": options.actions,
        **figures,
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
