"""The FAQ: entries for the city or a community, matched against residents' own words.

Text is normalised before matching: traditional characters become simplified
(zhconv), full-width letters and punctuation half-width (NFKC), and words of
the small synonym list their usual form (升降机 -> 电梯). Chinese is segmented
with jieba over the FAQ's own words (``words``), English split into words;
entries are ranked with BM25 (``bm25``) over their questions, tags and answers.
An entry is offered only when it covers enough of what the question asks
(``MIN_COVERAGE``): a question about something the FAQ does not speak of goes
to staff instead of getting an unrelated answer.
The index is built once per process and rebuilt when the entries change.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.flows.audit import Actor, record
from bot.flows.bm25 import Bm25
from bot.flows.importing import ImportResult
from bot.flows.tables import TableError, read_rows
from bot.flows.words import FaqTokenizer, simplified, tokenizer_for
from storage.models import Community, FaqEntry

STARTER_FAQ = Path(__file__).parent.parent / "data" / "faq.yaml"
SYNONYMS = {
    "升降机": "电梯",
    "升降梯": "电梯",
    "直梯": "电梯",
    "维修基金": "维修资金",
    "大修基金": "维修资金",
    "物业公司": "物业",
    "物管": "物业",
    "房顶": "屋面",
    "屋顶": "屋面",
    "渗漏": "漏水",
    "怎么样": "怎样",
    "没到": "没有达到",
    "没达到": "没有达到",
    "弃权": "不答复",  # abstaining is not answering
    "lift": "elevator",
    "flat": "apartment",
}
SYNONYM_PATTERN = re.compile("|".join(sorted(map(re.escape, SYNONYMS), key=len, reverse=True)))
WORD = re.compile(r"[\w]+")
MIN_SCORE = 1.0  # below it a "match" shares only a common word or two
# An entry is offered only when it holds this share of what the question weighs (BM25's
# idf of its words, ``Bm25.coverage``); else the question goes to staff. Chosen on the
# labelled questions of tests/data/faq_questions.yaml: docs/faq-quality.md.
MIN_COVERAGE = 0.4
HAN = re.compile(r"[\u4e00-\u9fff]+")
STOPWORD_TEXT = (
    "的 了 吗 呢 啊 吧 是 我 我们 你 您 在 有 和 与 就 都 也 要 怎么 什么 如何 请问 "
    "怎么办 么办 怎样 哪里 时候 可以 能 还 意思 一下 "
    "the a an is are do does how what i my to of can where who when will in for it by "
    "there you me be have after before"
)
STOPWORDS = frozenset(STOPWORD_TEXT.split())
HEADERS = {
    "question_zh": ("question_zh", "问题", "question"),
    "answer_zh": ("answer_zh", "回答", "答案", "answer"),
    "question_en": ("question_en", "english question"),
    "answer_en": ("answer_en", "english answer"),
    "tags": ("tags", "标签"),
    "community": ("community", "小区"),
}
EXPORT_COLUMNS = ["question_zh", "answer_zh", "question_en", "answer_en", "tags", "community"]


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = simplified(text)
    return SYNONYM_PATTERN.sub(lambda m: SYNONYMS[m.group(0)], text)


def meaningful_words(text: str, tokenizer: FaqTokenizer) -> list[str]:
    """The words of a text that matter: jieba's search segmentation without stop words.
    ``text`` is normalised already."""
    return [w for w in tokenizer.lcut_for_search(text) if WORD.fullmatch(w) and w not in STOPWORDS]


def with_pairs(kept: list[str]) -> list[str]:
    """The words and the pairs of Chinese characters of longer words, so that a word
    jieba cut differently still counts a little."""
    pairs = [
        w[i : i + 2] for w in kept if len(w) > 2 and HAN.fullmatch(w) for i in range(len(w) - 1)
    ]
    return kept + [p for p in pairs if p not in kept]


def tokens(text: str, tokenizer: FaqTokenizer) -> list[str]:
    """Words of a text for matching, with the pairs; ``text`` is normalised already."""
    return with_pairs(meaningful_words(text, tokenizer))


@dataclass(frozen=True)
class Match:
    entry_id: int
    question: str
    score: float


@dataclass(frozen=True)
class Built:
    """An index's entries, the tokenizer over their words and BM25 over their tokens."""

    entries: list[FaqEntry]
    tokenizer: FaqTokenizer
    bm25: Bm25 | None


def build(entries: list[FaqEntry]) -> Built:
    texts = [
        normalise(
            " ".join([e.question_zh, e.question_en, " ".join(e.tags), e.answer_zh, e.answer_en])
        )
        for e in entries
    ]
    tokenizer = tokenizer_for(texts)
    corpus = [tokens(text, tokenizer) or ["∅"] for text in texts]
    return Built(entries, tokenizer, Bm25(corpus) if corpus else None)


# Whether the entries changed since the index was built; asked before every search.
STAMP = select_columns(func.count(), func.max(FaqEntry.id))


class Index:
    """BM25 over a set of entries; rebuilt when the entries' count or newest id changes."""

    def __init__(self) -> None:
        self._stamp: tuple[int, int | None] | None = None
        self._built: Built | None = None

    async def refresh(self, session: AsyncSession) -> None:
        connection = await session.connection()
        stamp = tuple((await connection.execute(STAMP)).one())
        if stamp == self._stamp:
            return
        entries = list(await session.exec(select(FaqEntry).order_by(FaqEntry.id)))
        # In a thread, so that the bot goes on answering meanwhile (a second or so).
        self._built, self._stamp = await asyncio.to_thread(build, entries), stamp

    def search(self, text: str, community_id: int | None, language: str, limit: int = 3):
        """The best matches for ``text`` among city-wide entries and the community's own,
        each covering enough of the question."""
        built = self._built
        if built is None or built.bm25 is None:
            return []
        asked = meaningful_words(normalise(text), built.tokenizer)
        if not asked:
            return []
        bm25 = built.bm25
        ranked = sorted(
            (
                (score, number)
                for number, score in enumerate(bm25.scores(with_pairs(asked)))
                if score >= MIN_SCORE and built.entries[number].community_id in (None, community_id)
            ),
            key=lambda pair: -pair[0],
        )
        return [
            Match(built.entries[number].id, question_of(built.entries[number], language), score)
            for score, number in ranked[:limit]
            # Without the pairs, which would weigh an unknown word three times.
            if bm25.coverage(asked, number) >= MIN_COVERAGE
        ]


INDEX = Index()


def question_of(entry: FaqEntry, language: str) -> str:
    return entry.question_en if language == "en" and entry.question_en else entry.question_zh


def answer_of(entry: FaqEntry, language: str) -> str:
    return entry.answer_en if language == "en" and entry.answer_en else entry.answer_zh


def confident(matches: list[Match]) -> bool:
    """Whether the best match is clearly the answer, not one of several candidates."""
    if not matches:
        return False
    if len(matches) == 1:
        return matches[0].score >= 1.0
    return matches[0].score >= 1.0 and matches[0].score >= 1.5 * matches[1].score


async def search(
    session: AsyncSession, text: str, community_id: int | None, language: str
) -> list[Match]:
    await INDEX.refresh(session)
    return INDEX.search(text, community_id, language)


# Import and export


def _rows(path: Path) -> list[tuple[int | None, dict]]:
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # the FAQ file's format, read and written from the shell only

        try:
            items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise TableError(
                path, None, None, "not a readable YAML file: {error}", error=error
            ) from None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise TableError(path, None, None, "expected a list of entries")
        return [(None, item) for item in items]
    rows = read_rows(path, HEADERS, {"question_zh", "answer_zh"})
    return [(row.line, row.values) for row in rows]


async def load(session: AsyncSession, path: Path, actor: Actor) -> ImportResult:
    """Add the file's entries; an entry already there (same question, same scope) is kept."""
    names = dict((await session.exec(select(Community.name, Community.id))).all())
    existing = {(e.question_zh, e.community_id) for e in await session.exec(select(FaqEntry))}
    entries = []
    for line, values in _rows(path):
        question = str(values.get("question_zh") or "").strip()
        answer = str(values.get("answer_zh") or "").strip()
        if not question or not answer:
            raise TableError(path, line, "question_zh", "a question and its answer are needed")
        community = str(values.get("community") or "").strip()
        if community and community not in names:
            raise TableError(path, line, "community", "no community named {name!r}", name=community)
        tags = values.get("tags") or []
        if isinstance(tags, str):
            tags = [t.strip() for t in re.split(r"[,，;；]", tags) if t.strip()]
        entries.append(
            FaqEntry(
                community_id=names.get(community),
                question_zh=question[:500],
                answer_zh=answer,
                question_en=str(values.get("question_en") or "").strip()[:500],
                answer_en=str(values.get("answer_en") or "").strip(),
                tags=[str(t) for t in tags],
            )
        )
    created = [e for e in entries if (e.question_zh, e.community_id) not in existing]
    session.add_all(created)
    record(session, actor, "faq/import", path.name, created=len(created))
    await session.flush()
    return ImportResult(len(created), 0, len(entries) - len(created))


async def ensure_starter(session: AsyncSession) -> None:
    """The shipped FAQ about the programme, loaded into a database that has no entries yet."""
    if (await session.exec(select(func.count()).select_from(FaqEntry))).one() == 0:
        await load(session, STARTER_FAQ, Actor(via="starter"))


async def export_rows(session: AsyncSession, community_id: int | None = None) -> list[dict]:
    statement = select(FaqEntry, Community.name).outerjoin(
        Community, col(Community.id) == FaqEntry.community_id
    )
    if community_id is not None:
        statement = statement.where(
            or_(col(FaqEntry.community_id).is_(None), FaqEntry.community_id == community_id)
        )
    return [
        {
            "question_zh": entry.question_zh,
            "answer_zh": entry.answer_zh,
            "question_en": entry.question_en,
            "answer_en": entry.answer_en,
            "tags": entry.tags,
            "community": name or "",
        }
        for entry, name in await session.exec(statement.order_by(FaqEntry.id))
    ]


def write_yaml(path: Path, rows: list[dict]) -> None:
    import yaml

    path.write_text(yaml.safe_dump(rows, allow_unicode=True, sort_keys=False), encoding="utf-8")
