"""The officials' pages, under /officials: read-only, server-rendered, behind a login
tied to the staff table.

A staff member sends /web to the bot and gets a one-time link. Opening it shows a
button (link checkers and previews that fetch it change nothing); pressing it uses
the link and sets the session cookie. Staff see their communities, admins all of
them and the city ranking; a community one does not serve is "not found", exactly
like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from fractions import Fraction
from functools import cache

import jinja2
from aiohttp import web

from bot.config import Settings
from bot.flows import charts, consultation, exports, menu, registry, repair, web_login
from bot.flows.registry import StaffMember
from bot.flows.repair import RepairError
from bot.flows.web_login import LoginRefused
from bot.i18n import LANGUAGES, text
from bot.web import officials_pages as pages
from bot.web.keys import DATABASE, SETTINGS
from storage.choices import Role
from storage.db import Database

COOKIE = "linli_officials"
PREFIX = "/officials"
MEMBER = web.RequestKey("member", StaffMember)
LANGUAGE = web.RequestKey("language", str)
SESSION_ID = web.RequestKey("session_id", str)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@cache
def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )


def _database(request: web.Request) -> Database:
    return request.config_dict[DATABASE]


def _settings(request: web.Request) -> Settings:
    return request.config_dict[SETTINGS]


def render(request: web.Request, template: str, status: int = 200, **values) -> web.Response:
    language = _language(request)
    page = (
        templates()
        .get_template(template)
        .render(
            t=lambda key, **more: text(language, key, **more),
            language=language,
            languages=LANGUAGES,
            member=request.get(MEMBER),
            path=request.path_qs,
            prefix=PREFIX,
            percent=consultation.percent_text,
            share=_share_text,
            yuan=repair.yuan,
            local=lambda moment: _local(request, moment),
            **values,
        )
    )
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


def problem(request: web.Request, status: int, key: str, **values) -> web.Response:
    """A page that says, in the reader's language, what went wrong and what to do."""
    return render(request, "message.html", status, message=text(_language(request), key, **values))


def _language(request: web.Request) -> str:
    return request.get(LANGUAGE) or _asked_language(request)


def _asked_language(request: web.Request) -> str:
    """Before logging in: ``?lang=en`` when the switch was pressed, else the default."""
    asked = request.query.get("lang")
    return asked if asked in LANGUAGES else _settings(request).default_language


def _share_text(part: int, whole: int) -> str:
    return consultation.percent_text(Fraction(part, whole)) if whole else "—"


def _local(request: web.Request, moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(_settings(request).zone).strftime("%Y-%m-%d %H:%M")


# Logging in and out


@web.middleware
async def logged_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every page but the login link's needs a live session of someone still on the staff."""
    if request.match_info.route.name in {"login", "use_login"}:
        return await handler(request)
    session_id = request.cookies.get(COOKIE, "")
    async with _database(request).session() as session:
        found = await web_login.session_of(session, session_id) if session_id else None
        member = await web_login.member_of(session, found) if found else None
    if found is None or member is None:
        return problem(request, 401, "web.no_session")
    request[MEMBER] = member
    request[LANGUAGE] = found.language
    request[SESSION_ID] = session_id
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return problem(request, 404, "web.not_found")


async def login(request: web.Request) -> web.Response:
    """The link from the bot: a button that uses it (a GET changes nothing)."""
    token = request.match_info["token"]
    async with _database(request).session() as session:
        try:
            found = await web_login.check_link(session, token)
        except LoginRefused as refused:
            return _refused(request, refused)
        default = _settings(request).default_language
        request[LANGUAGE] = await web_login.language_for(session, found.staff_telegram_id, default)
    return render(request, "login.html", token=token)


async def use_login(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    settings = _settings(request)
    async with _database(request).session() as session:
        try:
            session_id = await web_login.redeem(
                session, token, settings.default_language, settings.web.session_hours
            )
        except LoginRefused as refused:
            return _refused(request, refused)
    response = web.HTTPSeeOther(f"{PREFIX}/")
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=settings.web.session_hours * 3600,
        path=PREFIX,
        httponly=True,
        samesite="Lax",
        secure=settings.web.public_url.startswith("https://"),
    )
    raise response


def _refused(request: web.Request, refused: LoginRefused) -> web.Response:
    status = 404 if refused.reason == web_login.UNKNOWN else 410
    return problem(request, status, refused.reason)


async def logout(request: web.Request) -> web.Response:
    async with _database(request).session() as session:
        await web_login.end(session, request[SESSION_ID])
    request.pop(MEMBER)
    response = problem(request, 200, "web.logged_out")
    response.del_cookie(COOKIE, path=PREFIX)
    return response


async def choose_language(request: web.Request) -> web.Response:
    form = await request.post()
    chosen, back = form.get("lang"), str(form.get("next") or "")
    if chosen not in LANGUAGES:
        return problem(request, 400, "web.bad_language")
    async with _database(request).session() as session:
        await web_login.choose_language(session, request[SESSION_ID], str(chosen))
    # Back to the page it was pressed on, never to another site.
    raise web.HTTPSeeOther(back if back.startswith(f"{PREFIX}/") else f"{PREFIX}/")


# The pages


def _member(request: web.Request) -> StaffMember:
    return request[MEMBER]


async def home(request: web.Request) -> web.Response:
    async with _database(request).session() as session:
        communities = await registry.communities_served(session, _member(request))
    return render(request, "home.html", communities=communities)


def _admins_only(request: web.Request) -> web.Response | None:
    if _member(request).role is not Role.ADMIN:
        return problem(request, 403, "web.admins_only")
    return None


async def ranking(request: web.Request) -> web.Response:
    if (refused := _admins_only(request)) is not None:
        return refused
    async with _database(request).session() as session:
        ranked, channels = await pages.ranking(session, _settings(request).zone)
    return render(request, "ranking.html", ranked=ranked, channels=channels)


async def ranking_file(request: web.Request) -> web.StreamResponse:
    if (refused := _admins_only(request)) is not None:
        return refused
    async with _database(request).session() as session:
        ranked, channels = await pages.ranking(session, _settings(request).zone)
    if request.match_info["kind"] == "png":
        tallies = [r.tally for r in ranked]
        return _png(pages.round1_chart(_language(request), tallies, "ranking.chart_title"))
    zone = _settings(request).zone
    return _xlsx(pages.xlsx(exports.ranking_table(ranked, channels, zone)), "ranking.xlsx")


def _community_id(request: web.Request) -> int:
    typed = request.match_info["community"]
    if not typed.isdigit() or len(typed) > 9:
        raise pages.NotServed
    return int(typed)


def _queue_page(request: web.Request) -> int:
    typed = request.query.get("page", "1")
    if not typed.isdigit() or len(typed) > 6:
        raise RepairError("repair.page_gone", pages=1)
    return int(typed)


async def community(request: web.Request) -> web.Response:
    try:
        async with _database(request).session() as session:
            shown = await pages.community_page(
                session,
                _settings(request),
                _member(request),
                _community_id(request),
                _queue_page(request),
            )
    except pages.NotServed:
        return problem(request, 404, "web.not_found")
    except RepairError as refused:
        return problem(request, 404, "web.no_such_page", **refused.values)
    language = _language(request)
    return render(
        request,
        "community.html",
        shown=shown,
        item_name=lambda item: menu.name_of(item, language),
        age_of=lambda since: pages.age_text(language, since),
    )


async def community_file(request: web.Request) -> web.StreamResponse:
    """The community's charts and spreadsheets: round1.png/.xlsx, menu.png/.xlsx."""
    what, kind = request.match_info["what"], request.match_info["kind"]
    settings, language = _settings(request), _language(request)
    try:
        async with _database(request).session() as session:
            community_id = _community_id(request)
            await pages.community_for(session, _member(request), community_id)
            if what == "round1":
                round1 = await pages.round1_of(session, settings, community_id)
            else:
                tallied = await pages.menu_of(session, community_id)
    except pages.NotServed:
        return problem(request, 404, "web.not_found")
    if what == "round1":
        if round1 is None:
            return problem(request, 404, "web.nothing_yet")
        if kind == "png":
            return _png(pages.round1_chart(language, [round1.tally], "results.chart_title"))
        return _xlsx(pages.xlsx(*exports.results_tables([round1], settings.zone)), "round1.xlsx")
    if tallied is None:
        return problem(request, 404, "web.nothing_yet")
    if kind == "png":
        return _png(charts.plan_chart(language, tallied))
    return _xlsx(pages.xlsx(exports.menu_table(tallied)), "menu.xlsx")


def _year(request: web.Request) -> int | None:
    typed = request.query.get("year")
    if typed is None or typed == "":
        return None
    if not typed.isdigit() or not 2000 <= int(typed) <= 2100:
        raise ValueError(typed)
    return int(typed)


async def fund(request: web.Request) -> web.StreamResponse:
    try:
        year = _year(request)
    except ValueError as typed:
        return problem(request, 400, "web.bad_year", year=str(typed))
    async with _database(request).session() as session:
        report = await pages.fund_report(session, _settings(request), _member(request), year)
    kind = request.match_info.get("kind")
    if kind == "png":
        return _png(charts.fund_chart(_language(request), report))
    if kind == "xlsx":
        return _xlsx(pages.xlsx(exports.fund_table(report)), "fund.xlsx")
    this_year = datetime.now(UTC).astimezone(_settings(request).zone).year
    return render(request, "fund.html", report=report, year=year, this_year=this_year)


def _png(image: bytes) -> web.Response:
    return web.Response(body=image, content_type="image/png")


def _xlsx(workbook: bytes, name: str) -> web.Response:
    return web.Response(
        body=workbook,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def app() -> web.Application:
    officials = web.Application(middlewares=[logged_in])
    officials.add_routes(
        [
            web.get("/login/{token}", login, name="login"),
            web.post("/login/{token}", use_login, name="use_login"),
            web.post("/logout", logout),
            web.post("/language", choose_language),
            web.get("/", home),
            web.get("/ranking", ranking),
            web.get(r"/ranking.{kind:png|xlsx}", ranking_file),
            web.get("/communities/{community}", community),
            web.get(r"/communities/{community}/{what:round1|menu}.{kind:png|xlsx}", community_file),
            web.get("/fund", fund),
            web.get(r"/fund.{kind:png|xlsx}", fund),
        ]
    )
    return officials
