"""``linli import``, ``invites`` and ``staff``: the household registry and who serves it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.base import CommandError, app, reach_bot_api, settings_of, with_database
from storage.choices import Role

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.config import Settings
    from storage.db import Database
    from storage.models import Community

import_app = typer.Typer(help="Import the registry from CSV or XLSX.", no_args_is_help=True)
invites_app = typer.Typer(help="Invite codes for households.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff and admins.", no_args_is_help=True)
households_app = typer.Typer(help="The registered households.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(households_app, name="households")
app.add_typer(invites_app, name="invites")
app.add_typer(staff_app, name="staff")


async def _community(session: AsyncSession, settings: Settings, name: str) -> Community:
    """The community named on the command line, or the names there are."""
    from bot.flows import registry
    from bot.i18n import text

    found = await registry.community_or_none(session, name)
    if found is None:
        known = ", ".join(await registry.community_names(session)) or "-"
        raise CommandError(
            text(settings.default_language, "shell.unknown_community", name=name, known=known)
        )
    return found


@households_app.command("list")
def households_list(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    unbound: Annotated[bool, typer.Option(help="only households nobody is bound to")] = False,
) -> None:
    """A community's households: bound residents and whether an invite code is active."""
    from bot.flows import registry
    from bot.flows.invites import household_key
    from bot.i18n import text

    settings = settings_of(context)
    language = settings.default_language

    async def work(db: Database) -> list[registry.HouseholdListing]:
        async with db.session() as session:
            found = await _community(session, settings, community)
            assert found.id is not None  # a stored community
            return await registry.household_listing(session, found.id)

    listing = with_database(settings, work)
    typer.echo(text(language, "shell.households_header"))
    for household in listing:
        if household.residents and unbound:
            continue
        code = text(language, "shell.yes" if household.active_code else "shell.no")
        typer.echo(f"{household_key(household.address)}\t{household.residents}\t{code}")
    nobody = sum(1 for household in listing if not household.residents)
    typer.echo(text(language, "shell.households_total", count=len(listing), unbound=nobody))


@import_app.command("communities")
def import_communities(context: typer.Context, file: Path) -> None:
    """Communities: name/小区, district/区, street/街道, delivery_year/交付年份, 维修资金."""
    from bot.flows import importing
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database) -> importing.ImportResult:
        async with db.session() as session:
            return await importing.import_communities(session, file, CLI)

    result = with_database(settings, work, create=True)
    typer.echo(
        f"communities: {result.created} new, {result.updated} updated, {result.unchanged} unchanged"
    )


@import_app.command("households")
def import_households(context: typer.Context, file: Path) -> None:
    """Households: community/小区, building/楼栋, unit/单元, room/室, floor_area/建筑面积."""
    from bot.flows import importing
    from bot.flows.audit import CLI
    from bot.i18n import text

    settings = settings_of(context)

    async def work(db: Database) -> importing.ImportResult:
        async with db.session() as session:
            return await importing.import_households(session, file, CLI)

    result = with_database(settings, work, create=True)
    areas = f", {result.updated} floor areas updated" if result.updated else ""
    typer.echo(f"households: {result.created} new, {result.unchanged} already registered{areas}")
    language = settings.default_language
    for reading in result.readings:
        column = text(language, f"shell.column_{reading.column}")
        typer.echo(
            text(
                language,
                "shell.read_as",
                column=column,
                typed=reading.typed,
                read_as=reading.read_as,
                rows=reading.rows,
            )
        )


async def _bot_username(settings: Settings) -> str:
    return settings.telegram.bot_username or await reach_bot_api(settings)


HouseholdOption = Annotated[
    list[str] | None,
    typer.Option(help="only this household, as building-unit-room: 1-2-301, 5--101 (repeatable)"),
]


@invites_app.command("export")
def invites_export(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    out: Annotated[Path, typer.Option(help="CSV file to write; the PDF sheet goes beside it")],
    only_missing: Annotated[
        bool, typer.Option(help="only households without an active code")
    ] = False,
    household: HouseholdOption = None,
) -> None:
    """Issue new invite codes and write them as CSV and as a PDF sheet of slips.

    Codes are stored only as hashes, so this is the one moment they exist in
    clear: earlier codes of these households are revoked. A lost slip is
    reissued alone with --household.
    """
    from bot.flows import invites, registry, slips
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database) -> tuple[list[invites.Slip], str]:
        username = await _bot_username(settings)
        async with db.session() as session:
            found = await registry.community_named(session, community)
            return await invites.issue_for_community(
                session, found.id, CLI, only_missing=only_missing, households=household
            ), username

    issued, username = with_database(settings, work)
    csv_path, pdf_path = out.with_suffix(".csv"), out.with_suffix(".pdf")
    slips.write_csv(csv_path, issued, username)
    pages = slips.write_sheet(pdf_path, issued, username)
    typer.echo(f"{len(issued)} invite codes: {csv_path} and {pdf_path} ({pages} pages)")


@invites_app.command("revoke")
def invites_revoke(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    household: HouseholdOption = None,
) -> None:
    """Revoke the active invite codes of a community's households (or of those named)."""
    from bot.flows import invites, registry
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database) -> int:
        async with db.session() as session:
            found = await registry.community_named(session, community)
            named = await invites.households_named(session, found.id, household)
            return await invites.revoke(session, [a.household_id for a in named], CLI)

    typer.echo(f"{with_database(settings, work)} invite codes revoked")


@staff_app.command("add")
def staff_add(
    context: typer.Context,
    telegram_id: Annotated[int, typer.Option(help="the person's Telegram user id")],
    role: Annotated[Role, typer.Option(help="admin: all communities; staff: those named")],
    community: Annotated[
        list[str] | None, typer.Option(help="a community they serve (repeatable)")
    ] = None,
) -> None:
    """Make someone staff or admin."""
    from bot.flows import registry
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database) -> registry.StaffMember:
        async with db.session() as session:
            return await registry.add_staff(session, telegram_id, role, community or [], CLI)

    member = with_database(settings, work)
    typer.echo(
        f"{telegram_id} is {member.role.value} ({len(member.community_ids)} communities named)"
    )


@staff_app.command("list")
def staff_list(context: typer.Context) -> None:
    """Everyone with a role: Telegram id, name, role and communities."""
    from bot.flows import registry
    from bot.i18n import text

    settings = settings_of(context)
    language = settings.default_language

    async def work(db: Database) -> list[registry.StaffListing]:
        async with db.session() as session:
            return await registry.staff_listing(session)

    listing = with_database(settings, work)
    if not listing:
        typer.echo(text(language, "shell.no_staff"))
        return
    typer.echo(text(language, "shell.staff_header"))
    for member in listing:
        if member.role is Role.ADMIN:
            role, communities = text(language, "shell.role_admin"), text(language, "shell.all")
        else:
            role, communities = text(language, "shell.role_staff"), ", ".join(member.communities)
        typer.echo(f"{member.telegram_id}\t{member.name or '-'}\t{role}\t{communities}")


@staff_app.command("remove")
def staff_remove(
    context: typer.Context,
    telegram_id: Annotated[int, typer.Option(help="the person's Telegram user id")],
) -> None:
    """Take away someone's staff or admin role."""
    from bot.flows import registry
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database) -> None:
        async with db.session() as session:
            await registry.remove_staff(session, telegram_id, CLI)

    with_database(settings, work)
    typer.echo(f"{telegram_id} is no longer staff")
