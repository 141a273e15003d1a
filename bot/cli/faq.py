"""``linli faq``: import and export the FAQ (CSV, XLSX or YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.base import CommandError, app, settings_of, with_database

if TYPE_CHECKING:
    from storage.db import Database

faq_app = typer.Typer(
    help="The FAQ residents' questions are matched against.", no_args_is_help=True
)
app.add_typer(faq_app, name="faq")


@faq_app.command("import")
def faq_import(context: typer.Context, file: Path) -> None:
    """Add entries: question_zh/问题, answer_zh/回答, question_en, answer_en, tags, community."""
    from bot.flows import faq
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database):
        async with db.session() as session:
            await faq.ensure_starter(session)
            return await faq.load(session, file, CLI)

    result = with_database(settings, work)
    typer.echo(f"FAQ entries: {result.created} new, {result.unchanged} already there")


@faq_app.command("export")
def faq_export(
    context: typer.Context,
    file: Path,
    community: Annotated[str | None, typer.Option(help="the city's and this community's")] = None,
) -> None:
    """Write the FAQ to FILE: .csv, .xlsx or .yaml."""
    from bot.flows import exports, faq, registry

    settings = settings_of(context)
    suffix = file.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".yaml", ".yml"):
        raise CommandError("write .csv, .xlsx or .yaml")

    async def work(db: Database) -> list[dict]:
        async with db.session() as session:
            await faq.ensure_starter(session)
            community_id = None
            if community is not None:
                community_id = (await registry.community_named(session, community)).id
            return await faq.export_rows(session, community_id)

    rows = with_database(settings, work)
    if suffix in (".yaml", ".yml"):
        faq.write_yaml(file, rows)
    else:
        table = [
            [row[c] if c != "tags" else ",".join(row[c]) for c in faq.EXPORT_COLUMNS]
            for row in rows
        ]
        written = exports.Table("faq", faq.EXPORT_COLUMNS, table)
        if suffix == ".csv":
            exports.write_csv(file, written)
        else:
            exports.write_xlsx(file, written)
    typer.echo(f"{len(rows)} FAQ entries: {file}")
