"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) for city systems: /open311/v2.

Every resource answers in JSON or XML by its suffix (``/services.json``,
``/requests/JX-2026-000123.xml``); ``jurisdiction_id`` may be given and is
not needed (one linli serves one city). Texts (service names, notes, errors)
are in the ``locale`` asked for, ``zh_Hans`` or ``en``, else the configured
default language. Reading is open, as the spec has it; filing a request
(``POST /requests``) takes an ``api_key``. Errors are the spec's list of
``{"code", "description"}``, and change nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl

from aiohttp import web

from bot.config import Settings
from bot.flows import api_keys, city_requests
from bot.flows.refusal import Refusal
from bot.i18n import LANGUAGES, text
from bot.web import media
from bot.web.formats import FORMATS, respond
from bot.web.keys import DATABASE, SETTINGS
from bot.web.ratelimit import TokenBuckets
from storage.db import Database

PREFIX = "/open311/v2"  # as bot.web.server mounts it
CHANGESET = "2026-12-03T00:00:00+08:00"  # when this API last changed shape
BUCKETS = web.AppKey("buckets", TokenBuckets)
NOT_FOUND = frozenset({"open311.unknown_service", "open311.unknown_request", "open311.no_media"})
FORBIDDEN = frozenset({"open311.bad_key", "open311.community_not_allowed"})
FORM = "application/x-www-form-urlencoded"


class Failure(Exception):
    """An answer of the spec's error format: the status and a catalogue key with values."""

    def __init__(
        self, status: int, reason: str, headers: Mapping[str, str] | None = None, **values: object
    ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.values, self.headers = status, reason, values, headers


Handler = Callable[[web.Request, "Call"], Awaitable[object]]


class Call:
    """One call: its format, language and the shared things it may reach."""

    def __init__(self, request: web.Request, suffix: str, language: str) -> None:
        self.request, self.suffix, self.language = request, suffix, language
        self.db: Database = request.config_dict[DATABASE]
        self.settings: Settings = request.config_dict[SETTINGS]

    @property
    def context(self) -> city_requests.Context:
        return city_requests.Context(
            self.language,
            self.settings.zone,
            self.settings.repair,
            f"{self.settings.web.public_url}{PREFIX}/media",
        )


def _language(asked: str | None, settings: Settings) -> str:
    if asked is None:
        return settings.default_language
    if asked not in LANGUAGES:
        raise Failure(400, "open311.bad_locale", typed=asked, known=", ".join(LANGUAGES))
    return asked


def _error(suffix: str, language: str, failure: Failure) -> web.Response:
    description = text(language, failure.reason, **failure.values)
    answer = [{"code": failure.status, "description": description}]
    response = respond(suffix, answer, "errors", "error", status=failure.status)
    response.headers.update(failure.headers or {})
    return response


def _status(reason: str, not_found: frozenset[str]) -> int:
    if reason in not_found:
        return 404
    return 403 if reason in FORBIDDEN else 400


def endpoint(
    root: str, item: str | None = None, not_found: frozenset[str] = NOT_FOUND, suffixed=True
):
    """A resource in both formats (``suffixed``: else it is not Open311's own, like a photo,
    and errs in JSON), its refusals in the spec's error format."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def answer(request: web.Request) -> web.StreamResponse:
            suffix = request.match_info["suffix"] if suffixed else ".json"
            call = Call(request, suffix, request.config_dict[SETTINGS].default_language)
            try:
                if suffix not in FORMATS:
                    call.suffix = ".json"  # the error, at least, in a format there is
                    raise Failure(400, "open311.bad_format", typed=suffix or "—")
                call.language = _language(request.query.get("locale"), call.settings)
                body = await handler(request, call)
            except Refusal as refusal:
                status = _status(refusal.reason, not_found)
                failure = Failure(status, refusal.reason, None, **refusal.values)
                return _error(call.suffix, call.language, failure)
            except Failure as failure:
                return _error(call.suffix, call.language, failure)
            if isinstance(body, web.StreamResponse):
                return body
            created = request.method == "POST"
            return respond(suffix, body, root, item, status=201 if created else 200)

        return answer

    return wrap


@endpoint("discovery")
async def discovery(request: web.Request, call: Call) -> object:
    return {
        "changeset": CHANGESET,
        "contact": call.settings.web.open311_contact,
        "key_service": text(call.language, "open311.key_service"),
        "endpoints": [
            {
                "specification": city_requests.SPECIFICATION,
                "url": f"{call.settings.web.public_url}{PREFIX}",
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS.values()),
            }
        ],
    }


@endpoint("services", "service")
async def services(request: web.Request, call: Call) -> object:
    return city_requests.services(call.language)


@endpoint("service_definition")
async def service_definition(request: web.Request, call: Call) -> object:
    async with call.db.session() as session:
        return await city_requests.service_definition(
            session, request.match_info["code"], call.language
        )


@endpoint("service_requests", "request", not_found=frozenset())  # a bad filter: 400
async def requests(request: web.Request, call: Call) -> object:
    search = city_requests.search_of(
        request.query, call.settings.zone, call.settings.web.open311_page_size
    )
    async with call.db.session() as session:
        return await city_requests.find(session, search, call.context)


@endpoint("service_requests", "request")
async def one_request(request: web.Request, call: Call) -> object:
    async with call.db.session() as session:
        return [await city_requests.one(session, request.match_info["number"], call.context)]


async def _form(request: web.Request, most_kb: int) -> dict[str, str]:
    """The posted form, read no further than the limit."""
    limit = most_kb * 1024
    if request.content_length is not None and request.content_length > limit:
        raise Failure(413, "open311.too_large", most=most_kb)
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise Failure(413, "open311.too_large", most=most_kb)
    if body and request.content_type != FORM:
        raise Failure(400, "open311.bad_body")
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError:
        raise Failure(400, "open311.bad_body") from None


@endpoint("service_requests", "request", not_found=frozenset())
async def file_request(request: web.Request, call: Call) -> object:
    """A hotline's request, filed into the repair flow (an unknown service: 400, as the
    spec has it for a POST)."""
    form = await _form(request, call.settings.web.open311_max_body_kb)
    if "locale" in form:
        call.language = _language(form["locale"], call.settings)
    async with call.db.session() as session:
        caller = await api_keys.caller_of(session, form.get("api_key", ""))
        if caller is None:
            raise Failure(403, "open311.bad_key")
        limits = call.settings.web
        wait = request.app[BUCKETS].take(
            caller.key_id, limits.open311_calls_per_minute, limits.open311_burst
        )
        if wait:
            raise Failure(429, "open311.slow_down", {"Retry-After": str(int(wait) + 1)})
        return [await city_requests.file_from(session, caller, form, call.context)]


@endpoint("errors", "error", suffixed=False)
async def photo(request: web.Request, call: Call) -> object:
    """The first photo of a request: ``media_url`` points here."""
    async with call.db.session() as session:
        file_id = await city_requests.first_photo(session, request.match_info["number"])
    client = request.app[media.CLIENT]
    try:
        return await media.stream_file(request, client, call.settings, file_id)
    except media.MediaUnavailable:
        raise Failure(502, "open311.media_unavailable") from None


def app() -> web.Application:
    part = web.Application()
    part[BUCKETS] = TokenBuckets()
    part.cleanup_ctx.append(media.client_session)
    suffix = "{suffix:[^/]*}"
    part.add_routes(
        [
            web.get(f"/discovery{suffix}", discovery),
            web.get(f"/services{suffix}", services),
            web.get(f"/services/{{code:[^/.]+}}{suffix}", service_definition),
            web.get(f"/requests{suffix}", requests),
            web.post(f"/requests{suffix}", file_request),
            web.get(f"/requests/{{number:[^/.]+}}{suffix}", one_request),
            web.get("/media/{number:[^/.]+}", photo),
        ]
    )
    return part
