"""Both catalogues are complete, and every message the code asks for exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from bot.i18n import LANGUAGES, catalogue, language_of

BOT = Path(__file__).parent.parent / "bot"
FILE_NAMES = (".py", ".po", ".csv", ".xlsx", ".pdf", ".png", ".toml", ".html")
KEY = re.compile(r"""["']([a-z_]+\.[a-z_]+)["']""")


def keys_in_code() -> set[str]:
    found = set()
    for path in BOT.rglob("*.py"):
        found |= set(KEY.findall(path.read_text(encoding="utf-8")))
    return {key for key in found if not key.endswith(FILE_NAMES)}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_catalogues_have_the_same_messages_and_placeholders():
    chinese, english = catalogue("zh_Hans"), catalogue("en")
    assert chinese.keys() == english.keys()
    for key in chinese:
        assert placeholders(chinese[key]) == placeholders(english[key]), key


def test_every_key_used_in_the_code_is_in_both_catalogues():
    used = keys_in_code()
    assert len(used) > 20
    for language in LANGUAGES:
        missing = {
            key
            for key in used
            if key.split(".")[0] in {k.split(".")[0] for k in catalogue(language)}
        } - catalogue(language).keys()
        assert not missing, (language, missing)


def test_language_choice():
    assert language_of("en-US", None, "zh_Hans") == "en"
    assert language_of("zh-hans", None, "zh_Hans") == "zh_Hans"
    assert language_of(None, None, "zh_Hans") == "zh_Hans"
    assert language_of("ru", None, "zh_Hans") == "zh_Hans"
    assert language_of("en", "zh_Hans", "zh_Hans") == "zh_Hans"  # /lang wins
