"""What's new about a topic: the newest indexed articles about it, each with its lead quoted.

An article is about the topic when one of its passages is, by two tests together: its meaning
(the passage's cosine similarity to the topic reaches the answer layer's bar,
Settings.min_similarity, 0.35 by default) and its words (the passage and its headline hold at
least MIN_COVERAGE of the topic's words, each weighed by how rare it is in the index, so
"Toyota recall" does not find a Kia recall: 0.41 of it). Read on the RealTimeQA dev corpus's
candidates for 30 topics with the bundled model: passages that only share a word stay under
0.35 (a report on baby formula for "Formula One racing" 0.31, one on Boris Johnson's scandals
for "Brexit" 0.32), reports on the topic reach it (Naomi Osaka to play at the Tokyo Olympics,
for "Olympic Games" 0.35). A rare word shared by name still passes: "hurricane season" finds
an NHL playoffs preview naming the Carolina Hurricanes (0.40).
benchmarks/news.py measures the whole.

Each article is shown with its lead, the first sentence of its first passage that states
something (headings, bylines and questions are skipped as the answer layer skips them, and so
are sign-up lines), quoted verbatim with its character offsets in the article, as a numbered
Source.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from bot.answer.evidence import MIN_SENTENCE_CHARS
from bot.answer.model import Source
from bot.answer.question import words_of
from bot.links import quote_link
from bot.service import Footnote
from index.articles import published_day
from index.backends import Reader, Where
from index.errors import QuestionError
from index.rerank import coverage
from index.search import Passage, folded_text, passage_of
from index.sentences import segments

MAX_TOPIC_CHARS = 200
# A passage holds at least this share of the topic's (rarity-weighted) words.
MIN_COVERAGE = 0.5
# Chunks drawn from each of the dense and the keyword search, over the whole index and over
# the RECENT_DAYS before the as-of date (or since the since date, when that is later): the
# recent search finds this month's reports even when older ones fill the whole index's best.
CANDIDATES = 100
RECENT_DAYS = 31
# A line asking the reader to do something is the page's, not the report's ("Sign up for
# CNN's Wonder Theory science newsletter." opens CNN's science articles).
_PROMO = re.compile(r"^(?:sign up|subscribe|follow us|click here|download)\b", re.I)


@dataclass(frozen=True)
class NewsItem:
    """One article in a "what's new" list: its lead as a numbered Source, and how close to the
    topic its best passage came (cosine similarity)."""

    source: Source
    similarity: float

    @property
    def link(self) -> str:
        """The article's url, opening at the quoted lead where the browser supports it."""
        return quote_link(self.source.url, self.source.snippet) if self.source.url else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.source.n,
            "title": self.source.title,
            "outlet": self.source.source,
            "date": self.source.date,
            "quote": self.source.snippet,
            "link": self.link,
            "similarity": round(self.similarity, 4),
            "source": asdict(self.source),
        }


def clean_topic(topic: str) -> str:
    """The topic with whitespace folded.

    Raises:
        QuestionError: empty, not UTF-8 text, or longer than MAX_TOPIC_CHARS.
    """
    return folded_text(
        topic, "topic", MAX_TOPIC_CHARS, empty="Please name a topic, for example: gas prices."
    )


def nothing_text(topic: str, since: date | None) -> str:
    """What is said when no indexed article is about topic."""
    window = f" since {since.isoformat()}" if since else ""
    return f"Nothing indexed about {topic}{window}."


def last_day(since: date | None, as_of: date | None) -> date:
    """The last day listed: as_of, or today.

    Raises:
        QuestionError: since is after it.
    """
    as_of = as_of or date.today()
    if since is not None and since > as_of:
        raise QuestionError(
            f"{since.isoformat()} is after {as_of.isoformat()}: nothing can be listed from "
            "after the day it is asked for."
        )
    return as_of


def whats_new(
    service: Footnote, topic: str, *, since: date | None, as_of: date | None, limit: int
) -> list[NewsItem]:
    """The newest indexed articles about topic, newest first (undated ones last).

    Args:
        service: the Footnote whose index is searched.
        topic: a few words ("gas prices").
        since: leave out articles published before this day (and undated ones).
        as_of: leave out articles published after this day (default: today).
        limit: at most this many articles.

    Returns:
        One NewsItem per article, numbered [1]..[n] in order; empty when nothing is about it.

    Raises:
        QuestionError: the topic is empty or too long, or since is after as_of.
        IndexMissingError, IndexCorruptError, IndexMismatchError.
    """
    topic = clean_topic(topic)
    as_of = last_day(since, as_of)
    retriever = service.retriever
    snapshot = retriever.snapshot()
    vector = retriever.embedder.embed([topic])[0]
    found = _about(service, snapshot, topic, vector, since, as_of)
    items: list[NewsItem] = []
    for best in _newest_first(list(found.values())):
        if len(items) == limit:
            break
        lead = retriever.lead(snapshot, best.article_id, vector)
        quoted = _first_statement(lead) if lead else None
        quoted = quoted or _first_statement(best)
        if quoted is None:
            continue  # nothing in it states anything: no line to quote
        passage, start, end = quoted
        items.append(NewsItem(Source.quoting(len(items) + 1, passage, start, end), best.similarity))
    return items


def _about(
    service: Footnote,
    snapshot: Reader,
    topic: str,
    vector: np.ndarray,
    since: date | None,
    as_of: date,
) -> dict[str, Passage]:
    """Each article about topic published in the window: its passage closest to the topic."""
    retriever = service.retriever
    weigh = retriever.word_weights(snapshot)
    asked = words_of(topic)
    recent_from = max(since or date.min, as_of - timedelta(days=RECENT_DAYS))
    days = frozenset(
        (recent_from + timedelta(days=i)).isoformat() for i in range((as_of - recent_from).days + 1)
    )
    similarity: dict[int, float] = {}
    for where in (None, Where(dates=days)):
        similarity.update(snapshot.dense(vector, CANDIDATES, where))
        for chunk_id, _ in snapshot.keyword(topic, CANDIDATES, where):
            if chunk_id not in similarity:
                similarity[chunk_id] = float(snapshot.vector(chunk_id) @ vector)
    bar = service.settings.min_similarity
    close = [cid for cid, s in similarity.items() if s >= bar]
    best: dict[str, Passage] = {}
    for chunk_id, rec in snapshot.chunks(close).items():
        if not _in_window(rec.published, since, as_of):
            continue
        if coverage(asked, words_of(f"{rec.title} {rec.text}"), weigh) < MIN_COVERAGE:
            continue
        held = best.get(rec.article_id)
        if held is None or similarity[chunk_id] > held.similarity:
            best[rec.article_id] = passage_of(rec, similarity[chunk_id], similarity[chunk_id])
    return best


def _in_window(published: str, since: date | None, as_of: date) -> bool:
    day = published_day(published)
    if day is None:
        return since is None  # an undated article cannot be shown to be recent
    return day <= as_of and (since is None or day >= since)


def _newest_first(passages: list[Passage]) -> list[Passage]:
    """Dated ones newest first (a later time the same day first, then the closer match);
    then the undated ones, closest first."""
    dated = [p for p in passages if published_day(p.published)]
    undated = [p for p in passages if not published_day(p.published)]
    dated.sort(key=lambda p: (p.published[:10], p.published, p.similarity, p.article_id))
    undated.sort(key=lambda p: (p.similarity, p.article_id))
    return dated[::-1] + undated[::-1]


def _first_statement(passage: Passage) -> tuple[Passage, int, int] | None:
    """The passage's first sentence that states something, as article offsets."""
    for seg in segments(passage.text):
        text = passage.text[seg.start : seg.end]
        if (
            seg.statement
            and len(text) >= MIN_SENTENCE_CHARS
            and re.search(r"[A-Za-z]{3}", text)
            and not _PROMO.match(text)
        ):
            return passage, passage.start + seg.start, passage.start + seg.end
    return None
