"""``linli project``: renovation projects and their stages."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.base import CommandError, app, settings_of, with_database
from storage.choices import Stage

if TYPE_CHECKING:
    from storage.db import Database

project_app = typer.Typer(help="Renovation projects and their stages.", no_args_is_help=True)
app.add_typer(project_app, name="project")


@project_app.command("plan")
def project_plan(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    stage: Annotated[Stage, typer.Option(help="the stage")],
    on: Annotated[str, typer.Option("--date", help="planned date: 2027-03-01")],
) -> None:
    """Set the planned date of a project stage (residents see it under /progress)."""
    from bot.flows import project, registry
    from bot.flows.audit import CLI

    settings = settings_of(context)
    try:
        planned = date.fromisoformat(on)
    except ValueError:
        raise CommandError("date {typed!r}: write it like 2027-03-01", typed=on) from None

    async def work(db: Database) -> None:
        async with db.session() as session:
            found = await registry.community_named(session, community)
            await project.plan(session, found.id, stage, planned, CLI)

    with_database(settings, work)
    typer.echo(f"{community}: {stage.value} planned for {planned}")
