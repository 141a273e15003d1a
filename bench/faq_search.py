"""Benchmark: FAQ search over 1,000 entries.

1,000 entries (the starter FAQ and generated ones built from the programme's
words) and 200 residents' questions; linli's search (normalising, jieba,
BM25) is timed next to a plain substring scan over the same entries, the
simplest search one could write; medians of several runs. The first search
builds the index and loads jieba's dictionary: reported apart. Prints one
JSON line.

Usage: python -m bench.faq_search [sqlite|postgresql]
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import select

from bench.databases import fresh_database
from bot.flows import faq
from storage.db import Database
from storage.models import FaqEntry

ENTRIES = 1000
QUESTIONS = 200
RUNS = 5
SUBJECTS = [
    *("电梯", "屋面", "外墙", "楼道", "水管", "排水", "燃气", "停车位", "充电桩", "绿化"),
    *("门禁", "监控", "路灯", "垃圾", "快递柜", "维修资金", "物业", "邻里中心", "书屋", "养老"),
]
ASKING = ["怎么办", "找谁", "什么时候", "多少钱", "谁负责", "能不能", "在哪里", "要多久"]


def generated(chance: random.Random) -> list[dict]:
    rows = []
    for n in range(ENTRIES):
        subject, asking = chance.choice(SUBJECTS), chance.choice(ASKING)
        rows.append(
            {
                "question_zh": f"{subject}的问题{n}{asking}？",
                "answer_zh": f"关于{subject}：请联系社区，编号 {n}。",
                "question_en": "",
                "answer_en": "",
                "tags": [subject],
            }
        )
    return rows


async def measure(url: str) -> dict[str, float]:
    db = Database(url)
    chance = random.Random(2026)
    async with db.session() as session:
        await faq.ensure_starter(session)
        starter = len(list(await session.exec(select(FaqEntry.id))))
        await session.exec(insert(FaqEntry), params=generated(chance)[: ENTRIES - starter])
    queries = [f"{chance.choice(SUBJECTS)}{chance.choice(ASKING)}" for _ in range(QUESTIONS)]

    async with db.session() as session:
        started = time.perf_counter()
        await faq.search(session, queries[0], None, "zh_Hans")
        first = time.perf_counter() - started
        entries = list(await session.exec(select(FaqEntry)))

    async def linli() -> None:
        async with db.session() as session:
            for query in queries:
                await faq.search(session, query, None, "zh_Hans")

    def substring_scan() -> None:
        for query in queries:
            words = [query[i : i + 2] for i in range(len(query) - 1)]
            sorted(entries, key=lambda e: -sum(w in e.question_zh for w in words))[:3]

    async def baseline() -> None:
        substring_scan()

    figures = {
        "first_search_s": first,
        "per_query_ms": await median_ms(linli) / QUESTIONS,
        "baseline_per_query_ms": await median_ms(baseline) / QUESTIONS,
    }
    await db.dispose()
    return figures


async def median_ms(work) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    with tempfile.TemporaryDirectory() as folder, fresh_database(kind, Path(folder)) as url:
        figures = asyncio.run(measure(url))
    result = {
        "benchmark": "faq_search",
        "database": kind,
        "entries": ENTRIES,
        "questions": QUESTIONS,
        **{key: round(value, 4) for key, value in figures.items()},
        "vs_baseline": round(figures["per_query_ms"] / figures["baseline_per_query_ms"], 2),
    }
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
