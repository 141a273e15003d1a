"""Message catalogues: Simplified Chinese (the default) and English.

The catalogues are gettext ``.po`` files keyed by message id (``bind.welcome``),
read with Babel at start-up; a translator edits them with any PO editor.
Placeholders use ``str.format`` names: ``{address}``. A count that a noun follows
names its phrase as the format spec: ``{total:households}`` is the plural entry
``count.households`` (``1 household``, ``2 households``), its form chosen by the
catalogue's Plural-Forms rule, as gettext's ngettext does.
"""

from __future__ import annotations

import gettext
import os
import string
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

LANGUAGES = ("zh_Hans", "en")
DEFAULT_LANGUAGE = "zh_Hans"
COUNT = "count."
_HERE = Path(__file__).parent


@dataclass(frozen=True)
class _Catalogue:
    """What a language's ``.po`` file says, kept without the parsed file (Babel's
    messages, with their comments and locations, would stay in memory for nothing)."""

    texts: dict[str, str]
    counts: dict[str, tuple[str, ...]]
    plural_form: Callable[[int], int]


@cache
def _catalogue(language: str) -> _Catalogue:
    from babel.messages.pofile import read_po  # imported when a text is wanted, not for --help

    with open(_HERE / language / "LC_MESSAGES" / "linli.po", "rb") as po:
        catalog = read_po(po)
    return _Catalogue(
        texts={
            message.id: message.string
            for message in catalog
            if isinstance(message.id, str) and message.id and message.string
        },
        counts={
            message.id[0]: tuple(message.string)
            for message in catalog
            if isinstance(message.string, tuple) and all(message.string)
        },
        plural_form=gettext.c2py(catalog.plural_expr),
    )


def catalogue(language: str) -> dict[str, str]:
    """Every message of ``language``, id to text."""
    return _catalogue(language).texts


def counts(language: str) -> dict[str, tuple[str, ...]]:
    """Every count phrase of ``language``, id to its plural forms (each with ``{n}``)."""
    return _catalogue(language).counts


class _Wording(string.Formatter):
    """``str.format`` that words ``{value:phrase}`` as the count phrase ``count.phrase``."""

    def __init__(self, language: str) -> None:
        self.language = language

    def format_field(self, value: object, format_spec: str) -> str:
        forms = counts(self.language).get(COUNT + format_spec)
        if forms is None or not isinstance(value, int):
            return super().format_field(value, format_spec)
        return forms[_catalogue(self.language).plural_form(value)].format(n=value)


@cache
def _wording(language: str) -> _Wording:
    return _Wording(language)


def text(language: str, key: str, /, **values: object) -> str:
    """The message ``key`` in ``language``, with ``values`` filled in."""
    if key not in catalogue(language):
        language = DEFAULT_LANGUAGE
    template = catalogue(language)[key]
    return _wording(language).format(template, **values) if values else template


@cache
def shell_catalogue(language: str) -> dict[str, str]:
    """The shell's words in ``language`` (``cli.po``): English text to its translation."""
    if language == "en":
        return {}
    from babel.messages.pofile import read_po

    with open(_HERE / language / "LC_MESSAGES" / "cli.po", "rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po) if m.id and m.string}


def shell_words(language: str, english: str, /, **values: object) -> str:
    """``english`` (a ``str.format`` template, when given values) as the shell says it
    in ``language``."""
    words = shell_catalogue(language).get(english, english)
    return words.format(**values) if values else words


class Told(Exception):
    """A mistake told to the operator at the shell, in their language.

    The code writes it in English, a template and its values; the template is the
    message id of ``cli.po``. ``str()`` is the English; ``told(language)`` the words
    of the configured language, with whatever among the values can be told (another
    ``Told``, a flow's refusal) told in it too.
    """

    def __init__(self, template: str, /, **values: object) -> None:
        self.template, self.values = template, values
        super().__init__(self.told("en"))

    def told(self, language: str) -> str:
        values = {
            name: value.told(language) if hasattr(value, "told") else value
            for name, value in self.values.items()
        }
        return shell_words(language, self.template, **values)


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
