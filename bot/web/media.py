"""A request's photo, passed through from Telegram: photos are kept as Telegram file ids.

The Bot API says where the file is (getFile); its bytes are streamed on to
the city system as they arrive. The token is in both addresses, so neither
address ever reaches a log or an answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.config import Settings, require_token

CLIENT = web.AppKey("telegram_files", aiohttp.ClientSession)
CHUNK = 64 * 1024


class MediaUnavailable(Exception):
    """Telegram could not give the file now (without its address, which holds the token)."""


async def client_session(app: web.Application) -> AsyncIterator[None]:
    """The part's one HTTP client to the Bot API, for as long as it runs."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as client:
        app[CLIENT] = client
        yield


async def stream_file(
    request: web.Request, client: aiohttp.ClientSession, settings: Settings, file_id: str
) -> web.StreamResponse:
    telegram, token = settings.telegram, require_token(settings)
    try:
        async with client.get(
            f"{telegram.api_base_url}{token}/getFile", params={"file_id": file_id}
        ) as answer:
            found = await answer.json(content_type=None)
        if not found.get("ok"):
            raise MediaUnavailable(found.get("description", "getFile refused"))
        path = found["result"]["file_path"]
        async with client.get(f"{telegram.file_base_url}{token}/{path}") as file:
            if file.status != 200:
                raise MediaUnavailable(f"the file answered {file.status}")
            response = web.StreamResponse(headers={"Content-Type": file.content_type})
            await response.prepare(request)
            async for chunk in file.content.iter_chunked(CHUNK):
                await response.write(chunk)
            await response.write_eof()
            return response
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
        raise MediaUnavailable(type(error).__name__) from None
