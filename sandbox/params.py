"""Reading Bot API parameters the way Telegram does.

A parameter can arrive in the query string, a JSON body, a url-encoded form or a multipart
form. In the two form encodings every value is a string: numbers are written out, booleans
are "true"/"false" and objects such as ``reply_markup`` are JSON text. A JSON body carries
real types. :class:`Params` hides the difference behind typed getters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request


@dataclass(frozen=True)
class Upload:
    """A file sent as a part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """The parameters of one call, with getters that accept both typed and string values."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None):
        self._values = values
        self._uploads = uploads or {}

    def __contains__(self, name: str) -> bool:
        return name in self._values or name in self._uploads

    def get_raw(self, name: str) -> Any:
        return self._values.get(name)

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            raise bad_request(f'field "{name}" must be of type String')
        return str(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def get_float(self, name: str, default: float | None = None) -> float | None:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise bad_request(f'field "{name}" must be of type Float') from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return value != 0
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise bad_request(f'field "{name}" must be of type Boolean')

    def get_json(self, name: str, what: str | None = None) -> Any:
        """An object or array parameter; form encodings send it as JSON text.

        ``what`` names the object in the error Telegram gives for broken JSON, e.g.
        "reply keyboard markup" -> "can't parse reply keyboard markup JSON object".
        """
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what or name} JSON object") from None

    def upload(self, name: str) -> Upload | None:
        """The uploaded file for a parameter: its own part, or the part named by attach://."""
        if name in self._uploads:
            return self._uploads[name]
        value = self._values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return self._uploads.get(value.removeprefix("attach://"))
        return None


async def read_params(request: web.Request) -> Params:
    """Collect the parameters of a Bot API request from its query string and body."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON request") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: can't parse JSON request")
            values.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[name] = Upload(
                        data=value.file.read(),
                        filename=value.filename,
                        content_type=value.content_type,
                    )
                else:
                    values[name] = value
    return Params(values, uploads)
