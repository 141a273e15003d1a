"""Both catalogues are complete, and every message the code asks for exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from bot.i18n import COUNT, LANGUAGES, catalogue, counts, language_of, text

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


def test_english_counts_agree_with_their_nouns():
    assert text("en", "repair.page_gone", pages=1) == (
        "The list has changed and now has 1 page. Please open it again."
    )
    assert "now has 2 pages." in text("en", "repair.page_gone", pages=2)
    assert text("en", "bind.wrong_code", tries_left=1).endswith("1 try left.")
    assert "Chosen: 1 item, ¥" in text("en", "menu.page", **dict.fromkeys(MENU_PAGE, 1))
    assert text("zh_Hans", "repair.page_gone", pages=1) == (
        "列表已经变了，现在只有1页。请重新打开列表。"
    )


MENU_PAGE = [
    "title",
    "question",
    "basic",
    "rules",
    "count",
    "total",
    "warning",
    "status",
    "page",
    "pages",
    "closes",
]


def test_count_phrases_have_every_plural_form_of_their_language():
    assert counts("zh_Hans").keys() == counts("en").keys()
    for language, forms in (("zh_Hans", 1), ("en", 2)):
        for key, phrase in counts(language).items():
            assert len(phrase) == forms and all("{n}" in form for form in phrase), key


def test_every_counted_value_names_a_count_phrase():
    for language in LANGUAGES:
        for key, template in catalogue(language).items():
            for _, _, spec, _ in string.Formatter().parse(template):
                assert not spec or COUNT + spec in counts(language), (language, key, spec)


def test_no_english_count_is_written_with_a_bare_plural_noun():
    """ "{pages} pages" says "1 pages": such a count is worded by its phrase (a ratio or a
    range is plural anyway)."""
    nouns = "|".join(phrase[1].removeprefix("{n} ") for phrase in counts("en").values())
    bare = re.compile(rf"(?<![/–])\{{\w+\}} (?:{nouns})\b")
    assert not [key for key, template in catalogue("en").items() if bare.search(template)]
