"""``linli notice``: notices to residents from the command line."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.base import CommandError, app, local_time, refusal, settings_of, with_database

if TYPE_CHECKING:
    from storage.db import Database

notice_app = typer.Typer(help="Notices to residents.", no_args_is_help=True)
app.add_typer(notice_app, name="notice")


@notice_app.command("send")
def notice_send(
    context: typer.Context,
    text_file: Annotated[Path, typer.Option(help="the notice, plain UTF-8 text")],
    community: Annotated[
        list[str] | None, typer.Option(help="to this community's residents (repeatable)")
    ] = None,
    supervisors: Annotated[
        bool, typer.Option(help="only to the quality supervisors of the --community")
    ] = False,
    everyone: Annotated[bool, typer.Option(help="to every bound resident")] = False,
    at: Annotated[str | None, typer.Option(help='send at, local: "2026-12-20 09:00"')] = None,
    every_days: Annotated[int | None, typer.Option(help="repeat every N days...")] = None,
    until: Annotated[str | None, typer.Option(help='...until, local: "2027-01-31 23:59"')] = None,
    photo: Annotated[Path | None, typer.Option(help="a picture to send with it")] = None,
) -> None:
    """Send a notice now, at a time, or repeating; the running bot delivers it."""
    from bot.flows import notices
    from bot.flows.audit import CLI

    settings = settings_of(context)
    if bool(community) == everyone:
        raise CommandError("name --community (one or more) or --everyone")
    if supervisors and not community:
        raise CommandError("--supervisors goes with --community")
    try:
        body = html.escape(text_file.read_text(encoding="utf-8").strip())
        picture = photo.read_bytes() if photo else None
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(
            "cannot read {path}: {error}", path=error.filename or text_file, error=error
        ) from None

    grace = timedelta(minutes=settings.scheduler.notice_grace_minutes)

    async def work(db: Database) -> tuple[notices.Notice, int]:
        async with db.session() as session:
            audience = (
                {"kind": "everyone"}
                if everyone
                else {
                    "kind": "supervisors" if supervisors else "communities",
                    "ids": await notices.community_ids_named(session, community),
                }
            )
            notice = await notices.create(
                session,
                CLI,
                body,
                audience,
                at=local_time(settings, at) if at else None,
                repeat_days=every_days,
                until=local_time(settings, until) if until else None,
                photo=picture,
            )
            if at is None:  # queued in this transaction: the bot's sender hears of it at once
                assert notice.id is not None  # a stored notice
                await notices.fire(session, notice.id, grace, settings.zone)
            return notice, len(await notices.recipients(session, audience))

    try:
        notice, count = with_database(settings, work)
    except notices.NoticeError as error:
        raise refusal(error) from None
    when = notice.first_at.astimezone(settings.zone).strftime("%Y-%m-%d %H:%M")
    typer.echo(f"notice {notice.id} to {count} residents, from {when}; the running bot sends it")
