"""How requests reach the Bot API: over aiohttp, python-telegram-bot's documented seam.

The library's own transport is httpx. Every request passes several layers
in pure Python, and under a crowd its connection pool rescans the waiting
requests on every response; aiohttp's client parses HTTP in C and hands a
free connection over at once. A request costs the bot less than half the CPU
time one at a time, a sixth with 20 in flight, an eighth with 200
(``python -m bench.transport``): time it spends answering residents instead.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

Seconds = float | None


class AiohttpRequest(BaseRequest):
    """Requests to the Bot API over one aiohttp session of ``connection_pool_size``
    connections.

    Timeouts mean what they mean for the library's default transport: ``read`` for
    each wait on the server (a long poll adds its own wait to it), ``connect`` to open
    a connection, ``pool`` to get one from the pool. aiohttp has no write timeout: an
    upload is bounded as a whole by ``media_write_timeout`` (or the call's
    ``write_timeout``); other requests are small enough to need no bound of their own.
    """

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: Seconds = 5.0,
        connect_timeout: Seconds = 5.0,
        pool_timeout: Seconds = 1.0,
        media_write_timeout: Seconds = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read, self._connect, self._pool = read_timeout, connect_timeout, pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> Seconds:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(connector=connector)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized")
        uploads = request_data.multipart_data if request_data else {}
        timeout = aiohttp.ClientTimeout(
            total=_given(write_timeout, self._media_write) if uploads else None,
            connect=_given(pool_timeout, self._pool),
            sock_connect=_given(connect_timeout, self._connect),
            sock_read=_given(read_timeout, self._read),
        )
        try:
            async with session.request(
                method,
                url,
                data=_body(request_data, uploads),
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except (aiohttp.ClientError, ValueError) as error:  # ValueError: a malformed URL
            reason = str(error).replace(url, _origin(url))
            raise NetworkError(f"aiohttp.{type(error).__name__}: {reason}") from error


def _origin(url: str) -> str:
    """The URL without its path, which holds the bot's token."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/…"


def _given(value: ODVInput[float], default: Seconds) -> Seconds:
    return default if isinstance(value, DefaultValue) else value


def _body(
    request_data: RequestData | None, uploads: dict
) -> dict[str, str] | aiohttp.FormData | None:
    """Parameters form-encoded, or, with files, as multipart form data (as Telegram takes
    them)."""
    if request_data is None:
        return None
    if not uploads:
        return request_data.json_parameters
    form = aiohttp.FormData(request_data.json_parameters, quote_fields=False)
    for name, (filename, content, mime_type) in uploads.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form
