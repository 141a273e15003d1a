"""``linli menu``: the renovation catalogue, and round 2's tallies and plan by community.

Round 2 is opened with ``linli consult open --round 2``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.base import CommandError, app, refusal, settings_of, with_database

if TYPE_CHECKING:
    from bot.flows.round2 import MenuTally
    from storage.db import Database
    from storage.models import Consultation

menu_app = typer.Typer(help="Round 2: the menu, its tallies and the plan.", no_args_is_help=True)
app.add_typer(menu_app, name="menu")
Community = Annotated[str, typer.Option(help="the community's name")]


@menu_app.command("import")
def menu_import(context: typer.Context, file: Path) -> None:
    """Load catalogue items from CSV, XLSX or TOML (code, class, cost_yuan, name_zh, ...)."""
    from bot.flows import menu
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database):
        async with db.session() as session:
            return await menu.load_catalogue(session, file, CLI)

    result = with_database(settings, work)
    typer.echo(
        f"menu items: {result.created} new, {result.updated} updated, {result.unchanged} unchanged"
    )


@menu_app.command("list")
def menu_list(context: typer.Context) -> None:
    """The catalogue: code, class, estimated cost, name."""
    from bot.flows import menu
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database):
        async with db.session() as session:
            await menu.ensure_catalogue(session, CLI)
            return await menu.catalogue(session)

    for item in with_database(settings, work):
        typer.echo(
            f"{item.code}\t{item.item_class}\t¥{menu.fen_text(item.cost_fen)}\t"
            f"{item.name_zh}\t{item.name_en}"
        )


async def _newest(session, community: str) -> Consultation:
    """The community's newest round 2 in any state; each command's flow refuses what
    that state does not allow (closing a closed round, changing a confirmed plan)."""
    from bot.flows import registry, round2

    found = await registry.community_named(session, community)
    newest = await round2.newest(session, found.id)
    if newest is None:
        raise CommandError("{community} has no round 2", community=community)
    return newest


def _state(consultation: Consultation) -> str:
    """Where the round stands, so results after closing say whether the plan is final."""
    from storage.models import ConsultationStatus

    if consultation.plan_confirmed_at is not None:
        return "closed, plan confirmed"
    if consultation.status == ConsultationStatus.CLOSED:
        return "closed, plan to confirm"
    return consultation.status


def _print(result: MenuTally) -> None:
    from bot.flows.consultation import percent_text

    typer.echo(
        f"{result.community}\t{result.consultation.title}\t{_state(result.consultation)}\t"
        f"households {result.total}\tanswered {result.answered}"
    )
    plan_marks = {True: "in plan", False: "not in plan", None: ""}
    for row in result.items:
        typer.echo(
            f"{row.item.code}\t{row.item.name_zh}\t{row.households}\t"
            f"{percent_text(result.share_of_all(row))} of all\t"
            f"{percent_text(result.share_of_answered(row))} of answered\t"
            f"{plan_marks[row.in_plan]}\t{row.plan_note or ''}".rstrip()
        )


def _run(context: typer.Context, work) -> MenuTally:
    from bot.flows.consultation import ConsultationError

    settings = settings_of(context)
    try:
        return with_database(settings, work)
    except ConsultationError as error:
        raise refusal(error) from None


@menu_app.command("results")
def menu_results(context: typer.Context, community: Community) -> None:
    """Per item, the households that chose it, as shares of all and of those that answered."""
    from bot.flows import round2

    async def work(db: Database) -> MenuTally:
        async with db.session() as session:
            return await round2.tally(session, (await _newest(session, community)).id)

    _print(_run(context, work))


@menu_app.command("close")
def menu_close(context: typer.Context, community: Community) -> None:
    """Close the community's open round 2 now and draw the plan for confirming."""
    from bot.flows import round2
    from bot.flows.audit import CLI

    async def work(db: Database) -> MenuTally:
        async with db.session() as session:
            return await round2.close(session, (await _newest(session, community)).id, CLI)

    _print(_run(context, work))


@menu_app.command("plan")
def menu_plan(
    context: typer.Context,
    community: Community,
    reason: Annotated[str, typer.Option(help="why: recorded with the change")],
    remove: Annotated[str | None, typer.Option(help="take this item code out")] = None,
    include: Annotated[str | None, typer.Option(help="put this item code in")] = None,
) -> None:
    """Change the drawn plan before confirming it: one item out or in, with a reason."""
    if (remove is None) == (include is None):
        raise CommandError("name one of --remove CODE or --include CODE")
    from bot.flows import round2
    from bot.flows.audit import CLI

    async def work(db: Database) -> MenuTally:
        async with db.session() as session:
            found = await _newest(session, community)
            return await round2.change_plan(
                session, found.id, remove or include, include is not None, reason, CLI
            )

    _print(_run(context, work))


@menu_app.command("confirm")
def menu_confirm(context: typer.Context, community: Community) -> None:
    """Confirm the plan; the running bot sends it to the community's residents with a chart."""
    from bot.flows import charts, round2
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database) -> MenuTally:
        async with db.session() as session:
            found = await _newest(session, community)
            result = await round2.tally(session, found.id)
            chart = charts.plan_chart(settings.default_language, result)
            return await round2.confirm_plan(session, found.id, CLI, chart)

    result = _run(context, work)
    typer.echo(f"plan of {result.community} confirmed: {len(result.plan)} items")


@menu_app.command("export")
def menu_export(
    context: typer.Context,
    community: Community,
    out: Annotated[Path, typer.Option(help="file to write; .csv and .xlsx are both written")],
) -> None:
    """The community's round-2 tally (and plan, once drawn) as CSV and XLSX."""
    from bot.flows import exports, round2

    async def work(db: Database) -> MenuTally:
        async with db.session() as session:
            return await round2.tally(session, (await _newest(session, community)).id)

    table = exports.menu_table(_run(context, work))
    csv_path, xlsx_path = out.with_suffix(".csv"), out.with_suffix(".xlsx")
    exports.write_csv(csv_path, table)
    exports.write_xlsx(xlsx_path, table)
    typer.echo(f"{len(table.rows)} items: {csv_path} and {xlsx_path}")
