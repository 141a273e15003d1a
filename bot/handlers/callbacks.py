"""Callback data: short versioned strings such as ``v1:lang:en``.

A button is a request, never a permission: handlers decode the data and check
everything again. Telegram allows at most 64 bytes.
"""

from __future__ import annotations

import re

VERSION = "v1"
LIMIT = 64


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
    if not data:
        return None
    parts = data.split(":")
    if parts[:2] != [VERSION, feature] or len(parts) != arity + 2:
        return None
    return parts[2:]
