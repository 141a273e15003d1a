"""Both catalogues are complete, and every message the code asks for exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from bot.i18n import LANGUAGES, catalogue, language_of

BOT = Path(__file__).parent.parent / "bot"
FILE_NAMES = (".py", ".po", ".csv", ".xlsx", ".pdf", ".png", ".toml")
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


CJK = "[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"  # Han, CJK and full-width marks
PLACEHOLDER = r"[#¥]?\{[^{}]*\}%?"  # with the sign or unit written next to it
PADDING = re.compile(rf"(?:{CJK}|{PLACEHOLDER}) +(?={CJK})|{CJK} +(?={PLACEHOLDER})")
# Spaces that are meant: a command's arguments, as typed.
SPACES_MEANT = {("queue.fund_usage", "{year} 南溪小区")}


def test_chinese_words_and_placeholders_are_not_padded_with_spaces():
    """「运南新村 的」 reads as a typo: Chinese puts no space between words, nor around the
    values that fill a placeholder."""
    padded = [
        (key, match.group(0))
        for key, template in catalogue("zh_Hans").items()
        for match in PADDING.finditer(template)
        if not any(key == k and match.group(0) in meant for k, meant in SPACES_MEANT)
    ]
    assert not padded


def test_a_resident_is_told_about_their_household_as_您家():
    """住户 said to a resident (您的住户) reads like "your tenants"."""
    assert not [
        key
        for key, template in catalogue("zh_Hans").items()
        if re.search("您的?住户|绑定住户", template)
    ]
