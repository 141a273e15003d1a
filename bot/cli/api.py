"""``linli api keys``: the keys city systems file repair requests with (Open311)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.base import app, settings_of, with_database

if TYPE_CHECKING:
    from bot.flows.api_keys import KeyListing
    from storage.db import Database

api_app = typer.Typer(help="The Open311 API for city systems.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of city systems.", no_args_is_help=True)
app.add_typer(api_app, name="api")
api_app.add_typer(keys_app, name="keys")


@keys_app.command("add")
def keys_add(
    context: typer.Context,
    name: Annotated[str, typer.Option(help="the city system, e.g. 12345热线")],
    community: Annotated[
        list[str] | None,
        typer.Option(help="a community it may file requests for (repeatable; default all)"),
    ] = None,
) -> None:
    """Make a key and print it, this once: only its hash is kept."""
    from bot.flows import api_keys
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database) -> str:
        async with db.session() as session:
            return await api_keys.add(session, name, community or [], CLI)

    key = with_database(settings, work)
    typer.echo(f"{name.strip()}: {key}")
    typer.echo("(shown only now: the database keeps its hash)")


@keys_app.command("list")
def keys_list(context: typer.Context) -> None:
    """Every key's name, communities, when it was made, whether it is revoked."""
    from bot.flows import api_keys

    settings = settings_of(context)

    async def work(db: Database) -> list[KeyListing]:
        async with db.session() as session:
            return await api_keys.listing(session)

    for key in with_database(settings, work):
        made = key.created_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
        communities = ", ".join(key.communities) or "(all)"
        typer.echo(f"{key.name}\t{communities}\t{made}\t{'revoked' if key.revoked else 'in use'}")


@keys_app.command("revoke")
def keys_revoke(
    context: typer.Context,
    name: Annotated[str, typer.Argument(help="the key's name")],
) -> None:
    """Revoke a key at once: calls with it are refused from now on."""
    from bot.flows import api_keys
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database) -> None:
        async with db.session() as session:
            await api_keys.revoke(session, name, CLI)

    with_database(settings, work)
    typer.echo(f"{name}: revoked")
