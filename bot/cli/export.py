"""``linli export open-data``: the programme's results for the city's open data portal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.base import app, settings_of, with_database

if TYPE_CHECKING:
    from bot.flows.open_data import Resource
    from storage.db import Database

export_app = typer.Typer(help="Exports for the public.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("open-data")
def export_open_data(
    context: typer.Context,
    out: Annotated[Path, typer.Option(help="folder to write the CSV files and datapackage.json")],
    min_households: Annotated[
        int, typer.Option(min=1, help="buildings with fewer households are added up together")
    ] = 5,
) -> None:
    """Round 1 results, the ranking, the confirmed plans and the fund report as CSV and a
    Frictionless Data Package, anonymised: nothing below the building."""
    from datetime import UTC, datetime

    from bot.flows import open_data

    settings = settings_of(context)

    async def work(db: Database) -> list[Resource]:
        async with db.session() as session:
            return await open_data.resources(session, settings, min_households)

    tables = with_database(settings, work)
    descriptor = open_data.write_package(out, tables, datetime.now(UTC))
    for resource in tables:
        typer.echo(f"{resource.name}.csv\t{len(resource.table.rows)} rows")
    typer.echo(f"written: {descriptor}")
