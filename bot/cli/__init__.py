"""The ``linli`` command: run the bot and administer its registry.

Each module adds its group of commands to the root ``app`` of ``base``.
"""

import typer

from bot.cli import (  # noqa: F401  (registers)
    consult,
    demo,
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


def main() -> None:
    """Entry point: one clear line instead of a traceback for what a user can fix."""
    try:
        app()
    except Exception as error:
        if not expected(error):
            raise
        typer.echo(f"linli: {error}", err=True)
        raise SystemExit(2) from None
