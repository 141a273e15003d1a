"""Callback data: short versioned strings such as ``v1:lang:en``.

A button is a request, never a permission: handlers decode the data and check
everything again. Telegram allows at most 64 bytes.
"""

from __future__ import annotations

import re

VERSION = "v1"
LIMIT = 64
ID_LIMIT = 2**31  # ids are 32-bit integers in the database


def encode(feature: str, *parts: object) -> str:
    data = ":".join([VERSION, feature, *map(str, parts)])
    if len(data.encode()) > LIMIT:
        raise ValueError(f"callback data over {LIMIT} bytes: {data!r}")
    return data


def pattern(feature: str) -> re.Pattern[str]:
    """The pattern that routes a feature's buttons to its handler."""
    return re.compile(rf"^{VERSION}:{re.escape(feature)}:")


def decode(data: str | None, feature: str, arity: int) -> list[str] | None:
    """The parts after ``v1:<feature>:``, or None when the data is not such a button."""
    parts = decode_any(data, feature)
    return parts if parts is not None and len(parts) == arity else None


def decode_any(data: str | None, feature: str) -> list[str] | None:
    """Like ``decode``, for a feature whose buttons have parts of different numbers."""
    if not data:
        return None
    parts = data.split(":")
    if parts[:2] != [VERSION, feature] or len(parts) < 3 or not all(map(_fits, parts[2:])):
        return None
    return parts[2:]


def person(telegram_id: int) -> str:
    """A Telegram user id as a callback part: ``u<id>`` (64-bit, unlike the database's ids)."""
    return f"u{telegram_id}"


def person_of(part: str) -> int | None:
    digits = part.removeprefix("u")
    if part[:1] != "u" or not (digits.isascii() and digits.isdigit()) or int(digits) >= 2**63:
        return None
    return int(digits)


def _fits(part: str) -> bool:
    """A part made of digits must be an id the database can hold (forged data may not be)."""
    return not part.isdigit() or (part.isascii() and int(part) < ID_LIMIT)
