"""Passages -> an extractive answer: the best sentences, each cited [n], with verbatim sources.

No Discord here: the CLI and the bot both render an Answer.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from index.articles import display_date
from index.embed import Embedder
from index.search import Passage
from index.sentences import sentence_spans
from index.store import content_words

NOT_FOUND = "I couldn't find an answer to that in the indexed articles."
MIN_SENTENCE_CHARS = 25
MAX_SENTENCES = 12


@dataclass(frozen=True)
class Source:
    """A numbered citation: where the snippet comes from, and the snippet itself."""

    n: int
    title: str
    source: str
    published: str
    url: str
    article_id: str
    chunk_id: int
    snippet: str
    snippet_start: int
    snippet_end: int
    passage: str
    passage_start: int
    passage_end: int

    @property
    def date(self) -> str:
        return display_date(self.published)

    def label(self) -> str:
        """'Title — Outlet, 2023-10-01'."""
        meta = ", ".join(p for p in (self.source, self.date) if p)
        return f"{self.title} — {meta}" if meta else self.title


@dataclass(frozen=True)
class Claim:
    """One answer sentence, quoted from source n."""

    text: str
    n: int


@dataclass(frozen=True)
class Answer:
    question: str
    found: bool
    claims: list[Claim] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The answer with [n] markers, or the plain not-found sentence."""
        if not self.found:
            return NOT_FOUND
        return " ".join(f"{c.text} [{c.n}]" for c in self.claims)

    def source(self, n: int) -> Source | None:
        return next((s for s in self.sources if s.n == n), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "found": self.found,
            "answer": self.text,
            "claims": [asdict(c) for c in self.claims],
            "sources": [asdict(s) | {"date": s.date} for s in self.sources],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        fields = Source.__dataclass_fields__
        return cls(
            question=data["question"],
            found=data["found"],
            claims=[Claim(**c) for c in data["claims"]],
            sources=[
                Source(**{k: v for k, v in s.items() if k in fields}) for s in data["sources"]
            ],
        )


@dataclass(frozen=True)
class AnswerSettings:
    max_claims: int = 3
    # Below this question/sentence cosine the articles are taken not to hold the answer.
    min_similarity: float = 0.35
    # A sentence scoring this far below the best one is not worth quoting.
    max_gap: float = 0.12
    # Abstain when more than this share of the names/numbers asked about appear in no passage
    # ("Who is the CEO of Tesla?" over articles that never mention Tesla).
    max_missing_names: float = 0.34
    nearest_sources: int = 3


@dataclass(frozen=True)
class _Candidate:
    passage: Passage
    start: int  # in article coordinates
    end: int
    text: str
    similarity: float
    score: float


def compose_answer(
    question: str,
    passages: list[Passage],
    embedder: Embedder,
    settings: AnswerSettings | None = None,
    *,
    query: np.ndarray | None = None,
) -> Answer:
    """Pick the sentences of passages that best answer question and cite them.

    query, the question's vector if retrieval already computed it, saves embedding it again.

    Every snippet is an exact span of its article: Source.snippet ==
    article.text[snippet_start:snippet_end].
    """
    settings = settings or AnswerSettings()
    candidates = _score_sentences(question, passages, embedder, query)
    if (
        not candidates
        or candidates[0].score < settings.min_similarity
        or _missing_names(question, passages) > settings.max_missing_names
    ):
        return _not_found(question, passages, candidates, settings)
    best = candidates[0].score
    chosen: list[_Candidate] = []
    for cand in candidates:
        if len(chosen) == settings.max_claims or cand.score < best - settings.max_gap:
            break
        if any(_overlaps(cand, c) or _same_text(cand, c) for c in chosen):
            continue
        chosen.append(cand)
    # One source per claim: each [n] points at exactly the words it quotes.
    sources = [_source(n, cand) for n, cand in enumerate(chosen, 1)]
    claims = [Claim(text=cand.text, n=n) for n, cand in enumerate(chosen, 1)]
    return Answer(question=question, found=True, claims=claims, sources=sources)


def _not_found(
    question: str, passages: list[Passage], candidates: list[_Candidate], settings: AnswerSettings
) -> Answer:
    """No answer: show the nearest passages (their best sentence) so the user can look."""
    sources: list[Source] = []
    for passage in passages:
        if len(sources) == settings.nearest_sources:
            break
        if any(s.article_id == passage.article_id for s in sources):
            continue
        best = next((c for c in candidates if c.passage.chunk_id == passage.chunk_id), None)
        if best is not None:
            sources.append(_source(len(sources) + 1, best))
    return Answer(question=question, found=False, sources=sources)


def _score_sentences(
    question: str, passages: list[Passage], embedder: Embedder, query: np.ndarray | None
) -> list[_Candidate]:
    spans: list[tuple[Passage, int, int, str]] = []
    for passage in passages:
        for span in sentence_spans(passage.text):
            text = passage.text[span.start : span.end]
            if len(text) < MIN_SENTENCE_CHARS or not re.search(r"[A-Za-z]{3}", text):
                continue
            spans.append((passage, passage.start + span.start, passage.start + span.end, text))
    if not spans:
        return []
    words = _content_words(question)
    names = _names(question)
    ranks = {p.chunk_id: i for i, p in enumerate(passages)}
    found = [_content_words(s[3]) for s in spans]
    # Embedding every sentence of every passage is the slow part of answering: only the
    # sentences sharing the most words with the question (then the best-ranked) are embedded.
    order = sorted(
        range(len(spans)), key=lambda i: (-len(words & found[i]), ranks[spans[i][0].chunk_id], i)
    )[:MAX_SENTENCES]
    # Small batches: sentences are padded to the longest in their batch.
    vectors = embedder.embed([spans[i][3] for i in order], batch_size=8)
    if query is None:
        query = embedder.embed([question])[0]
    out = []
    for row, i in enumerate(order):
        passage, start, end, text = spans[i]
        sim = float(vectors[row] @ query)
        overlap = len(words & found[i]) / len(words) if words else 0.0
        named = len(names & found[i]) / len(names) if names else 0.0
        # Cosine carries meaning; word overlap rewards the terms asked about, names (which a
        # small model knows little of) most; the passage's retrieval rank breaks near-ties.
        score = sim + 0.2 * overlap + 0.15 * named - 0.01 * ranks[passage.chunk_id]
        out.append(_Candidate(passage, start, end, text, sim, score))
    out.sort(key=lambda c: -c.score)
    return out


def _content_words(text: str) -> set[str]:
    """Content words, crudely stemmed so 'heads' meets 'head' and 'Alibaba's' meets 'Alibaba'."""
    words = content_words(text.replace("’", "'"))
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words}


def _names(question: str) -> set[str]:
    """Proper names and numbers in a question: capitalised words after the first, and figures."""
    words = re.findall(r"[\w'’.-]+", question.replace("’", "'"))
    picked = [
        w for i, w in enumerate(words) if (i > 0 and w[:1].isupper()) or any(c.isdigit() for c in w)
    ]
    return _content_words(" ".join(picked))


def _missing_names(question: str, passages: list[Passage]) -> float:
    """The share of the question's names found in none of the passages (text, title or outlet)."""
    names = _names(question)
    if not names:
        return 0.0
    seen: set[str] = set()
    for p in passages:
        seen |= _content_words(f"{p.title} {p.source} {p.text}")
    return len(names - seen) / len(names)


def _overlaps(a: _Candidate, b: _Candidate) -> bool:
    return a.passage.article_id == b.passage.article_id and a.start < b.end and b.start < a.end


def _same_text(a: _Candidate, b: _Candidate) -> bool:
    return " ".join(a.text.lower().split()) == " ".join(b.text.lower().split())


def _source(n: int, cand: _Candidate) -> Source:
    p = cand.passage
    return Source(
        n=n,
        title=p.title,
        source=p.source,
        published=p.published,
        url=p.url,
        article_id=p.article_id,
        chunk_id=p.chunk_id,
        snippet=cand.text,
        snippet_start=cand.start,
        snippet_end=cand.end,
        passage=p.text,
        passage_start=p.start,
        passage_end=p.end,
    )
