"""``linli demo``: try every flow in a browser, with no token and no network."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.base import CommandError, app, settings_of


@app.command()
def demo(
    context: typer.Context,
    folder: Annotated[
        Path | None,
        typer.Option(help="where the demo database goes (default: a new temporary folder)"),
    ] = None,
    host: Annotated[str, typer.Option(help="address of the chat page")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port of the chat page")] = 8080,
) -> None:
    """Seed a demo database, start a local Telegram stand-in and its chat page, run the bot."""
    from bot import demo as demo_run

    if folder is not None and (folder / demo_run.DATABASE_FILE).exists():
        raise CommandError(
            "{folder} already holds a demo; choose another folder or empty it", folder=folder
        )
    try:
        demo_run.check_address(host, port)
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="linli-demo-"))
        folder.mkdir(parents=True, exist_ok=True)
        demo_run.run(settings_of(context), folder, host, port)
    except demo_run.AddressUnavailable as error:
        raise CommandError(str(error)) from None
