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
from bot.cli.base import app
from bot.cli.translation import ClickException, Words, show_error, translate
from bot.i18n import Told, configured_language


def main() -> None:
    """Entry point: one clear line instead of a traceback for what a user can fix, and
    click's usage errors in the configured language."""
    command = typer.main.get_command(app)
    language = configured_language(config_named(sys.argv[1:]))
    translate(command, language)
    try:
        exit_code = command.main(prog_name="linli", standalone_mode=False)
    except ClickException as error:
        show_error(error, language)
        raise SystemExit(error.exit_code) from None
    except typer.Abort:
        typer.echo(Words(language)("Aborted!"), err=True)
        raise SystemExit(1) from None
    except Told as error:  # a mistake the operator can fix: settings, a file, a command
        typer.echo(f"linli: {error.told(language)}", err=True)
        raise SystemExit(2) from None
    raise SystemExit(exit_code if isinstance(exit_code, int) else 0)


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
