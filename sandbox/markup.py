"""Formatted text: turning a ``parse_mode`` text into plain text plus message entities.

Telegram measures entity offsets and lengths in UTF-16 code units and reports parse errors
at UTF-8 byte offsets of the original text; both are mirrored here, as are the error texts,
so a bot that writes broken HTML or unescaped MarkdownV2 fails here the way it would fail
against Telegram. Leading and trailing whitespace is trimmed from the result, as Telegram does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request

Entity = dict[str, Any]


def utf16_len(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse_formatted(
    text: str, parse_mode: str | None, entities: Any = None
) -> tuple[str, list[Entity]]:
    """Plain text and entities for ``text`` under ``parse_mode`` (or explicit ``entities``).

    Raises :class:`ApiError` with Telegram's "can't parse entities" description when the
    markup is broken or the parse mode is unknown.
    """
    mode = (parse_mode or "").strip().lower()
    if mode == "html":
        return _HtmlParser(text).parse()
    if mode == "markdownv2":
        return _MarkdownV2Parser(text).parse()
    if mode == "markdown":
        return _MarkdownParser(text).parse()
    if mode:
        raise bad_request(f'unsupported parse_mode "{parse_mode}"')
    return _trim(text, _explicit_entities(entities, text))


def _explicit_entities(entities: Any, text: str) -> list[Entity]:
    """Validate entities given by the caller; out-of-range ones are clipped as Telegram does."""
    if not entities:
        return []
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    size = utf16_len(text)
    result = []
    for entity in entities:
        if not isinstance(entity, dict) or not isinstance(entity.get("type"), str):
            raise bad_request("can't parse MessageEntity JSON object")
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise bad_request("can't parse MessageEntity JSON object")
        end = min(offset + length, size)
        if offset >= 0 and end > offset:
            result.append({**entity, "offset": offset, "length": end - offset})
    return result


def _trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip surrounding whitespace and move the entities along with the text."""
    body = text.strip()
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(body)
    trimmed = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, size)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    trimmed.sort(key=lambda e: (e["offset"], -e["length"]))
    return body, trimmed


def _parse_error(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


@dataclass
class _Open:
    """An entity whose start has been read and whose end has not."""

    marker: str
    offset: int
    source_index: int
    extra: dict[str, Any] = field(default_factory=dict)


class _Builder:
    """Accumulates output text, tracking its UTF-16 length for entity offsets."""

    def __init__(self, source: str):
        self.source = source
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[Entity] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.offset += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.offset > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.offset - start, **extra}
            )

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8"))

    def result(self) -> tuple[str, list[Entity]]:
        return _trim("".join(self.parts), self.entities)


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


class _HtmlParser:
    """Telegram's HTML subset: only the tags in ``_HTML_TAGS`` and four named entities."""

    def __init__(self, source: str):
        self.src = source
        self.out = _Builder(source)
        self.stack: list[_Open] = []

    def parse(self) -> tuple[str, list[Entity]]:
        i, src = 0, self.src
        while i < len(src):
            if src[i] == "<":
                i = self._end_tag(i) if src.startswith("</", i) else self._start_tag(i)
            elif src[i] == "&":
                i = self._char_reference(i)
            else:
                nxt = _next_special(src, i, "<&")
                self.out.add(src[i:nxt])
                i = nxt
        if self.stack:
            name = self.stack[-1].marker
            raise _parse_error(f'Can\'t find end tag corresponding to start tag "{name}"')
        return self.out.result()

    def _read_name(self, i: int) -> int:
        while i < len(self.src) and self.src[i] in _NAME_CHARS:
            i += 1
        return i

    def _start_tag(self, begin: int) -> int:
        src, at = self.src, self.out.byte_offset(begin)
        name_end = self._read_name(begin + 1)
        name = src[begin + 1 : name_end].lower()
        if name not in _HTML_TAGS:
            raise _parse_error(f'Unsupported start tag "{name}" at byte offset {at}')
        attrs, i = self._attributes(name_end, at)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        self.stack.append(_Open(name, self.out.offset, begin, attrs))
        return i

    def _attributes(self, i: int, at: int) -> tuple[dict[str, str], int]:
        src, attrs = self.src, {}
        while True:
            while i < len(src) and src[i].isspace():
                i += 1
            if i >= len(src):
                raise _parse_error(f"Unclosed start tag at byte offset {at}")
            if src[i] == ">":
                return attrs, i + 1
            name_end = self._read_name(i)
            if name_end == i:
                raise _parse_error(f"Unclosed start tag at byte offset {at}")
            name, i = src[i:name_end].lower(), name_end
            value = ""
            if i < len(src) and src[i] == "=":
                i += 1
                if i < len(src) and src[i] in "\"'":
                    close = src.find(src[i], i + 1)
                    if close < 0:
                        raise _parse_error(f"Unclosed start tag at byte offset {at}")
                    value, i = _decode_entities(src[i + 1 : close]), close + 1
                else:
                    end = i
                    while end < len(src) and not src[end].isspace() and src[end] != ">":
                        end += 1
                    value, i = _decode_entities(src[i:end]), end
            attrs[name] = value

    def _end_tag(self, begin: int) -> int:
        src, at = self.src, self.out.byte_offset(begin)
        name_end = self._read_name(begin + 2)
        name = src[begin + 2 : name_end].lower()
        close = src.find(">", name_end)
        if close < 0 or src[name_end:close].strip():
            raise _parse_error(f"Unclosed end tag at byte offset {at}")
        if not self.stack:
            raise _parse_error(f"Unexpected end tag at byte offset {at}")
        top = self.stack[-1]
        if top.marker != name:
            raise _parse_error(
                f'Unmatched end tag at byte offset {at}, expected "</{top.marker}>", '
                f'found "</{name}>"'
            )
        self.stack.pop()
        self._emit(top)
        return close + 1

    def _emit(self, tag: _Open) -> None:
        kind, attrs, out = _HTML_TAGS[tag.marker], tag.extra, self.out
        if kind == "text_link":
            if attrs.get("href"):
                out.entity(kind, tag.offset, url=attrs["href"])
        elif kind == "code" and self.stack and self.stack[-1].marker == "pre":
            # <pre><code class="language-x"> is how a code block names its language.
            language = attrs.get("class", "").removeprefix("language-")
            if attrs.get("class", "").startswith("language-") and language:
                self.stack[-1].extra["language"] = language
            else:
                out.entity(kind, tag.offset)
        elif kind == "pre":
            language = attrs.get("language")
            out.entity(kind, tag.offset, **({"language": language} if language else {}))
        elif kind == "blockquote":
            expandable = "expandable" in attrs
            out.entity("expandable_blockquote" if expandable else kind, tag.offset)
        elif kind == "custom_emoji":
            out.entity(kind, tag.offset, custom_emoji_id=attrs.get("emoji-id", ""))
        else:
            out.entity(kind, tag.offset)

    def _char_reference(self, i: int) -> int:
        end = self.src.find(";", i + 1, i + 12)
        decoded = _decode_reference(self.src[i + 1 : end]) if end > 0 else None
        if decoded is None:
            self.out.add("&")
            return i + 1
        self.out.add(decoded)
        return end + 1


def _decode_reference(name: str) -> str | None:
    """The character for ``&name;``, or None when Telegram would keep the text as it is."""
    if name in _HTML_ENTITIES:
        return _HTML_ENTITIES[name]
    try:
        if name.startswith(("#x", "#X")):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
    except (ValueError, OverflowError):
        return None
    return None


def _decode_entities(text: str) -> str:
    parts, i = [], 0
    while i < len(text):
        end = text.find(";", i + 1, i + 12) if text[i] == "&" else -1
        decoded = _decode_reference(text[i + 1 : end]) if end > 0 else None
        if decoded is None:
            parts.append(text[i])
            i += 1
        else:
            parts.append(decoded)
            i = end + 1
    return "".join(parts)


def _next_special(text: str, start: int, specials: str) -> int:
    """Index of the first character from ``specials`` at or after ``start`` (or the end)."""
    positions = [p for p in (text.find(c, start) for c in specials) if p >= 0]
    return min(positions, default=len(text))


_MARKDOWN_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MARKDOWN_V2_KINDS = {
    "*": ("bold", "Bold"),
    "_": ("italic", "Italic"),
    "__": ("underline", "Underline"),
    "~": ("strikethrough", "Strikethrough"),
    "||": ("spoiler", "Spoiler"),
    "[": ("text_link", "TextUrl"),
    "![": ("custom_emoji", "CustomEmoji"),
    "`": ("code", "Code"),
    "```": ("pre", "Pre"),
    ">": ("blockquote", "Blockquote"),
}


class _MarkdownV2Parser:
    """MarkdownV2, including its rule that every reserved character must be escaped."""

    def __init__(self, source: str):
        self.src = source
        self.out = _Builder(source)
        self.stack: list[_Open] = []

    def parse(self) -> tuple[str, list[Entity]]:
        i, src = 0, self.src
        while i < len(src):
            c = src[i]
            top = self.stack[-1].marker if self.stack else None
            if c == "\\" and i + 1 < len(src) and 0 < ord(src[i + 1]) <= 126:
                self.out.add(src[i + 1])
                i += 2
            elif top in ("`", "```"):
                i = self._inside_code(i, top)
            elif c == ">" and (i == 0 or src[i - 1] == "\n") and top in (None, ">"):
                if top is None:
                    self._open(">", i)
                i += 1
            elif c == "\n" and top == ">" and not src.startswith(">", i + 1):
                self._close()
                self.out.add(c)
                i += 1
            else:
                i = self._closing(i, top)
        if self.stack and self.stack[-1].marker == ">":
            self._close()
        if self.stack:
            unclosed = self.stack[-1]
            name = _MARKDOWN_V2_KINDS[unclosed.marker][1]
            at = self.out.byte_offset(unclosed.source_index)
            raise _parse_error(f"Can't find end of {name} entity at byte offset {at}")
        return self.out.result()

    def _open(self, marker: str, index: int, **extra: Any) -> None:
        self.stack.append(_Open(marker, self.out.offset, index, extra))

    def _close(self) -> None:
        opened = self.stack.pop()
        self.out.entity(_MARKDOWN_V2_KINDS[opened.marker][0], opened.offset, **opened.extra)

    def _inside_code(self, i: int, top: str) -> int:
        if self.src.startswith(top, i):
            self._close()
            return i + len(top)
        self.out.add(self.src[i])
        return i + 1

    def _closing(self, i: int, top: str | None) -> int:
        src = self.src
        closes = {
            "*": src[i] == "*",
            "~": src[i] == "~",
            "||": src.startswith("||", i),
            "__": src.startswith("__", i),
            # "___" ends an italic inside an underline: the first "_" closes the italic.
            "_": src[i] == "_" and (not src.startswith("__", i) or self._below_top() == "__"),
        }
        if top in closes and closes[top]:
            self._close()
            return i + len(top)
        if top in ("[", "![") and src[i] == "]":
            return self._link_end(i)
        return self._opening(i)

    def _below_top(self) -> str | None:
        return self.stack[-2].marker if len(self.stack) > 1 else None

    def _opening(self, i: int) -> int:
        src = self.src
        for marker in ("```", "`", "||", "__", "_", "*", "~", "![", "["):
            if src.startswith(marker, i):
                if marker == "```":
                    return self._code_block_start(i)
                self._open(marker, i)
                return i + len(marker)
        if src[i] in _MARKDOWN_V2_RESERVED:
            raise _parse_error(
                f"Character '{src[i]}' is reserved and must be escaped with the preceding '\\'"
            )
        nxt = i + 1
        while nxt < len(src) and src[nxt] not in _MARKDOWN_V2_RESERVED and src[nxt] not in "\\\n":
            nxt += 1
        self.out.add(src[i:nxt])
        return nxt

    def _code_block_start(self, i: int) -> int:
        body = i + 3
        newline = self.src.find("\n", body)
        first_line = self.src[body:newline] if newline >= 0 else None
        extra = {}
        if first_line is not None and not any(ch.isspace() for ch in first_line):
            if first_line:
                extra["language"] = first_line
            body = newline + 1
        self._open("```", i, **extra)
        return body

    def _link_end(self, i: int) -> int:
        """Read the ``(url)`` after a link's ``]`` and emit the link."""
        src, opened = self.src, self.stack.pop()
        if not src.startswith("(", i + 1):
            return i + 1
        url, j = [], i + 2
        while j < len(src) and src[j] != ")":
            if src[j] == "\\" and j + 1 < len(src):
                j += 1
            url.append(src[j])
            j += 1
        if j >= len(src):
            at = self.out.byte_offset(i + 1)
            raise _parse_error(f"Can't find end of a URL at byte offset {at}")
        target = "".join(url)
        if opened.marker == "![":
            emoji_id = target.partition("id=")[2]
            self.out.entity("custom_emoji", opened.offset, custom_emoji_id=emoji_id)
        else:
            self.out.entity("text_link", opened.offset, url=target)
        return j + 1


class _MarkdownParser:
    """The legacy Markdown mode: bold, italic, code, pre and links, with no nesting."""

    _SIMPLE = {"*": "bold", "_": "italic", "`": "code"}

    def __init__(self, source: str):
        self.src = source
        self.out = _Builder(source)

    def parse(self) -> tuple[str, list[Entity]]:
        i, src = 0, self.src
        while i < len(src):
            c = src[i]
            if c == "\\" and i + 1 < len(src) and src[i + 1] in "_*`[":
                self.out.add(src[i + 1])
                i += 2
            elif src.startswith("```", i):
                i = self._code_block(i)
            elif c in self._SIMPLE:
                end = self._find_end(c, i + 1, i)
                start = self.out.offset
                self.out.add(src[i + 1 : end])
                self.out.entity(self._SIMPLE[c], start)
                i = end + 1
            elif c == "[":
                i = self._link(i)
            else:
                nxt = _next_special(src, i + 1, "\\*_`[")
                self.out.add(src[i:nxt])
                i = nxt
        return self.out.result()

    def _find_end(self, marker: str, start: int, opened_at: int) -> int:
        end = self.src.find(marker, start)
        if end < 0:
            at = self.out.byte_offset(opened_at)
            raise _parse_error(f"Can't find end of the entity starting at byte offset {at}")
        return end

    def _code_block(self, i: int) -> int:
        end = self._find_end("```", i + 3, i)
        body = self.src[i + 3 : end]
        first_line, newline, rest = body.partition("\n")
        extra = {}
        if newline and first_line and not any(ch.isspace() for ch in first_line):
            extra["language"], body = first_line, rest
        start = self.out.offset
        self.out.add(body)
        self.out.entity("pre", start, **extra)
        return end + 3

    def _link(self, i: int) -> int:
        close = self._find_end("]", i + 1, i)
        if not self.src.startswith("(", close + 1):
            self.out.add(self.src[i : close + 1])
            return close + 1
        url_end = self._find_end(")", close + 2, i)
        start = self.out.offset
        self.out.add(self.src[i + 1 : close])
        self.out.entity("text_link", start, url=self.src[close + 2 : url_end])
        return url_end + 1
