"""Message catalogues: Simplified Chinese (the default) and English.

The catalogues are gettext ``.po`` files keyed by message id (``bind.welcome``),
read with Babel at start-up; a translator edits them with any PO editor.
Placeholders use ``str.format`` names: ``{address}``.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path

LANGUAGES = ("zh_Hans", "en")
DEFAULT_LANGUAGE = "zh_Hans"
_HERE = Path(__file__).parent


@cache
def catalogue(language: str) -> dict[str, str]:
    """Every message of ``language``, id to text."""
    from babel.messages.pofile import read_po  # imported when a text is wanted, not for --help

    with open(_HERE / language / "LC_MESSAGES" / "linli.po", "rb") as po:
        return {
            message.id: message.string for message in read_po(po) if message.id and message.string
        }


def text(language: str, key: str, /, **values: object) -> str:
    """The message ``key`` in ``language``, with ``values`` filled in."""
    template = catalogue(language).get(key) or catalogue(DEFAULT_LANGUAGE)[key]
    return template.format(**values) if values else template


def language_of(telegram_code: str | None, chosen: str | None, default: str) -> str:
    """The user's choice, else English for an ``en*`` Telegram client, else the default."""
    if chosen in LANGUAGES:
        return chosen
    if telegram_code and telegram_code.lower().startswith("en"):
        return "en"
    return default


def configured_language(config_file: Path | None) -> str:
    """The ``default_language`` setting, read without the settings' machinery (pydantic),
    so that ``linli --help`` stays quick and a broken setting can be told in it:
    ``LINLI_DEFAULT_LANGUAGE``, else the TOML file's (or ./config.toml's), else Chinese."""
    chosen = os.environ.get("LINLI_DEFAULT_LANGUAGE")
    file = config_file or Path("config.toml")
    if chosen is None and file.is_file():
        try:
            chosen = tomllib.loads(file.read_text(encoding="utf-8")).get("default_language")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            chosen = None  # the settings themselves will say what is wrong with the file
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE
