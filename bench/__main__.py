"""Run every benchmark and write docs/benchmarks.md: ``python -m bench [sqlite|postgresql]``.

Each benchmark is a module that prints one JSON line; this runs them one
after another (never side by side: they would measure each other) and
tabulates the lines with the machine, the date and the commit.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

# (module, its arguments): each run stays within two minutes.
BENCHMARKS = (
    ("import_households", []),
    ("round1_tally", []),
    ("round2_tally", []),
    ("faq_search", []),
    ("broadcast", ["--limits", "30"]),
    ("broadcast", ["--limits", "1000"]),
    ("outbox_claim", []),
    ("reply_during_broadcast", []),
    ("transport", []),
    ("updates", []),
    ("updates", ["--traffic", "votes"]),
    ("updates", ["--traffic", "questions"]),
    ("memory", []),
    ("startup", []),
)
OUTPUT = Path(__file__).parent.parent / "docs" / "benchmarks.md"


def run(name: str, arguments: list[str], database: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", database, *arguments],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def rows(result: dict) -> list[tuple[str, str]]:
    """(figure, value) pairs of one result; a broadcast's runs and nested figures
    (such as the updates benchmark's ``polling`` -> ``bot``) are spelled out."""
    pairs = []
    for key, value in result.items():
        if key in ("benchmark", "database"):
            continue
        if isinstance(value, dict):
            pairs += [(f"{key} {figure}", v) for figure, v in rows(value)]
        elif key == "runs":
            for each in value:
                prefix = f"limit {each['limit_per_s']}/s: "
                pairs += [(prefix + k, str(v)) for k, v in each.items() if k != "limit_per_s"]
        else:
            pairs.append((key, str(value)))
    return pairs


def machine() -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"{platform.node()} · {platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · commit {commit} · "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def main() -> None:
    databases = sys.argv[1:] or ["sqlite", "postgresql"]
    sections = [
        f"# Benchmarks\n\n{machine()}\n\nRegenerate with `python -m bench`. "
        "What the bot spends its time on per update: "
        "[benchmarks-profile.md](benchmarks-profile.md).\n"
    ]
    for name, arguments in BENCHMARKS:
        for database in databases:
            result = run(name, arguments, database)
            print(json.dumps(result))
            table = "\n".join(f"| {figure} | {value} |" for figure, value in rows(result))
            title = " ".join([name, *arguments])
            sections.append(f"## {title} ({database})\n\n| figure | value |\n|---|---|\n{table}\n")
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text("\n".join(sections), encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
