"""``linli consult``: open, close, watch and rank consultations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bot.cli.base import CommandError, app, local_time, refusal, settings_of, with_database

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.flows import consultation
    from bot.flows.civil_code import DoubleTally
    from storage.db import Database

T = TypeVar("T")
consult_app = typer.Typer(help="Consultations: round 1.", no_args_is_help=True)
app.add_typer(consult_app, name="consult")


def _tally_line(tally: consultation.Tally) -> str:
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
    round_: Annotated[int, typer.Option("--round", help="1: willingness; 2: the menu")] = 1,
    title: Annotated[str | None, typer.Option(help="title residents see")] = None,
    question: Annotated[str | None, typer.Option(help="the question")] = None,
    threshold: Annotated[
        int | None, typer.Option(help="round 1: percent of all households")
    ] = None,
    items: Annotated[
        str | None, typer.Option(help="round 2: the menu's item codes, comma-separated (all)")
    ] = None,
    min_items: Annotated[int | None, typer.Option(help="round 2: choose at least")] = None,
    max_items: Annotated[int | None, typer.Option(help="round 2: choose at most")] = None,
    budget: Annotated[
        str | None, typer.Option(help="round 2: a household's budget in yuan")
    ] = None,
    inclusion: Annotated[
        int | None, typer.Option(help="round 2: plan items chosen by this % of answers")
    ] = None,
    plan_budget: Annotated[
        str | None, typer.Option(help="round 2: the community's budget in yuan")
    ] = None,
    override_reason: Annotated[
        str | None, typer.Option(help="round 2 although round 1 did not pass: why")
    ] = None,
) -> None:
    """Open a consultation and queue the question to the community's bound residents."""
    from bot.flows import consultation, registry, round2
    from bot.flows.audit import CLI
    from bot.flows.consultation import ConsultationError

    settings = settings_of(context)
    if round_ not in TEXTS:
        raise CommandError("--round is 1 or 2")
    closes_at = local_time(settings, closes)
    hours = settings.consultation.reminder_hours_before
    remind_before = timedelta(hours=hours) if hours else None
    title = title or TEXTS[round_][0]
    question = question or TEXTS[round_][1]
    defaults = settings.consultation

    async def work(db: Database) -> consultation.Consultation:
        async with db.session() as session:
            found = await registry.community_named(session, community)
            if round_ == 1:
                return await consultation.open_round1(
                    session,
                    found.id,
                    title,
                    question,
                    closes_at,
                    CLI,
                    threshold_percent=given(threshold, defaults.threshold_percent),
                    remind_before=remind_before,
                )
            return await round2.open_round2(
                session,
                found.id,
                title,
                question,
                closes_at,
                CLI,
                codes=items.split(",") if items else None,
                rules=round2.Rules(
                    given(min_items, defaults.menu_min_items),
                    given(max_items, defaults.menu_max_items),
                    fen_of(budget) if budget else defaults.menu_budget_fen,
                ),
                inclusion_percent=given(inclusion, defaults.menu_inclusion_percent),
                plan_budget_fen=fen_of(plan_budget) if plan_budget else None,
                override_reason=override_reason,
                remind_before=remind_before,
            )

    try:
        opened = with_database(settings, work)
    except ConsultationError as error:
        raise refusal(error) from None
    typer.echo(
        f"round {round_} open for {community}: {opened.total_households} households, "
        f"closes {opened.closes_at.astimezone(settings.zone):%Y-%m-%d %H:%M}"
    )


def given(value: T | None, default: T) -> T:
    """An option as typed, else its setting; 0 is typed, so a flow can refuse it."""
    return default if value is None else value


TEXTS = {
    1: ("老旧小区改造意愿征询", "您是否同意本小区实施老旧小区改造？"),
    2: ("老旧小区改造方案征询", "请从菜单中选择您希望实施的改造项目。"),
}


def fen_of(typed: str) -> int:
    from bot.flows.menu import yuan_to_fen

    fen = yuan_to_fen(typed)
    if fen is None or fen == 0:
        raise CommandError("{typed!r} is not an amount in yuan", typed=typed)
    return fen


@consult_app.command("close")
def consult_close(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
) -> None:
    """Close the community's open round 1 now and tell its residents the outcome."""
    from bot.flows import consultation, registry
    from bot.flows.audit import CLI

    settings = settings_of(context)

    async def work(db: Database) -> consultation.Tally:
        async with db.session() as session:
            found = await registry.community_named(session, community)
            current = await consultation.current_tallies(session, {found.id})
            if not current or current[0].status != "open":
                raise CommandError(
                    "{community} has no open round-1 consultation", community=community
                )
            return await consultation.close(session, current[0].consultation_id, CLI)

    typer.echo(_tally_line(with_database(settings, work)))


@consult_app.command("results")
def consult_results(
    context: typer.Context,
    community: Annotated[str | None, typer.Option(help="only this community")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="also write FILE.xlsx: the results, and the turnout by building"),
    ] = None,
) -> None:
    """Each community's newest round 1: households, answers, approval, threshold."""
    from bot.flows import consultation, exports, registry, round1_results

    settings = settings_of(context)
    if out is not None and out.suffix.lower() != ".xlsx":
        raise CommandError("{path}: write .xlsx", path=out)
    double_tally = settings.consultation.double_tally

    async def work(db: Database):
        async with db.session() as session:
            ids = None
            if community is not None:
                ids = {(await registry.community_named(session, community)).id}
            tallies = await consultation.current_tallies(session, ids)
            shares = settings.consultation.double_tally_shares if double_tally else None
            return await round1_results.results_of(session, tallies, shares)

    results = with_database(settings, work)
    for result in results:
        typer.echo(_tally_line(result.tally))
        if double_tally:
            typer.echo(f"\t{_civil_code_line(result.double_tally)}")
    if out is not None:
        exports.write_xlsx(out, *exports.results_tables(results, settings.zone))
        typer.echo(f"written: {out}")


def _civil_code_line(result: DoubleTally | None) -> str:
    """The Civil Code's double tally; None when the floor areas are not all registered."""
    from bot.flows import civil_code
    from bot.i18n import text

    if result is None:
        return text("en", "civil.no_areas")
    verdict = text("en", "civil.reached" if result.reached else "civil.below")
    return text("en", "civil.line", verdict=verdict, **civil_code.values(result))


def _ranked(settings: Settings, year: int | None) -> list[consultation.Ranked]:
    return _ranked_with_channels(settings, year)[0]


def _ranked_with_channels(
    settings: Settings, year: int | None
) -> tuple[list[consultation.Ranked], dict[int, dict[str, int]]]:
    """The ranking, and each ranked round's answers by channel."""
    from bot.flows import consultation, turnout

    async def work(db: Database):
        async with db.session() as session:
            ranked = await consultation.ranking(session, year, zone=settings.zone)
            ids = [r.tally.consultation_id for r in ranked]
            return ranked, await turnout.channels_of(session, ids)

    return with_database(settings, work)


@consult_app.command("ranking")
def consult_ranking(
    context: typer.Context,
    year: Annotated[int | None, typer.Option(help="closed in this year")] = None,
) -> None:
    """The city ranking: reached the threshold by approval, then the postponed."""
    settings = settings_of(context)
    for ranked in _ranked(settings, year):
        typer.echo(f"{ranked.position}\t{_tally_line(ranked.tally)}")


@consult_app.command("export")
def consult_export(
    context: typer.Context,
    out: Annotated[Path, typer.Option(help="file to write; .csv and .xlsx are both written")],
    year: Annotated[int | None, typer.Option(help="closed in this year")] = None,
) -> None:
    """The city ranking as CSV and XLSX."""
    from bot.flows import exports

    settings = settings_of(context)
    table = exports.ranking_table(*_ranked_with_channels(settings, year), settings.zone)
    csv_path, xlsx_path = out.with_suffix(".csv"), out.with_suffix(".xlsx")
    exports.write_csv(csv_path, table)
    exports.write_xlsx(xlsx_path, table)
    typer.echo(f"{len(table.rows)} communities: {csv_path} and {xlsx_path}")


def _replace_rule(settings: Settings) -> consultation.Replace:
    from bot.flows import consultation

    return consultation.Replace(settings.offline.staff_replaces_bot)


@consult_app.command("record")
def consult_record(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    household: Annotated[str, typer.Option(help='building-unit-room, e.g. "3-1-101"')],
    answer: Annotated[str | None, typer.Option(help="round 1: agree or disagree")] = None,
    items: Annotated[
        str | None, typer.Option(help="round 2: the chosen item codes, comma-separated")
    ] = None,
    evidence: Annotated[
        Path | None, typer.Option(help="photo or scan of the signed form (image or PDF)")
    ] = None,
    note: Annotated[str | None, typer.Option(help="anything worth keeping with it")] = None,
    collector: Annotated[str | None, typer.Option(help="who took the answer")] = None,
    reason: Annotated[
        str | None, typer.Option(help="why it replaces the resident's own bot answer")
    ] = None,
) -> None:
    """Record a household's answer on its behalf: a paper form (--evidence) or a visit."""
    from bot.flows import consultation, offline, registry
    from bot.flows import evidence as evidence_files
    from bot.flows.audit import CLI
    from bot.flows.consultation import ConsultationError

    settings = settings_of(context)
    if (answer is None) == (items is None):
        raise CommandError("give --answer agree|disagree (round 1) or --items CODES (round 2)")
    round_ = 1 if answer is not None else 2
    typed = offline.answer_of(answer) or answer if answer is not None else items

    async def work(db: Database):
        async with db.session() as session:
            found = await registry.community_named(session, community)
            opened = await offline.open_round(session, found.id, round_)
            if opened is None:
                raise CommandError(
                    "{community} has no open round-{round} consultation",
                    community=community,
                    round=round_,
                )
            household_id = await offline.household_at(session, found.id, household)
            if household_id is None:
                raise CommandError(
                    "no household {household} in {community}",
                    household=household,
                    community=community,
                )
            stored = None
            if evidence is not None:
                stored = evidence_files.store(
                    evidence, settings.offline.evidence_dir, settings.offline.evidence_max_kb
                )
            entry = offline.with_evidence(
                consultation.Entry(collector=collector, note=note, reason=reason), stored
            )
            return await offline.record_answer(
                session, opened, household_id, typed, entry, CLI, _replace_rule(settings)
            )

    try:
        result = with_database(settings, work)
    except ConsultationError as error:
        raise refusal(error) from None
    done = "recorded" if result.written else "unchanged, already so"
    typer.echo(f"{community} {household}: {typed} ({done})")


@consult_app.command("import-answers")
def consult_import_answers(
    context: typer.Context,
    file: Path,
    round_: Annotated[int, typer.Option("--round", help="1: agree/disagree; 2: item codes")] = 1,
) -> None:
    """Answers typed up from paper forms (CSV or XLSX): community, building, unit, room,
    answer, date, collector, evidence (the form's scan, a file beside the table), reason.
    All rows or none."""
    from bot.flows import offline
    from bot.flows.audit import CLI

    settings = settings_of(context)
    if round_ not in TEXTS:
        raise CommandError("--round is 1 or 2")

    async def work(db: Database):
        async with db.session() as session:
            return await offline.import_answers(
                session, file, round_, CLI, _replace_rule(settings), settings.offline
            )

    result = with_database(settings, work)
    typer.echo(f"answers: {result.written} recorded, {result.unchanged} unchanged")


@consult_app.command("missing")
def consult_missing(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    round_: Annotated[int, typer.Option("--round", help="1 or 2")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="door-knocking sheet: FILE.xlsx, and FILE.pdf beside it")
    ] = None,
) -> None:
    """Households of the open round that have not answered, by building and unit, with
    how many residents are bound (0: must be visited)."""
    from bot.flows import doorsheet, exports, offline, registry, turnout

    settings = settings_of(context)

    async def work(db: Database):
        async with db.session() as session:
            found = await registry.community_named(session, community)
            opened = await offline.latest_round(session, found.id, round_)
            if opened is None:
                raise CommandError(
                    "{community} has no round-{round} consultation",
                    community=community,
                    round=round_,
                )
            return opened, await turnout.missing(session, opened)

    opened, missing = with_database(settings, work)
    for m in missing:
        a = m.address
        typer.echo(f"{a.building}\t{a.unit}\t{a.room}\tresidents {m.residents}")
    typer.echo(f"{len(missing)} of {opened.total_households} households have not answered")
    if out is not None:
        xlsx, pdf = out.with_suffix(".xlsx"), out.with_suffix(".pdf")
        exports.write_xlsx(xlsx, exports.missing_table(missing))
        doorsheet.write_pdf(pdf, settings.default_language, community, opened.title, missing)
        typer.echo(f"door-knocking sheet: {xlsx} and {pdf}")


@consult_app.command("turnout")
def consult_turnout(
    context: typer.Context,
    community: Annotated[str, typer.Option(help="the community's name")],
    round_: Annotated[int, typer.Option("--round", help="1 or 2")] = 1,
    out: Annotated[Path | None, typer.Option(help="also write it as FILE.xlsx")] = None,
) -> None:
    """The newest round's turnout by building, and its answers by channel (bot, paper, proxy)."""
    from bot.flows import exports, offline, registry, turnout

    settings = settings_of(context)

    async def work(db: Database):
        async with db.session() as session:
            found = await registry.community_named(session, community)
            opened = await offline.latest_round(session, found.id, round_)
            if opened is None:
                raise CommandError(
                    "{community} has no round-{round} consultation",
                    community=community,
                    round=round_,
                )
            return (
                await turnout.by_building(session, opened),
                await turnout.by_channel(session, opened.id),
            )

    buildings, channels = with_database(settings, work)
    table = exports.turnout_table(buildings, channels)
    for row in table.rows:
        typer.echo("\t".join(map(exports.cell_text, row)))
    if out is not None:
        exports.write_xlsx(out.with_suffix(".xlsx"), table)
