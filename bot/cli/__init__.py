"""The ``linli`` command: run the bot and administer its registry.

Each module adds its group of commands to the root ``app`` of ``base``.
"""

import sys
from pathlib import Path

import typer
import typer.main

from bot.cli import (  # noqa: F401  (registers)
    api,
    consult,
    demo,
    export,
    faq,
    menu,
    notice,
    project,
    registry,
    repair,
    running,
    web,
)
from bot.cli.base import app, expected
from bot.cli.translation import translate
from bot.i18n import configured_language


def main() -> None:
    """Entry point: one clear line instead of a traceback for what a user can fix."""
    command = typer.main.get_command(app)
    translate(command, configured_language(config_named(sys.argv[1:])))
    try:
        command(prog_name="linli")
    except Exception as error:
        if not expected(error):
            raise
        typer.echo(f"linli: {error}", err=True)
        raise SystemExit(2) from None


def config_named(arguments: list[str]) -> Path | None:
    """The ``--config FILE`` given before the command, if any: read before the command
    line is parsed, since the help it prints is in the language that file chooses."""
    for at, argument in enumerate(arguments):
        if argument.startswith("--config="):
            return Path(argument.removeprefix("--config="))
        if argument == "--config" and at + 1 < len(arguments):
            return Path(arguments[at + 1])
        if not argument.startswith("-"):
            return None  # the command: what follows is its own
    return None
