"""The ``linli`` command: run the bot and administer its registry."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from bot.config import Settings, SettingsError, load_settings, require_token
from bot.flows import consultation, importing, invites, notices, project, registry
from bot.flows.audit import CLI
from bot.flows.consultation import ConsultationError
from bot.flows.registry import RegistryError
from bot.flows.tables import TableError
from bot.i18n import text
from storage import migrate
from storage.db import Database
from storage.models import Role, Stage

app = typer.Typer(
    help="linli (邻里): a Telegram bot for residents of old communities.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
import_app = typer.Typer(help="Import the registry from CSV or XLSX.", no_args_is_help=True)
invites_app = typer.Typer(help="Invite codes for households.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff and admins.", no_args_is_help=True)
consult_app = typer.Typer(help="Consultations: round 1.", no_args_is_help=True)
notice_app = typer.Typer(help="Notices to residents.", no_args_is_help=True)
project_app = typer.Typer(help="Renovation projects and their stages.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(invites_app, name="invites")
app.add_typer(staff_app, name="staff")
app.add_typer(consult_app, name="consult")
app.add_typer(notice_app, name="notice")
app.add_typer(project_app, name="project")

T = TypeVar("T")


class CommandError(Exception):
    """A mistake on the command line, in the operator's words."""


EXPECTED_ERRORS = (SettingsError, RegistryError, TableError, CommandError)


@app.callback()
def main_options(
    context: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML settings file (default ./config.toml)")
    ] = None,
) -> None:
    context.obj = config


def settings_of(context: typer.Context) -> Settings:
    return load_settings(context.find_root().obj)


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run ``work`` against the database, brought to the newest schema first."""
    migrate.upgrade(settings.database.url)

    async def run() -> T:
        db = Database(settings.database.url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


@app.command()
def run(context: typer.Context) -> None:
    """Start the bot (polling or webhook, as configured); Ctrl-C stops it."""
    from telegram import Update

    from bot.app import build_application

    settings = settings_of(context)
    require_token(settings)
    telegram = settings.telegram
    if telegram.mode == "webhook" and not telegram.webhook_url:
        raise SettingsError("setting telegram.webhook_url is required when mode is webhook")
    if telegram.mode == "webhook" and telegram.webhook_secret is None:
        raise SettingsError("setting telegram.webhook_secret is required when mode is webhook")
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO
    )
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    migrate.upgrade(settings.database.url)
    application = build_application(settings)
    if telegram.mode == "polling":
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    else:
        application.run_webhook(
            listen=telegram.webhook_listen,
            port=telegram.webhook_port,
            url_path="telegram",
            webhook_url=telegram.webhook_url,
            secret_token=telegram.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )


@db_app.command("upgrade")
def db_upgrade(context: typer.Context) -> None:
    """Create the database or bring it to the newest schema."""
    settings = settings_of(context)
    migrate.upgrade(settings.database.url)
    typer.echo("database is up to date")


@import_app.command("communities")
def import_communities(context: typer.Context, file: Path) -> None:
    """Communities: name/小区, district/区, street/街道, delivery_year/交付年份, 维修资金."""
    settings = settings_of(context)

    async def work(db: Database) -> importing.ImportResult:
        async with db.session() as session:
            return await importing.import_communities(session, file, CLI)

    result = with_database(settings, work)
    typer.echo(
        f"communities: {result.created} new, {result.updated} updated, {result.unchanged} unchanged"
    )


@import_app.command("households")
def import_households(context: typer.Context, file: Path) -> None:
    """Households: community/小区, building/楼栋, unit/单元, room/室."""
    settings = settings_of(context)

    async def work(db: Database) -> importing.ImportResult:
        async with db.session() as session:
            return await importing.import_households(session, file, CLI)

    result = with_database(settings, work)
    typer.echo(f"households: {result.created} new, {result.unchanged} already registered")


async def _bot_username(settings: Settings) -> str:
    if settings.telegram.bot_username:
        return settings.telegram.bot_username
    from telegram import Bot

    bot = Bot(require_token(settings), base_url=settings.telegram.api_base_url)
    async with bot:
        return bot.username


@invites_app.command("export")
def invites_export(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    out: Annotated[Path, typer.Option(help="CSV file to write; the PDF sheet goes beside it")],
    only_missing: Annotated[
        bool, typer.Option(help="only households without an active code")
    ] = False,
) -> None:
    """Issue new invite codes and write them as CSV and as a PDF sheet of slips.

    Codes are stored only as hashes, so this is the one moment they exist in
    clear: earlier codes of these households are revoked.
    """
    settings = settings_of(context)

    async def work(db: Database) -> tuple[list[invites.Slip], str]:
        username = await _bot_username(settings)
        async with db.session() as session:
            found = await registry.community_named(session, community)
            return await invites.issue_for_community(
                session, found.id, CLI, only_missing=only_missing
            ), username

    from bot.flows import slips  # matplotlib is slow to import; only this command needs it

    issued, username = with_database(settings, work)
    csv_path, pdf_path = out.with_suffix(".csv"), out.with_suffix(".pdf")
    slips.write_csv(csv_path, issued, username)
    pages = slips.write_sheet(pdf_path, issued, username)
    typer.echo(f"{len(issued)} invite codes: {csv_path} and {pdf_path} ({pages} pages)")


@invites_app.command("revoke")
def invites_revoke(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
) -> None:
    """Revoke every active invite code of a community's households."""
    settings = settings_of(context)

    async def work(db: Database) -> int:
        async with db.session() as session:
            found = await registry.community_named(session, community)
            households = [a.household_id for a in await registry.addresses_in(session, found.id)]
            return await invites.revoke(session, households, CLI)

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
    settings = settings_of(context)

    async def work(db: Database) -> registry.StaffMember:
        async with db.session() as session:
            return await registry.add_staff(session, telegram_id, role, community or [], CLI)

    member = with_database(settings, work)
    typer.echo(
        f"{telegram_id} is {member.role.value} ({len(member.community_ids)} communities named)"
    )


@staff_app.command("remove")
def staff_remove(
    context: typer.Context,
    telegram_id: Annotated[int, typer.Option(help="the person's Telegram user id")],
) -> None:
    """Take away someone's staff or admin role."""
    settings = settings_of(context)

    async def work(db: Database) -> None:
        async with db.session() as session:
            await registry.remove_staff(session, telegram_id, CLI)

    with_database(settings, work)
    typer.echo(f"{telegram_id} is no longer staff")


def _local(settings: Settings, typed: str) -> datetime:
    try:
        naive = datetime.strptime(typed, "%Y-%m-%d %H:%M")
    except ValueError:
        raise CommandError(f'time {typed!r}: write it like "2026-12-20 18:00"') from None
    return naive.replace(tzinfo=settings.zone)


def _refusal(error: ConsultationError | notices.NoticeError) -> CommandError:
    return CommandError(text("en", error.reason, **error.values))


def _tally_line(settings: Settings, tally: consultation.Tally) -> str:
    verdict = "reached" if tally.reached else "below"
    return (
        f"{tally.community}\t{tally.title}\t{tally.status}\thouseholds {tally.total}\t"
        f"answered {tally.answered}\tagree {tally.agree}\tdisagree {tally.disagree}\t"
        f"no answer {tally.not_answered}\tapproval {tally.ratio_text}\t"
        f"threshold {tally.threshold_percent}% {verdict}"
    )


@consult_app.command("open")
def consult_open(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    closes: Annotated[str, typer.Option(help='closing time, local: "2026-12-20 18:00"')],
    round_: Annotated[int, typer.Option("--round", help="consultation round")] = 1,
    title: Annotated[str, typer.Option(help="title residents see")] = "老旧小区改造意愿征询",
    question: Annotated[str, typer.Option(help="the question")] = (
        "您是否同意本小区实施老旧小区改造？"
    ),
    threshold: Annotated[int | None, typer.Option(help="percent of all households")] = None,
) -> None:
    """Open a consultation and queue the question to the community's bound residents."""
    settings = settings_of(context)
    if round_ != 1:
        raise CommandError("only round 1 can be opened so far")
    closes_at = _local(settings, closes)
    hours = settings.consultation.reminder_hours_before

    async def work(db: Database) -> consultation.Consultation:
        async with db.session() as session:
            found = await registry.community_named(session, community)
            return await consultation.open_round1(
                session,
                found.id,
                title,
                question,
                closes_at,
                CLI,
                threshold_percent=threshold or settings.consultation.threshold_percent,
                remind_before=timedelta(hours=hours) if hours else None,
            )

    try:
        opened = with_database(settings, work)
    except ConsultationError as error:
        raise _refusal(error) from None
    typer.echo(
        f"round 1 open for {community}: {opened.total_households} households, "
        f"closes {opened.closes_at.astimezone(settings.zone):%Y-%m-%d %H:%M}"
    )


@consult_app.command("close")
def consult_close(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
) -> None:
    """Close the community's open round 1 now and tell its residents the outcome."""
    settings = settings_of(context)

    async def work(db: Database) -> consultation.Tally:
        async with db.session() as session:
            found = await registry.community_named(session, community)
            current = await consultation.current_tallies(session, {found.id})
            if not current or current[0].status != "open":
                raise CommandError(f"{community} has no open round-1 consultation")
            return await consultation.close(session, current[0].consultation_id, CLI)

    typer.echo(_tally_line(settings, with_database(settings, work)))


@consult_app.command("results")
def consult_results(
    context: typer.Context,
    community: Annotated[str | None, typer.Option(help="only this community")] = None,
) -> None:
    """Each community's newest round 1: households, answers, approval, threshold."""
    settings = settings_of(context)

    async def work(db: Database) -> list[consultation.Tally]:
        async with db.session() as session:
            ids = None
            if community is not None:
                ids = {(await registry.community_named(session, community)).id}
            return await consultation.current_tallies(session, ids)

    for tally in with_database(settings, work):
        typer.echo(_tally_line(settings, tally))


def _ranked(settings: Settings, year: int | None) -> list[consultation.Ranked]:
    async def work(db: Database) -> list[consultation.Ranked]:
        async with db.session() as session:
            return await consultation.ranking(session, year, zone=settings.zone)

    return with_database(settings, work)


@consult_app.command("ranking")
def consult_ranking(
    context: typer.Context,
    year: Annotated[int | None, typer.Option(help="closed in this year")] = None,
) -> None:
    """The city ranking: reached the threshold by approval, then the postponed."""
    settings = settings_of(context)
    for ranked in _ranked(settings, year):
        typer.echo(f"{ranked.position}\t{_tally_line(settings, ranked.tally)}")


@consult_app.command("export")
def consult_export(
    context: typer.Context,
    out: Annotated[Path, typer.Option(help="file to write; .csv and .xlsx are both written")],
    year: Annotated[int | None, typer.Option(help="closed in this year")] = None,
) -> None:
    """The city ranking as CSV and XLSX."""
    from bot.flows import exports

    settings = settings_of(context)
    rows = exports.ranking_rows(_ranked(settings, year))
    csv_path, xlsx_path = out.with_suffix(".csv"), out.with_suffix(".xlsx")
    exports.write_csv(csv_path, exports.RANKING_HEADERS, rows)
    exports.write_xlsx(xlsx_path, "ranking", exports.RANKING_HEADERS, rows)
    typer.echo(f"{len(rows)} communities: {csv_path} and {xlsx_path}")


@notice_app.command("send")
def notice_send(
    context: typer.Context,
    text_file: Annotated[Path, typer.Option(help="the notice, plain UTF-8 text")],
    community: Annotated[
        list[str] | None, typer.Option(help="to this community's residents (repeatable)")
    ] = None,
    everyone: Annotated[bool, typer.Option(help="to every bound resident")] = False,
    at: Annotated[str | None, typer.Option(help='send at, local: "2026-12-20 09:00"')] = None,
    every_days: Annotated[int | None, typer.Option(help="repeat every N days...")] = None,
    until: Annotated[str | None, typer.Option(help='...until, local: "2027-01-31 23:59"')] = None,
    photo: Annotated[Path | None, typer.Option(help="a picture to send with it")] = None,
) -> None:
    """Send a notice now, at a time, or repeating; the running bot delivers it."""
    settings = settings_of(context)
    if bool(community) == everyone:
        raise CommandError("name --community (one or more) or --everyone")
    try:
        body = html.escape(text_file.read_text(encoding="utf-8").strip())
        picture = photo.read_bytes() if photo else None
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {error.filename or text_file}: {error}") from None

    async def work(db: Database) -> tuple[notices.Notice, int]:
        async with db.session() as session:
            audience = (
                {"kind": "everyone"}
                if everyone
                else {
                    "kind": "communities",
                    "ids": await notices.community_ids_named(session, community),
                }
            )
            notice = await notices.create(
                session,
                CLI,
                body,
                audience,
                at=_local(settings, at) if at else None,
                repeat_days=every_days,
                until=_local(settings, until) if until else None,
                photo=picture,
            )
            return notice, len(await notices.recipients(session, audience))

    try:
        notice, count = with_database(settings, work)
    except notices.NoticeError as error:
        raise _refusal(error) from None
    when = notice.first_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
    typer.echo(f"notice {notice.id} to {count} residents, from {when}; the running bot sends it")


@project_app.command("plan")
def project_plan(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    stage: Annotated[Stage, typer.Option(help="the stage")],
    on: Annotated[str, typer.Option("--date", help="planned date: 2027-03-01")],
) -> None:
    """Set the planned date of a project stage (residents see it under /progress)."""
    settings = settings_of(context)
    try:
        planned = date.fromisoformat(on)
    except ValueError:
        raise CommandError(f"date {on!r}: write it like 2027-03-01") from None

    async def work(db: Database) -> None:
        async with db.session() as session:
            found = await registry.community_named(session, community)
            await project.plan(session, found.id, stage, planned, CLI)

    with_database(settings, work)
    typer.echo(f"{community}: {stage.value} planned for {planned}")


def main() -> None:
    """Entry point: one clear line instead of a traceback for what a user can fix."""
    try:
        app()
    except EXPECTED_ERRORS as error:
        typer.echo(f"linli: {error}", err=True)
        raise SystemExit(2) from None
