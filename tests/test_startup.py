"""What starting costs: the command line and the bot import only what they need."""

from __future__ import annotations

import json
import subprocess
import sys

COMMANDS = [
    *("run", "demo", "db", "consult", "faq", "menu", "notice", "project"),
    *("import", "households", "invites", "staff", "repair", "report", "web", "export", "api"),
]


def imported_after(statement: str, modules: list[str]) -> list[str]:
    """Which of ``modules`` a fresh interpreter holds after running ``statement``."""
    probe = f"import sys\n{statement}\nprint(__import__('json').dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout.splitlines()[-1])
    return [m for m in modules if m in loaded]


def test_the_command_line_loads_neither_the_bot_nor_its_libraries():
    heavy = ["matplotlib", "jieba", "openpyxl", "numpy", "sqlalchemy", "telegram", "pydantic"]
    assert imported_after("import bot.cli", [*heavy, "alembic", "rich"]) == []


def test_the_bot_draws_and_writes_spreadsheets_only_when_asked():
    assert imported_after("import bot.app", ["matplotlib", "openpyxl", "numpy", "alembic"]) == []


def test_polling_loads_no_web_server():
    assert imported_after("import bot.app", ["aiohttp.web"]) == []


def test_help_lists_every_command():
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = {line.split()[0] for line in done.stdout.split("命令：")[1].splitlines() if line}
    assert listed == set(COMMANDS)
