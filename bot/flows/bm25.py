"""Okapi BM25 over an inverted index, in plain Python.

It scores as rank-bm25's ``BM25Okapi`` does (k1 1.5, b 0.75, the idf of a
word in more than half of the entries floored at 0.25 of the mean idf), but
a question costs only the entries that share its words, and it needs no
numpy, which would add 12 MiB to every bot process.
"""

from __future__ import annotations

import math
from collections import Counter


class Bm25:
    def __init__(
        self, corpus: list[list[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25
    ) -> None:
        self.size, self.k1 = len(corpus), k1
        lengths = [len(document) for document in corpus]
        average = sum(lengths) / self.size
        self.postings: dict[str, dict[int, int]] = {}
        for number, document in enumerate(corpus):
            for word, count in Counter(document).items():
                self.postings.setdefault(word, {})[number] = count
        idf = {
            word: math.log(self.size - len(found) + 0.5) - math.log(len(found) + 0.5)
            for word, found in self.postings.items()
        }
        floor = epsilon * sum(idf.values()) / len(idf)
        self.idf = {word: value if value >= 0 else floor for word, value in idf.items()}
        self.norms = [k1 * (1 - b + b * length / average) for length in lengths]
        # What a word no entry has weighs: more than the rarest word, for it is rarer still.
        self.unknown_idf = math.log(self.size + 0.5) - math.log(0.5)

    def scores(self, query: list[str]) -> list[float]:
        """Each document's score for ``query``, in the corpus's order."""
        scores = [0.0] * self.size
        for word in query:
            idf = self.idf.get(word, 0)
            for number, count in self.postings.get(word, {}).items() if idf else ():
                scores[number] += idf * (count * (self.k1 + 1) / (count + self.norms[number]))
        return scores

    def coverage(self, query: list[str], number: int) -> float:
        """The share of the query's weight (the idf of its words) that document ``number``
        contains: near 1 when the document speaks of all the query speaks of, low when
        the query is mostly about words the document, or every document, lacks."""
        weights = [(self.idf.get(word, self.unknown_idf), word) for word in query]
        total = sum(weight for weight, _ in weights)
        found = sum(weight for weight, word in weights if number in self.postings.get(word, ()))
        return found / total if total else 0.0
