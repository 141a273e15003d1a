"""Chinese word segmentation over the FAQ's own words, not jieba's whole dictionary.

jieba's dictionary holds 349,000 words; loaded, with their prefixes, it takes
about 60 MiB and a second. Only words that occur in the FAQ can make a match,
so the FAQ's tokenizer knows just those: the dictionary's words found in the
entries' text, with jieba's frequencies and its total. The entries are
therefore cut exactly as with the whole dictionary (jieba only ever looks up
pieces of the text it cuts), and a question is cut with the words that could
match it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _without_pkg_resources():
    """jieba and zhconv import pkg_resources (5.5 MiB, deprecated) only to open their own
    data files, and open them directly when it is missing."""
    if "pkg_resources" in sys.modules:
        yield
        return
    sys.modules["pkg_resources"] = None  # makes ``import pkg_resources`` fail
    try:
        yield
    finally:
        del sys.modules["pkg_resources"]


with _without_pkg_resources():
    import jieba
    from zhconv import zhconv

DICTIONARY = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
SHORT = 4  # 98 % of the dictionary's words are this long or shorter


def _simplified_characters() -> dict[int, int]:
    """zhconv's traditional characters and their simplified ones, as a ``str.translate``
    table. zhconv's converter loads the tables of every Chinese variant (6 MiB) to also
    convert phrases whose characters convert otherwise; text is simplified here only to
    be matched, and the same way on both sides, so characters are enough: only the
    traditional-to-simplified table is read from zhconv's file."""
    text = (Path(zhconv.__file__).parent / zhconv.DICTIONARY).read_text(encoding="utf-8")
    table, _ = json.JSONDecoder().raw_decode(text, text.index("{", text.index('"zh2Hans"')))
    pairs = [(old, new) for old, new in table.items() if len(old) == len(new) == 1]
    return str.maketrans("".join(old for old, _ in pairs), "".join(new for _, new in pairs))


SIMPLIFIED = _simplified_characters()


def simplified(text: str) -> str:
    """``text`` in simplified characters."""
    return text.translate(SIMPLIFIED)


class FaqTokenizer(jieba.Tokenizer):
    """A jieba tokenizer given its word list instead of loading a dictionary file."""

    def __init__(self, frequencies: dict[str, int], total: int) -> None:
        super().__init__()
        # What jieba.Tokenizer.initialize sets: words and their prefixes (frequency 0), the total.
        self.FREQ, self.total, self.initialized = prefix_dictionary(frequencies), total, True


def prefix_dictionary(frequencies: dict[str, int]) -> dict[str, int]:
    """Words and every prefix of them, as jieba's ``gen_pfdict`` builds it."""
    prefixes: dict[str, int] = {}
    for word, frequency in frequencies.items():
        prefixes[word] = frequency
        for end in range(1, len(word)):
            prefixes.setdefault(word[:end], 0)
    return prefixes


def tokenizer_for(texts: Iterable[str]) -> FaqTokenizer:
    """A tokenizer that knows the dictionary's words occurring in ``texts``."""
    corpus = "\n".join(texts)
    pieces = {corpus[i : i + n] for n in range(1, SHORT + 1) for i in range(len(corpus) - n + 1)}
    frequencies, total = {}, 0
    with open(DICTIONARY, encoding="utf-8") as dictionary:
        for line in dictionary:
            word, frequency = line.split(" ", 2)[:2]
            total += int(frequency)
            if word[:SHORT] in pieces and (len(word) <= SHORT or word in corpus):
                frequencies[word] = int(frequency)
    return FaqTokenizer(frequencies, total)
