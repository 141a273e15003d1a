"""``linli repair`` and ``linli report fund``: property managers, and the fund's uses."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.base import CommandError, app, refusal, settings_of, with_database
from bot.i18n import Told

if TYPE_CHECKING:
    from storage.db import Database

repair_app = typer.Typer(help="Repairs: who takes them outside the fund.", no_args_is_help=True)
report_app = typer.Typer(help="Reports for the city.", no_args_is_help=True)
app.add_typer(repair_app, name="repair")
app.add_typer(report_app, name="report")


@repair_app.command("manager")
def repair_manager(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    manager: Annotated[
        str, typer.Option(help='name and phone, e.g. "禾城物业 0573-8888 0000"; "" for none')
    ],
    telegram_id: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="the manager's Telegram account (their user id), to send their repairs to; "
            "without it residents are given the phone",
        ),
    ] = None,
) -> None:
    """Register the property manager (物业) that takes the community's other repairs."""
    from bot.flows import registry
    from bot.flows.audit import CLI, record

    settings = settings_of(context)
    name = manager.strip()[:200] or None
    if name is None and telegram_id is not None:
        raise CommandError("--telegram-id needs the manager's --manager name and phone")

    async def work(db: Database) -> None:
        async with db.session() as session:
            found = await registry.community_named(session, community)
            found.property_manager, found.property_manager_telegram_id = name, telegram_id
            record(
                session,
                CLI,
                "community/manager",
                f"community:{found.id}",
                manager=name,
                telegram_id=telegram_id,
            )

    with_database(settings, work)
    sent = "repairs sent to their Telegram account" if telegram_id else "residents given the phone"
    typer.echo(f"{community}: property manager {name or '(none)'}" + (f"; {sent}" if name else ""))


def _day(typed: str | None) -> date | None:
    if typed is None:
        return None
    try:
        return date.fromisoformat(typed)
    except ValueError:
        raise CommandError("date {typed!r}: write it like 2026-01-01", typed=typed) from None


def _ending(path: Path | None, suffix: str, other: str | None = None) -> Path | None:
    """``path`` if its name ends in ``suffix`` (or ``other``); an operator's mistake otherwise."""
    if path is not None and path.suffix.lower() not in (suffix, other):
        either = (
            suffix if other is None else Told("{suffix} or {other}", suffix=suffix, other=other)
        )
        raise CommandError("{path}: write {suffix}", path=path, suffix=either)
    return path


@report_app.command("fund")
def report_fund(
    context: typer.Context,
    from_: Annotated[str | None, typer.Option("--from", help="from this day: 2026-01-01")] = None,
    to: Annotated[str | None, typer.Option(help="up to this day, included: 2026-12-31")] = None,
    community: Annotated[str | None, typer.Option(help="only this community")] = None,
    out: Annotated[
        Path | None, typer.Option(help="write the table here as .csv and .xlsx (both)")
    ] = None,
    chart: Annotated[Path | None, typer.Option(help="draw the money by month here (.png)")] = None,
) -> None:
    """Uses of the emergency repair fund: count and money, by community and month."""
    from bot.flows import exports, repair

    settings = settings_of(context)
    first, last = _day(from_), _day(to)
    out, chart = _ending(out, ".csv", ".xlsx"), _ending(chart, ".png")

    async def work(db: Database) -> repair.FundReport:
        async with db.session() as session:
            return await repair.fund_report(session, settings.zone, first, last, community)

    try:
        report = with_database(settings, work)
    except repair.RepairError as error:
        raise refusal(error) from None
    for line in report.lines:
        typer.echo(
            f"{line.community}\t{line.month}\tuses {line.uses}\t{repair.yuan(line.cost_fen)} yuan\t"
            f"owners {repair.yuan(line.owners_fen)}\tgovernment {repair.yuan(line.government_fen)}"
        )
    typer.echo(
        f"total\tuses {report.uses}\t{repair.yuan(report.cost_fen)} yuan\t"
        f"owners {repair.yuan(report.owners_fen)}\tgovernment {repair.yuan(report.government_fen)}"
    )
    if out is not None:
        written = exports.write_fund_tables(report, out.with_suffix(""))
        typer.echo(f"written: {' and '.join(map(str, written))}")
    if chart is not None:
        from bot.flows import charts  # matplotlib is slow to import; only this needs it

        chart.write_bytes(charts.fund_chart(settings.default_language, report))
        typer.echo(f"written: {chart}")
