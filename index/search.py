"""Hybrid retrieval: dense (faiss) + keyword (FTS5 BM25) -> reciprocal rank fusion -> passages."""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from index.articles import display_date, published_day
from index.backends import Backend, Where
from index.backends import Reader as Snapshot
from index.backends.files import FilesBackend
from index.embed import Embedder, Remembering
from index.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, QuestionError
from index.rerank import MODEL, RerankModel, idf
from index.rerank import features as rerank_features
from index.sentence_vectors import Stored, open_store, store_path
from index.store import ArticleRecord, ChunkRecord

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: text == the article's text[start:end]."""

    chunk_id: int
    article_id: str
    title: str
    source: str
    url: str
    published: str
    text: str
    start: int
    end: int
    score: float
    similarity: float
    dense_rank: int | None
    keyword_rank: int | None


@dataclass(frozen=True)
class SearchSettings:
    """Fusion knobs, tuned on the MultiHop-RAG dev split."""

    dense_candidates: int = 100
    keyword_candidates: int = 100
    rrf_k: int = 60
    dense_weight: float = 1.0
    # News questions name people, companies and outlets: exact words beat meaning here
    # (dev MRR@10 0.61 at weight 1.5, 0.63 at 2.5, 0.65 at 4).
    keyword_weight: float = 4.0
    # Added to the fused score of chunks whose article's outlet / publication date the question
    # names ("as reported by The Verge", "published on October 5, 2023"); in fused-score units,
    # where one list's best rank is worth weight / (rrf_k + 1).
    source_boost: float = 0.1
    date_boost: float = 0.03
    # Also search the chunks of the outlets, and of the days, a question names on their own
    # (the backend's filter: SQL in the files backend, a filter expression in Milvus), so that
    # their best chunks are candidates even when the whole index's best are all elsewhere; a
    # chunk then counts with its better rank of the two searches. MultiHop-RAG dev: MAP@10
    # .3461 -> .3473, Hits@10 .9436 -> .9450, ranking p95 22 -> 44 ms. It is for large
    # indexes, where the top 100 of millions of chunks can hold none of the named outlet's.
    named_searches: bool = True
    # At most this many passages of one article before any article gets another (0: no limit),
    # because questions about several reports need evidence from several articles.
    per_article: int = 0
    # Search separately for up to this many parts of a multi-part question (0: off) and
    # interleave the lists: "Does The Verge say X, while TechCrunch says Y?" needs X's chunks
    # and Y's chunks in the top ranks, not only the chunks that best match the whole.
    parts: int = 3
    # The whole question's first this many passages lead, then the lists take turns.
    part_lead: int = 1
    # Reorder this many of the first passages of a multi-part question by the reranker
    # (index/rerank.py; 0: off), which weighs their sentences' vectors (stored by the build,
    # index/sentence_vectors.py); see benchmarks/README.md.
    rerank_depth: int = 15


# ---------------------------------------------------------------------------------------------
# What a question says about where and when: outlets and dates

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\.?\s+{_DAY},?\s+(\d{{4}})\b", re.I)
_DAY_MONTH_YEAR = re.compile(rf"\b{_DAY}\s+({_MONTH})\.?,?\s+(\d{{4}})\b", re.I)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:\b|T\d)")  # "2023-10-20T21:02:00"


def mentioned_dates(question: str) -> frozenset[str]:
    """ISO dates (YYYY-MM-DD) written in the question, e.g. "October 5, 2023"."""
    found: set[tuple[int, int, int]] = set()
    for month, day, year in _MONTH_DAY_YEAR.findall(question):
        found.add((int(year), _MONTHS[month.lower()], int(day)))
    for day, month, year in _DAY_MONTH_YEAR.findall(question):
        found.add((int(year), _MONTHS[month.lower()], int(day)))
    for year, month, day in _ISO_DATE.findall(question):
        found.add((int(year), int(month), int(day)))
    return frozenset(
        f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in found if 1 <= m <= 12 and 1 <= d <= 31
    )


class OutletMatcher:
    """Finds the indexed outlets a question names.

    An outlet matches by its full name ("The Independent - Sports") or, failing that, its short
    name before " | ", " - " or ":" ("The Roar"), written as the outlet writes it or in capitals
    ("CNBC"), on word boundaries; so "rivals" in a question is not the outlet "Rivals".
    """

    def __init__(self, sources: Iterable[str]) -> None:
        names = sorted({s.strip() for s in sources if s.strip()}, key=len, reverse=True)
        self._names = [
            (name, re.split(r"\s+[|:-]\s+|:\s*", name, maxsplit=1)[0].strip()) for name in names
        ]
        self._full = [(name, self._pattern([name])) for name in names]
        self._short: list[tuple[str, re.Pattern[str]]] = []
        for name in names:
            short = re.split(r"\s+[|:-]\s+|:\s*", name, maxsplit=1)[0].strip()
            variants = {short, short.upper(), short.title()} if short != name else set()
            if len(short) >= 3 and variants:
                self._short.append((name, self._pattern(sorted(variants))))

    @staticmethod
    def _pattern(variants: list[str]) -> re.Pattern[str]:
        alternatives = "|".join(re.escape(v) for v in variants)
        # Not inside a word ("O'Time"), but an opening quote is no part of one ("'The Verge'").
        return re.compile(rf"(?<!\w)(?<!\w['’])(?:{alternatives})(?![\w])")

    def knows(self, name: str) -> bool:
        """Whether name is one of the outlets, the short name of one, or the start of one's
        full name ("The Independent - Life" of "The Independent - Life and Style"), ignoring
        case and a leading "The"."""
        name = name.strip().lower().removeprefix("the ")
        return len(name) >= 2 and any(
            full.lower().removeprefix("the ").startswith(name)
            or short.lower().removeprefix("the ") == name
            for full, short in self._names
        )

    def distinct(self, names: Iterable[str]) -> int:
        """How many different outlets names are: the sections of one outlet ("The Independent -
        Sports", "The Independent - Life and Style") count once."""
        shorts = dict(self._names)
        return len({shorts.get(name, name).lower() for name in names})

    def find(self, question: str) -> frozenset[str]:
        """The outlets named in question (every section of an outlet named by its short name)."""
        found: set[str] = set()
        for name, pattern in self._full:
            # Blank out what matched, so "The Independent - Sports" is not also "The Independent".
            question, hits = pattern.subn(" ", question)
            if hits:
                found.add(name)
        found.update(name for name, pattern in self._short if pattern.search(question))
        return frozenset(found)


def _newest(articles: Iterable[ArticleRecord]) -> str:
    """The newest real publication date (YYYY-MM-DD) among articles, none after today."""
    today = date.today().isoformat()
    days = set()
    for a in articles:
        day = published_day(a.published)
        if day is not None and day.isoformat() <= today:  # undated, or not a date: left out
            days.add(day.isoformat())
    return max(days, default="")


_CLAUSE_BREAK = re.compile(
    r"[;?]\s+|,\s+(?=(?:and|but|while|whereas|yet|which|who|as|after|before|also)\b)"
    r"|\s+(?=(?:while|whereas|compared (?:to|with)|in contrast to|but also|and also|aligns? with"
    r"|(?:is |are )?(?:similar|consistent|in line) (?:to|with)|differs? from)\b)",
    re.I,
)
MIN_CLAUSE_WORDS = 5


def question_clauses(question: str) -> list[str]:
    """The parts of a long question that ask about separate things, longest first.

    Pieces shorter than MIN_CLAUSE_WORDS words join the piece before them; a question that
    does not split into two or more pieces has no clauses.
    """
    pieces: list[str] = []
    for piece in _CLAUSE_BREAK.split(question):
        piece = piece.strip(" ,;?")
        if not piece:
            continue
        if pieces and len(piece.split()) < MIN_CLAUSE_WORDS:
            pieces[-1] = f"{pieces[-1]}, {piece}"
        else:
            pieces.append(piece)
    if len(pieces) < 2:
        return []
    return sorted(pieces, key=lambda p: -len(p.split()))


@dataclass(frozen=True)
class Hints:
    """Outlets and dates a question names."""

    sources: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Query:
    """A question read once (read_question): what retrieval and the answer layer both take."""

    text: str  # cleaned
    clauses: tuple[str, ...] = ()  # question_clauses(text): every clause, longest first
    parts: tuple[str, ...] = ()  # the clauses searched on their own, in question order
    sources: frozenset[str] = frozenset()  # the indexed outlets it names
    dates: frozenset[str] = frozenset()  # the days it names (YYYY-MM-DD)
    part_hints: tuple[Hints, ...] = ()  # each part's outlets and dates, for its own search

    @property
    def hints(self) -> Hints:
        """The outlets and days it names."""
        return Hints(self.sources, self.dates)


def read_question(text: str, outlets: OutletMatcher, parts: int = SearchSettings.parts) -> Query:
    """Read a cleaned question once.

    Args:
        text: the cleaned question.
        outlets: the indexed outlets, to find the ones it names.
        parts: search at most this many of its longest clauses on their own (0: none).
    """
    clauses = tuple(question_clauses(text))
    searched = tuple(sorted(clauses[:parts], key=text.find)) if parts else ()
    return Query(
        text=text,
        clauses=clauses,
        parts=searched,
        sources=outlets.find(text),
        dates=mentioned_dates(text),
        part_hints=tuple(Hints(outlets.find(p), mentioned_dates(p)) for p in searched),
    )


def clean_question(question: str) -> str:
    """The question with whitespace folded.

    Raises:
        QuestionError: empty, not UTF-8 text, or longer than MAX_QUESTION_CHARS.
    """
    return folded_text(
        question,
        "question",
        MAX_QUESTION_CHARS,
        empty="Please ask a question: the text was empty.",
        hint=" Please ask something shorter.",
    )


def folded_text(text: str, what: str, limit: int, *, empty: str, hint: str = "") -> str:
    """What a person typed (a question, a topic), whitespace folded, checked.

    Raises:
        QuestionError: empty (said as empty), not UTF-8 text, or longer than limit.
    """
    folded = " ".join((text or "").split())
    if not folded:
        raise QuestionError(empty)
    try:
        folded.encode("utf-8")
    except UnicodeEncodeError as exc:  # bytes a terminal or an argument could not decode
        raise QuestionError(
            f"The {what} holds bytes that are not UTF-8 text; please type it again."
        ) from exc
    if len(folded) > limit:
        raise QuestionError(
            f"{what.capitalize()}s are limited to {limit:,} characters; yours has "
            f"{len(folded):,}.{hint}"
        )
    return folded


class Retriever:
    """Ranks indexed passages for a question; picks up newly published indexes by itself.

    Safe to call from several threads: a rebuild publishes a new generation and the next
    search swaps to it, while searches under way finish on the one they started with.
    """

    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        settings: SearchSettings | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.embedder = embedder
        # Sentence vectors: the ones the build stored (index/sentence_vectors.py), the others
        # embedded and kept, for the reranker and then the answer layer, which embeds the same
        # sentences of the first passages right after.
        self._stored = Stored(embedder)
        self.sentences = Remembering(self._stored)
        self.settings = settings or SearchSettings()
        self.backend = backend or FilesBackend(data_dir)
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._bad: str | None = None  # a published generation that failed to open
        # (generation, (its outlets, its newest publication date))
        self._catalog_cache: tuple[str, tuple[OutletMatcher, str]] | None = None
        self._idf: tuple[str, dict[str, float]] = ("", {})  # (generation, word -> weight)
        _one_faiss_thread()

    def snapshot(self) -> Snapshot:
        """The published index, reopened when a build has published a newer one.

        Raises:
            IndexMissingError, IndexCorruptError, IndexMismatchError, IndexUnavailableError.
        """
        with self._lock:
            current = self._snapshot
            name: str | None = "(unreadable CURRENT)"
            try:
                name = self.backend.current()
                if current is not None and name in (None, current.generation, self._bad):
                    return current
                if name is None:
                    raise IndexMissingError(
                        f"no index in {self.backend.describe()} yet: run `footnote index` to "
                        "build one from the corpus"
                    )
                fresh = self.backend.open(name)
            except IndexCorruptError:
                if current is None:
                    raise
                # Keep answering from the last good index; say so once per bad generation.
                if name != self._bad:
                    log.exception(
                        "index generation %s is unusable; keeping %s", name, current.generation
                    )
                    self._bad = name
                return current
            self._check_model(fresh)
            self._stored.use(open_store(store_path(self.data_dir, fresh.generation), self.embedder))
            self._snapshot = fresh
            if current is not None:
                log.info("switched to index generation %s", fresh.generation)
            return fresh

    def _check_model(self, snapshot: Snapshot) -> None:
        manifest = snapshot.manifest
        if manifest.model != self.embedder.name or manifest.dimensions != self.embedder.dimensions:
            raise IndexMismatchError(
                f"the index was built with {manifest.model} ({manifest.dimensions}d) but the "
                f"configured model is {self.embedder.name} ({self.embedder.dimensions}d); "
                "run `footnote index` to rebuild it, or configure the index's model"
            )
        if manifest.backend != self.embedder.backend:
            raise IndexMismatchError(
                f"the index was built with the {manifest.backend} backend but the configured "
                f"one is {self.embedder.backend} (FOOTNOTE_EMBED_BACKEND); their vectors are "
                "never mixed: run `footnote index` to rebuild it, or configure the index's backend"
            )

    def search(self, question: str, k: int = 5) -> list[Passage]:
        """The k best passages for question, best first."""
        snapshot = self.snapshot()
        query = self.read(snapshot, clean_question(question))
        return self.rank(snapshot, query, self.embed_question(query), k)

    def read(self, snapshot: Snapshot, text: str) -> Query:
        """The cleaned question text read once, against snapshot's outlets."""
        return read_question(text, self.outlets(snapshot), self.settings.parts)

    def embed_question(self, query: Query) -> np.ndarray:
        """The rows rank() takes: the question's vector first, then its parts' (if enabled)."""
        return self.embedder.embed([query.text, *query.parts])

    def _hints(self, hints: Hints) -> Hints:
        """hints as retrieval uses them: none when both boosts are off."""
        s = self.settings
        return hints if s.source_boost or s.date_boost else Hints()

    def outlets(self, snapshot: Snapshot) -> OutletMatcher:
        """The outlets of the indexed articles (kept per index generation)."""
        return self._catalog(snapshot)[0]

    def newest(self, snapshot: Snapshot) -> str:
        """The publication date (YYYY-MM-DD) of the newest dated indexed article, "" if none."""
        return self._catalog(snapshot)[1]

    def _catalog(self, snapshot: Snapshot) -> tuple[OutletMatcher, str]:
        with self._lock:
            if self._catalog_cache is None or self._catalog_cache[0] != snapshot.generation:
                articles = snapshot.articles()
                catalog = (OutletMatcher({a.source for a in articles}), _newest(articles))
                self._catalog_cache = (snapshot.generation, catalog)
            return self._catalog_cache[1]

    def rank(
        self,
        snapshot: Snapshot,
        query: Query,
        vectors: np.ndarray,
        k: int,
        window: Where | None = None,
    ) -> list[Passage]:
        """The k best passages for query, best first.

        Args:
            snapshot: the index to search.
            query: the question read (read()): its text for the keyword search, its outlets,
                dates and parts.
            vectors: the question's vector, or embed_question()'s matrix: the question's
                vector, then one per part; each part is then searched on its own (its words,
                its outlets and dates) and the lists interleaved.
            k: how many passages.
            window: the days the question is about ("this week", read against the day it is
                asked): searched on their own too, as the days a question names are.
        """
        depth = self.settings.rerank_depth if self.multi_part(query) else 0
        passages = self.fused(snapshot, query, vectors, max(k, depth), window)
        if depth:
            passages = self.rerank(snapshot, query, vectors, passages)
        return passages[:k]

    def multi_part(self, query: Query) -> bool:
        """Whether query has parts searched on their own, or names several outlets: the
        questions the reranker is for. It was fit on MultiHop-RAG, whose questions nearly all
        are; on RealTimeQA dev's single questions, reordered, it cost two answers."""
        return bool(query.parts) or len(self._hints(query.hints).sources) >= 2

    def fused(
        self,
        snapshot: Snapshot,
        query: Query,
        vectors: np.ndarray,
        k: int,
        window: Where | None = None,
    ) -> list[Passage]:
        """The k best passages by fusion alone (rank()'s candidates, before reranking)."""
        vectors = np.atleast_2d(vectors)
        hints = self._hints(query.hints)
        # Each outlet a question names, when it names several, gets its own list too, drawn
        # from the same candidates as the whole question's: evidence from every report.
        outlets = sorted(hints.sources)
        whole, *by_outlet = self._rank_one(
            snapshot,
            query.text,
            hints,
            vectors[0],
            k,
            outlets if len(outlets) >= 2 else [],
            window=window,
        )
        lists = [whole]
        if query.parts and len(vectors) >= len(query.parts) + 1:
            for part, said, vector in zip(query.parts, query.part_hints, vectors[1:], strict=False):
                lists.append(
                    self._rank_one(snapshot, part, self._hints(said), vector, k, named=False)[0]
                )
        if len(lists) + len(by_outlet) == 1:
            return whole
        return _interleave(lists + by_outlet, k, self.settings.part_lead)

    def rerank(
        self,
        snapshot: Snapshot,
        query: Query,
        vectors: np.ndarray,
        passages: list[Passage],
        model: RerankModel | None = None,
    ) -> list[Passage]:
        """passages with the first rerank_depth of them ordered by the reranker's score (the
        shipped MODEL's unless another is given)."""
        head = passages[: self.settings.rerank_depth]
        if len(head) < 2:
            return passages
        rows = self.rerank_features(snapshot, query, vectors, head)
        outlets = sorted(self._hints(query.hints).sources)
        return reorder(passages, (model or MODEL).score(rows), outlets)

    def rerank_features(
        self, snapshot: Snapshot, query: Query, vectors: np.ndarray, passages: list[Passage]
    ) -> np.ndarray:
        """The reranker's features of passages (index/rerank.py), one row each."""
        vectors = np.atleast_2d(vectors)
        parts: Sequence[str] = query.parts
        if len(vectors) != len(parts) + 1:  # the parts were not embedded: the whole only
            vectors, parts = vectors[:1], ()
        hints = self._hints(query.hints)
        chunk_vectors = np.stack([snapshot.vector(p.chunk_id) for p in passages])
        return rerank_features(
            passages,
            vectors,
            chunk_vectors,
            self.sentences,
            self.word_weights(snapshot),
            query.text,
            parts,
            hints.sources,
            hints.dates,
        )

    def word_weights(self, snapshot: Snapshot) -> Callable[[str], float]:
        """A word's weight: its inverse document frequency in the index, so a name few chunks
        hold counts for more than a word most hold (cached per index generation). The reranker
        and the answer layer weigh words with it."""
        with self._lock:
            if self._idf[0] != snapshot.generation:
                self._idf = (snapshot.generation, {})
            cache = self._idf[1]
        chunks = max(snapshot.manifest.chunks, 1)

        def weigh(word: str) -> float:
            if word not in cache:
                cache[word] = idf(chunks, snapshot.document_frequency(word))
            return cache[word]

        return weigh

    def lead(self, snapshot: Snapshot, article_id: str, vectors: np.ndarray) -> Passage | None:
        """The lead (first chunk) of an article, None if it is not indexed.

        News names its subject in full and states its main fact first ("JetBlue Airways on
        Thursday announced it would purchase Spirit Airlines"), while a question's words may
        match a later paragraph best ("JetBlue plans to reconfigure the Spirit planes").
        """
        rec = snapshot.lead(article_id)
        if rec is None:
            return None
        similarity = float(snapshot.vector(rec.chunk_id) @ np.atleast_2d(vectors)[0])
        return passage_of(rec, 0.0, similarity)

    def _rank_one(
        self,
        snapshot: Snapshot,
        question: str,
        hints: Hints,
        vector: np.ndarray,
        k: int,
        outlets: Sequence[str] = (),
        named: bool = True,
        window: Where | None = None,
    ) -> list[list[Passage]]:
        """Dense + keyword fusion for one text, boosted by the outlets and dates it names
        (hints): its k best passages, then for each of outlets the k best of that outlet's
        candidates. named: also search the named outlets' and days' chunks on their own (the
        whole question does it for its parts, which name the same outlets)."""
        s = self.settings
        wheres: list[Where | None] = (
            [None, *_named(hints)] if s.named_searches and named else [None]
        )
        if window is not None:
            wheres.append(window)
        dense: dict[int, float] = {}
        dense_rank: dict[int, int] = {}
        keyword_rank: dict[int, int] = {}
        for where in wheres:
            found = snapshot.dense(vector, max(s.dense_candidates, k), where)
            _better_ranks(dense_rank, found)
            dense.update(found)
            _better_ranks(
                keyword_rank, snapshot.keyword(question, max(s.keyword_candidates, k), where)
            )
        fused = self._fuse(dense_rank, keyword_rank)
        wide = bool(hints.sources or hints.dates or s.per_article or outlets)
        ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))
        records = snapshot.chunks(ranked if wide else ranked[:k])
        if hints.sources or hints.dates:
            fused = {cid: v + self._boost(records.get(cid), hints) for cid, v in fused.items()}
        ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))

        def passages(ids: list[int]) -> list[Passage]:
            out = []
            for chunk_id in _diverse(ids, records, k, s.per_article):
                rec = records.get(chunk_id)
                if rec is None:
                    continue
                similarity = dense.get(chunk_id)
                if similarity is None:
                    similarity = float(snapshot.vector(chunk_id) @ vector)
                out.append(passage_of(rec, fused[chunk_id], similarity, dense_rank, keyword_rank))
            return out

        lists = [passages(ranked)]
        for outlet in outlets:
            own = [cid for cid in ranked if cid in records and records[cid].source == outlet]
            lists.append(passages(own))
        return lists

    def _fuse(self, dense_rank: dict[int, int], keyword_rank: dict[int, int]) -> dict[int, float]:
        """Weighted reciprocal rank fusion of the two candidate lists."""
        s = self.settings
        fused: dict[int, float] = {}
        for cid, rank in dense_rank.items():
            fused[cid] = fused.get(cid, 0.0) + s.dense_weight / (s.rrf_k + rank)
        for cid, rank in keyword_rank.items():
            fused[cid] = fused.get(cid, 0.0) + s.keyword_weight / (s.rrf_k + rank)
        return fused

    def _boost(self, rec: ChunkRecord | None, hints: Hints) -> float:
        if rec is None:
            return 0.0
        bonus = self.settings.source_boost if rec.source in hints.sources else 0.0
        if display_date(rec.published) in hints.dates:
            bonus += self.settings.date_boost
        return bonus


def _named(hints: Hints) -> list[Where]:
    """The filters for what a question names: its outlets, and its days, each on their own."""
    out = []
    if hints.sources:
        out.append(Where(sources=hints.sources))
    if hints.dates:
        out.append(Where(dates=hints.dates))
    return out


def _better_ranks(ranks: dict[int, int], found: list[tuple[int, float]]) -> None:
    """Record found's ranks (1 = best) in ranks, keeping each chunk's better one. Neighbours
    with equal scores (to 5 decimals: float32 backends differ below that) rank by chunk id,
    whichever order the backend listed them in."""
    ordered = [
        hit
        for _, tied in itertools.groupby(found, key=lambda hit: round(hit[1], 5))
        for hit in sorted(tied)
    ]
    for rank, (chunk_id, _) in enumerate(ordered, 1):
        ranks[chunk_id] = min(rank, ranks.get(chunk_id, rank))


def reorder(passages: list[Passage], scores: np.ndarray, outlets: Sequence[str]) -> list[Passage]:
    """The first len(scores) passages by descending score, the rest after them as they were;
    when the question names several outlets, each outlet's best passage still reaches the top
    ranks: the best passage, then the outlets' best ones in turn, as in fusion's lists."""
    head, tail = passages[: len(scores)], passages[len(scores) :]
    ordered = [head[i] for i in np.argsort(-scores, kind="stable")]
    if len(outlets) >= 2:
        lists = [ordered] + [[p for p in ordered if p.source == o] for o in outlets]
        ordered = _interleave(lists, len(ordered), 1)
    return ordered + tail


def _interleave(lists: list[list[Passage]], k: int, lead: int) -> list[Passage]:
    """The first list's first lead passages, then one from each list in turn; no repeats."""
    out: list[Passage] = []
    seen: set[int] = set()

    def take(p: Passage) -> None:
        if p.chunk_id not in seen and len(out) < k:
            seen.add(p.chunk_id)
            out.append(p)

    for p in lists[0][:lead]:
        take(p)
    for row in range(k):
        for ranked in lists:
            if row < len(ranked):
                take(ranked[row])
    return out


def _one_faiss_thread() -> None:
    """Search faiss with one thread: queries come one at a time, and with OpenMP's two threads
    a single search waits for a busy core (p50 0.7 ms -> 21 ms on a loaded 2-core machine)."""
    import faiss

    faiss.omp_set_num_threads(1)


def _diverse(
    ranked: list[int], records: dict[int, ChunkRecord], k: int, per_article: int
) -> list[int]:
    """The first k of ranked, taking at most per_article chunks of an article per round."""
    if not per_article:
        return ranked[:k]
    chosen: list[int] = []
    held: list[int] = []
    taken: dict[str, int] = {}
    for cid in ranked:
        rec = records.get(cid)
        article = rec.article_id if rec else str(cid)
        if taken.get(article, 0) < per_article:
            taken[article] = taken.get(article, 0) + 1
            chosen.append(cid)
            if len(chosen) == k:
                return chosen
        else:
            held.append(cid)
    return (chosen + held)[:k]


def passage_of(
    rec: ChunkRecord,
    score: float,
    similarity: float,
    dense_rank: dict[int, int] | None = None,
    keyword_rank: dict[int, int] | None = None,
) -> Passage:
    """A chunk as a Passage, with its scores and, when given, its dense and keyword ranks."""
    dense_rank = dense_rank or {}
    keyword_rank = keyword_rank or {}
    return Passage(
        chunk_id=rec.chunk_id,
        article_id=rec.article_id,
        title=rec.title,
        source=rec.source,
        url=rec.url,
        published=rec.published,
        text=rec.text,
        start=rec.start,
        end=rec.end,
        score=score,
        similarity=similarity,
        dense_rank=dense_rank.get(rec.chunk_id),
        keyword_rank=keyword_rank.get(rec.chunk_id),
    )
