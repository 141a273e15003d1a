"""Formatted text: HTML, MarkdownV2 and Markdown to plain text and entities."""

from __future__ import annotations

import pytest

from sandbox.errors import ApiError
from sandbox.markup import parse_formatted


def bold(offset: int, length: int) -> dict:
    return {"type": "bold", "offset": offset, "length": length}


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("<b>a</b><strong>b</strong>", "ab", [bold(0, 1), bold(1, 1)]),
        (
            "<i>x</i> <em>y</em>",
            "x y",
            [
                {"type": "italic", "offset": 0, "length": 1},
                {"type": "italic", "offset": 2, "length": 1},
            ],
        ),
        (
            "<u>x</u><ins>y</ins>",
            "xy",
            [
                {"type": "underline", "offset": 0, "length": 1},
                {"type": "underline", "offset": 1, "length": 1},
            ],
        ),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [{"type": "strikethrough", "offset": i, "length": 1} for i in range(3)],
        ),
        ("<code>x</code>", "x", [{"type": "code", "offset": 0, "length": 1}]),
        (
            '<pre><code class="language-py">x = 1</code></pre>',
            "x = 1",
            [{"type": "pre", "offset": 0, "length": 5, "language": "py"}],
        ),
        (
            '<a href="https://example.org/?a=1&amp;b=2">site</a>',
            "site",
            [
                {
                    "type": "text_link",
                    "offset": 0,
                    "length": 4,
                    "url": "https://example.org/?a=1&b=2",
                }
            ],
        ),
        ("<tg-spoiler>s</tg-spoiler>", "s", [{"type": "spoiler", "offset": 0, "length": 1}]),
        ("<blockquote>q</blockquote>", "q", [{"type": "blockquote", "offset": 0, "length": 1}]),
        ("&lt;b&gt; &amp; &quot; &#39; &unknown;", "<b> & \" ' &unknown;", []),
        # Offsets count UTF-16 code units: the emoji takes two.
        ("😀 <b>居民</b>", "😀 居民", [bold(3, 2)]),
        ("  <b> padded </b> \n", "padded", [bold(0, 6)]),
    ],
)
def test_html(source, text, entities):
    assert parse_formatted(source, "HTML") == (text, entities)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("居<p>", 'Unsupported start tag "p" at byte offset 3'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_broken_html(source, reason):
    with pytest.raises(ApiError) as raised:
        parse_formatted(source, "HTML")
    assert raised.value.description == f"Bad Request: can't parse entities: {reason}"


def test_markdown_v2():
    text, entities = parse_formatted(
        "*b* _i_ __u__ ~s~ ||p|| `c` [l](https://x.org/\\)) 1\\.5", "MarkdownV2"
    )
    assert text == "b i u s p c l 1.5"
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert entities[-1]["url"] == "https://x.org/)"


def test_markdown_v2_code_block_and_quote():
    assert parse_formatted("```python\nprint(1)```", "MarkdownV2") == (
        "print(1)",
        [{"type": "pre", "offset": 0, "length": 8, "language": "python"}],
    )
    assert parse_formatted(">a\n>b\nc", "MarkdownV2") == (
        "a\nb\nc",
        [{"type": "blockquote", "offset": 0, "length": 3}],
    )


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("Hi!", "Character '!' is reserved and must be escaped with the preceding '\\'"),
        ("*open", "Can't find end of Bold entity at byte offset 0"),
        ("a `b", "Can't find end of Code entity at byte offset 2"),
    ],
)
def test_broken_markdown_v2(source, reason):
    with pytest.raises(ApiError) as raised:
        parse_formatted(source, "MarkdownV2")
    assert raised.value.description == f"Bad Request: can't parse entities: {reason}"


def test_legacy_markdown():
    assert parse_formatted("*b* _i_ [t](https://u.org) 1.5!", "Markdown") == (
        "b i t 1.5!",
        [
            bold(0, 1),
            {"type": "italic", "offset": 2, "length": 1},
            {"type": "text_link", "offset": 4, "length": 1, "url": "https://u.org"},
        ],
    )
    with pytest.raises(ApiError, match="Can't find end of the entity starting at byte offset 0"):
        parse_formatted("*open", "Markdown")


def test_explicit_entities_are_kept_and_clipped():
    entities = [bold(0, 2), {"type": "italic", "offset": 1, "length": 50}]
    assert parse_formatted("abc", None, entities) == (
        "abc",
        [bold(0, 2), {"type": "italic", "offset": 1, "length": 2}],
    )


def test_unknown_parse_mode():
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        parse_formatted("x", "BBCode")
