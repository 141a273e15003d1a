"""``linli web``: the web side alone, for city systems and officials."""

from __future__ import annotations

import contextlib

import typer

from bot.cli.base import app, settings_of


@app.command()
def web(context: typer.Context) -> None:
    """Serve the web side (the [web] settings) until Ctrl-C; `linli run` serves it too
    with `serve = true`."""
    import asyncio

    from bot.web.server import WebServer
    from storage import migrate
    from storage.db import Database

    settings = settings_of(context)
    migrate.upgrade_if_behind(settings.database.url)

    async def serve() -> None:
        db = Database(settings.database.url)
        server = WebServer(db, settings)
        await server.start()
        typer.echo(
            f"serving {settings.web.public_url} on {settings.web.listen}:{settings.web.port}"
        )
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()
            await db.dispose()

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it is stopped
        asyncio.run(serve())
