"""The sentences of the retrieved passages that bear on a question, scored.

A sentence is scored on meaning (cosine to the question), on the question's words it holds
(weighted by how rare each word is in the index, so "Avalanche" counts for more than "team"),
on the words of its context (the sentence before it and the headline: "He said ..." is about
whoever the sentence before names), and on the passage's retrieval rank. Headings, questions
and bylines are never evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from bot.answer.question import Question, words_of
from index.articles import display_date
from index.embed import Embedder
from index.rerank import coverage
from index.search import Passage
from index.sentences import segments

MIN_SENTENCE_CHARS = 25
MAX_EMBEDDED = 16
# A sentence opening with one of these names its subject only by reference.
_REFERENCE = re.compile(
    r"^[\"“‘']?(?:he|she|it|they|his|her|its|their|this|that|these|those|the (?:[a-z]+ ){0,2}"
    r"(?:company|firm|group|show|series|film|movie|team|club|country|city|state|agency|bank|"
    r"network|brand|app|platform|deal|move|plan|law|bill|event|league|government|band|singer|"
    r"actor|star|player|case|report|study|survey|project))\b",
    re.I,
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")

Weigh = Callable[[str], float]


@dataclass(frozen=True)
class Evidence:
    """One sentence of a passage, in article coordinates, with what it is scored on."""

    passage: Passage
    rank: int  # the passage's retrieval rank, 0 best
    start: int
    end: int
    text: str
    context_start: int  # where the previous sentence of its paragraph starts (== start if none)
    context: str
    words: frozenset[str]
    context_words: frozenset[str]  # words of the previous sentence, headline and outlet
    similarity: float = 0.0
    score: float = 0.0

    def by_reference(self, focus: str = "") -> bool:
        """It names its subject only by reference: it opens with "He" or "the company", or
        calls the thing asked about "the ... <focus>" ("the hit Korean show")."""
        if _REFERENCE.match(self.text):
            return True
        if not focus:
            return False
        # "the wildly popular Korean show": adjectives between, not "the field of species".
        adjectives = r"(?:(?!(?:of|in|on|at|for|to|by|with|from|and|or)\b)[\w’'-]+\s+){0,4}"
        return bool(re.search(rf"\bthe\s+{adjectives}{re.escape(focus)}\b", self.text, re.I))

    def refers_back(self, focus: str = "") -> bool:
        """It names its subject only as 'He', 'the company' or 'the ... <focus>', and a sentence
        before it can say what: quote that sentence too."""
        return self.context_start < self.start and self.by_reference(focus)

    def years(self) -> set[str]:
        """Years the sentence, its context and headline mention."""
        return set(_YEAR.findall(f"{self.text} {self.context} {self.passage.title}"))

    def published_year(self) -> str:
        return display_date(self.passage.published)[:4]


def gather(passages: list[Passage]) -> list[Evidence]:
    """Every stating sentence of passages, with the sentence before it as its context."""
    out: list[Evidence] = []
    for rank, passage in enumerate(passages):
        # The headline and outlet say what and who the passage is about.
        title_words = words_of(f"{passage.title} {passage.source}")
        previous: tuple[int, int] | None = None
        for seg in segments(passage.text):
            text = passage.text[seg.start : seg.end]
            if not seg.statement:
                previous = None
                continue
            context_start, context = seg.start, ""
            if previous is not None and "\n\n" not in passage.text[previous[1] : seg.start]:
                context_start = previous[0]
                context = passage.text[previous[0] : previous[1]]
            previous = (seg.start, seg.end)
            if len(text) < MIN_SENTENCE_CHARS or not re.search(r"[A-Za-z]{3}", text):
                continue
            out.append(
                Evidence(
                    passage=passage,
                    rank=rank,
                    start=passage.start + seg.start,
                    end=passage.start + seg.end,
                    text=text,
                    context_start=passage.start + context_start,
                    context=context,
                    words=words_of(text),
                    context_words=words_of(context) | title_words,
                )
            )
    return out


@dataclass(frozen=True)
class Weights:
    """How evidence is scored (tuned on the dev splits)."""

    sentence_words: float = 0.25
    context_words: float = 0.15
    names: float = 0.15
    rank: float = 0.01


def score(
    question: Question,
    evidence: list[Evidence],
    embedder: Embedder,
    query: np.ndarray,
    weigh: Weigh,
    weights: Weights,
) -> list[Evidence]:
    """The evidence most worth reading, scored and best first.

    Embedding sentences is the slow part of answering, so only the MAX_EMBEDDED sentences
    holding most of the question's words (then the best-ranked) are embedded and scored.
    """
    if not evidence:
        return []
    lexical = [
        coverage(question.words, e.words, weigh)
        + 0.5 * coverage(question.words, e.words | e.context_words, weigh)
        for e in evidence
    ]
    order = sorted(range(len(evidence)), key=lambda i: (-lexical[i], evidence[i].rank, i))
    picked = [evidence[i] for i in order[:MAX_EMBEDDED]]
    vectors = embedder.embed([e.text for e in picked], batch_size=8)
    out = []
    for row, e in enumerate(picked):
        similarity = float(vectors[row] @ query)
        total = (
            similarity
            + weights.sentence_words * coverage(question.words, e.words, weigh)
            + weights.context_words * coverage(question.words, e.words | e.context_words, weigh)
            + weights.names * coverage(question.names, e.words | e.context_words, weigh)
            - weights.rank * e.rank
        )
        out.append(replace(e, similarity=similarity, score=total))
    out.sort(key=lambda e: -e.score)
    return out


def contradicts_years(question: Question, e: Evidence) -> bool:
    """The question asks about a year the evidence is not about.

    Either the sentence, its context and headline name years but none asked, or they name none
    and the article was published before every year asked about.
    """
    if not question.years:
        return False
    years = e.years()
    if years:
        return not (years & question.years)
    published = e.published_year()
    return bool(published) and all(y > published for y in question.years)
