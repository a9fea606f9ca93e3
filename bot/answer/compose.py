"""Passages -> an answer: the short answer first, then the quotes that support it, each cited.

Reads the question first (question.py) and scores the passages' sentences for quoting
(evidence.py). A question asking for something (who, what, which, how many ...) is answered by
the trained reader (bot/reader): it reads the question against the best passages and gives
each passage's best span and its no-answer score; the best span over the bar is the short
answer, and the sentence holding it the first quote; when no passage clears the bar, Footnote
says it found no answer. Yes/no questions are answered from the evidence for each of their
parts. Every quote and every short answer span is an exact span of its article.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import partial

import numpy as np

from bot.answer.evidence import (
    Evidence,
    Weigh,
    Weights,
    contradicts_years,
    gather,
    score,
)
from bot.answer.model import Answer, Claim, ShortAnswer, Source
from bot.answer.question import (
    Kind,
    Question,
    agreeing_option,
    analyse,
    cited_outlets,
    name_phrases,
    part_questions,
    words_of,
)
from bot.answer.read import Read, Reading, pick
from bot.answer.when import Window, day, describe
from index.articles import published_day
from index.embed import Embedder
from index.rerank import coverage
from index.search import OutletMatcher, Passage, Query
from index.sentences import segments

MAX_QUOTE_CHARS = 600


@dataclass(frozen=True)
class AnswerSettings:
    max_claims: int = 3
    # Below this evidence score (cosine + word bonuses) the articles are taken not to hold it.
    min_similarity: float = 0.35
    # A sentence scoring this far below the best one is not worth quoting.
    max_gap: float = 0.3
    # Abstain when more than this share of the names/numbers asked about appear in no passage
    # ("Who is the CEO of Tesla?" over articles that never mention Tesla).
    max_missing_names: float = 0.34
    # Yes/no questions: how sure the best sentences must make us that they are about this
    # question: cosine plus the share of the question's word weight (rare words weigh more)
    # and of its names that the sentence, its context and headline hold (see _confidence).
    min_confidence: float = 0.95
    # ... for a question about several outlets' reports, from its best sentences together.
    min_several_confidence: float = 0.85
    # The reader's bar: the best span's score over the passage's no-answer score. One
    # calibrated number for every kind of question, tuned on the dev splits (benchmarks/margin.py).
    min_margin: float = -2.0
    # Each part of a multi-part question needs a sentence holding this share of its words;
    # the parts of a yes/no question, whose claims are paraphrased more, this share.
    min_part_coverage: float = 0.3
    min_yes_no_part_coverage: float = 0.25
    # Passages the reader reads (the best first; the article lead of the best one joins them).
    read_passages: int = 6
    nearest_sources: int = 3
    weights: Weights = field(default_factory=Weights)


def compose_answer(
    question: Query,
    passages: list[Passage],
    embedder: Embedder,
    reader: Read,
    settings: AnswerSettings | None = None,
    *,
    vector: np.ndarray | None = None,
    weigh: Weigh | None = None,
    outlets: OutletMatcher | None = None,
    newest: str = "",
    article_lead: Callable[[str], Passage | None] | None = None,
    as_of: date | None = None,
    window: Window | None = None,
) -> Answer:
    """Answer question from passages, or say that they do not hold the answer.

    Args:
        question: the question read once (Retriever.read, or read_question against outlets).
        passages: retrieved passages, best first.
        embedder: embeds the candidate sentences.
        reader: reads the question against passages (bot/answer/read.py).
        settings: thresholds and weights.
        vector: the question's vector, if retrieval already computed it.
        weigh: a word's weight (rarer words weigh more); every word weighs 1 if not given.
        outlets: the indexed outlets; a question citing another outlet's report is not answered.
        newest: the publication date of the newest indexed article (ISO), the index's "now": a
            question about the present is not answered from articles half a year older.
        article_lead: an article's first passage (its lead), by article id: the best article
            that may answer brings its lead when passages lack it, for the story's full names
            and main fact.
        as_of: the day the question is asked: no article published after it answers, and
            "this week" is the week before it (then the index's newest date plays no part).
        window: the dates the question is about (bot/answer/when.py), read against as_of. A
            strict one ("this week") is answered from its articles only, or told that there
            are none; another ("the latest") prefers its articles.

    Every snippet is an exact span of its article: Source.snippet ==
    article.text[snippet_start:snippet_end], and so is a span short answer.
    """
    settings = settings or AnswerSettings()
    q = analyse(question.text, question.clauses)
    weigh = weigh or _unit
    if vector is None:
        vector = embedder.embed([question.text])[0]
    if as_of is not None:
        passages = [p for p in passages if not _published_after(p, as_of)]
    if window is not None and window.strict:
        inside = [p for p in passages if _within(p, window)]
        if not inside:
            return _nothing_from(q, window, passages, settings)
        passages = inside
    stale = _stale_passages(q, passages, newest) if as_of is None else set()
    best = next((p for p in passages if p.chunk_id not in stale), None)
    first = article_lead(best.article_id) if article_lead and best is not None else None
    if first is not None and all(p.chunk_id != first.chunk_id for p in passages):
        passages = [*passages, first]
    everything = gather(passages)
    gathered = [
        e for e in everything if not (contradicts_years(q, e) or e.passage.chunk_id in stale)
    ]
    scored = score(q, gathered, embedder, vector, weigh, settings.weights)
    nearest = scored + everything  # for "not found": each passage's best sentence first
    cited = cited_outlets(q.text)  # the outlets it cites, indexed or not
    named = question.sources  # the indexed ones
    if outlets is not None:
        unknown = [o for o in cited if not (outlets.knows(o) or outlets.find(o))]
        if unknown:
            missing = [f"{name} reports (none are indexed)" for name in unknown]
            return _not_found(q, passages, nearest, settings, missing=missing)
    # A multi-part question needs evidence for each part (and says which part has none).
    parts = _part_evidence(q, gathered, passages, weigh, settings)
    missing = [part for part, e in parts if e is None]
    found = [e for _, e in parts if e is not None]
    if (
        not scored
        or q.negated_choice
        or (missing and (q.kind is Kind.YES_NO or 2 * len(missing) > len(parts)))
        or _missing_names(q, passages, weigh) > settings.max_missing_names
    ):
        return _not_found(q, passages, nearest, settings, missing=missing)
    if q.kind is Kind.YES_NO:
        # A question naming several indexed outlets ("reported by The Verge and TechCrunch")
        # has its facts spread over their reports: no one sentence holds them all.
        several = outlets is not None and outlets.distinct(named) >= 2
        bar = settings.min_several_confidence if several else settings.min_confidence
        if not parts and (
            scored[0].score < settings.min_similarity
            or _confidence(q, scored, weigh, several=several) < bar
        ):
            return _not_found(q, passages, nearest, settings)
        # About what reports say ("Did the Herald report ...?"), finding the reports answers;
        # about a fact ("Were any injuries reported?"), the quote must state it.
        return _yes_no(q, scored, found, settings, about_reports=bool(cited or named))
    readable = [p for p in passages if p.chunk_id not in stale][: settings.read_passages]
    if first is not None and first not in readable:
        readable.append(first)
    read = partial(_read, q, reader, everything=everything, window=window, bar=settings.min_margin)
    answered = read(readable, q.text)
    # No answer to the whole of a multi-part question: a report may state one part, which the
    # reader finds asked on its own ("Which company is accused of B?") in the passages that
    # hold most of that part's words; the surest part answers.
    if answered is None:
        by_part = [read(held, part) for held, part in _holding(part_questions(q), readable, weigh)]
        answered = max((a for a in by_part if a is not None), key=lambda a: a[1], default=None)
    if answered is None:
        return _not_found(q, passages, nearest, settings)
    reading, margin, readings = answered
    # Reports of different dates that give different answers ("the mayor is ..."): the newest
    # leads, the older one is shown beside it with its date.
    reading, earlier = _newest_of_disagreeing(reading, readings, settings)
    lead = _evidence_at(reading, everything)
    evidence = _evidence_of(q, reading, margin, lead, scored, weigh)
    required = [*found, _evidence_at(earlier, everything)] if earlier else found
    chosen = _choose(lead, required, scored, settings)
    claims, sources = _cite(chosen, q)
    short = ShortAnswer(
        reading.text,
        n=sources[0].n,
        start=reading.start,
        end=reading.end,
        score=round(reading.score, 3),
        no_answer=round(reading.score - margin, 3),
    )
    return Answer(
        q.text,
        True,
        claims,
        sources,
        short=short,
        kind=q.kind.value,
        dated=_dated(sources[0]) + _earlier(earlier, sources),
        evidence=evidence,
    )


# Passages a part of a multi-part question is read against: those holding most of its words.
PART_PASSAGES = 2


def _holding(
    parts: list[str], passages: list[Passage], weigh: Weigh
) -> list[tuple[list[Passage], str]]:
    """Each part with the PART_PASSAGES passages (headline included) holding the largest share
    of its words, in their order; each passage's words are read once for all the parts."""
    if not parts:
        return []
    seen = [words_of(f"{p.title} {p.text}") for p in passages]
    out = []
    for part in parts:
        words = words_of(part)
        held = [coverage(words, s, weigh) for s in seen]
        best = set(sorted(range(len(passages)), key=lambda i: -held[i])[:PART_PASSAGES])
        out.append(([p for i, p in enumerate(passages) if i in best], part))
    return out


def _read(
    q: Question,
    reader: Read,
    passages: list[Passage],
    asked: str,
    *,
    everything: list[Evidence],
    window: Window | None,
    bar: float,
) -> tuple[Reading, float, list[Reading]] | None:
    """The reader's answer to asked over passages: its best span, margin and every reading; None
    when no span clears the bar. A span in a sentence about another year than the question's is
    no answer ("the 2021 final"); for "the latest", its window's reports are read first."""
    readings = reader(asked, passages)
    if q.years:
        readings = [r for r in readings if not contradicts_years(q, _evidence_at(r, everything))]
    picked = None
    if window is not None and not window.strict:
        picked = pick([r for r in readings if _within(r.passage, window)], bar)
    picked = picked or pick(readings, bar)
    return (*picked, readings) if picked is not None else None


def _evidence_of(
    q: Question,
    reading: Reading,
    margin: float,
    lead: Evidence,
    scored: list[Evidence],
    weigh: Weigh,
) -> dict[str, float]:
    """What a read answer rests on, shown in --json: the reader's margin, and how much of what
    is asked the sentence holding the span says (with the sentence before it and its headline):
    the share of the question's own words (rarer words weigh more; names and time words aside),
    of its names, and the best sentence's cosine to the question. (benchmarks/gate.py measures
    whether a model over them tells answers from non-answers better than the margin alone.)"""
    seen = lead.words | lead.context_words | words_of(lead.passage.title)
    asked = q.words - q.names - _TIME_WORDS
    return {
        "margin": round(margin, 3),
        "asked_words": round(coverage(asked, seen, weigh) if asked else 1.0, 3),
        "names": round(coverage(q.names, seen, weigh) if q.names else 1.0, 3),
        "similarity": round(max((e.similarity for e in scored[:3]), default=0.0), 3),
    }


# Another report's answer this close to the best one (in the reader's score) is as good: when
# the two disagree and were published on different days, the newer one leads.
DISAGREEING_WITHIN = 1.0


def _newest_of_disagreeing(
    best: Reading, readings: list[Reading], settings: AnswerSettings
) -> tuple[Reading, Reading | None]:
    """The reading to answer with, and an older report's different answer to show beside it
    (None when no dated report of another article disagrees as surely)."""
    close = [
        (r, on, _same_answer_key(r.text))
        for r in readings
        if r.score >= best.score - DISAGREEING_WITHIN
        and r.score - r.no_answer > settings.min_margin
        and (on := published_day(r.passage.published)) is not None
    ]
    if all(r is not best for r, _, _ in close):
        return best, None
    newest, newest_day, key = max(close, key=lambda c: (c[1], c[0].score))
    # An older report's answer that is not the newest one's in other words ("Lowe", "Ada Lowe").
    older = [(r, on) for r, on, k in close if on < newest_day and k not in key and key not in k]
    if not older:
        return best, None
    return newest, max(older, key=lambda o: (o[0].score, o[1]))[0]


def _same_answer_key(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _earlier(earlier: Reading | None, sources: list[Source]) -> str:
    """'; earlier reported: Ada Lowe [2], 10 January 2022' for the older report's answer."""
    if earlier is None:
        return ""
    source = next((s for s in sources if s.chunk_id == earlier.passage.chunk_id), None)
    published = published_day(earlier.passage.published)
    if source is None or published is None:
        return ""
    return f"; earlier reported: {earlier.text} [{source.n}], {day(published)}"


def _published_after(p: Passage, as_of: date) -> bool:
    published = published_day(p.published)
    return published is not None and published > as_of


def _within(p: Passage, window: Window) -> bool:
    """Published on a day the window's news is (start..last_report)."""
    published = published_day(p.published)
    return published is not None and window.start <= published <= window.last_report


def _dated(source: Source) -> str:
    """When the answer's evidence was published: "as of 20 June 2022 [1]"."""
    published = published_day(source.published)
    return f"as of {day(published)} [{source.n}]" if published else ""


def _nothing_from(
    q: Question, window: Window, passages: list[Passage], settings: AnswerSettings
) -> Answer:
    """Asked about a window the index has nothing from: say so, and show the nearest reports
    with their dates instead of answering from old news."""
    nearest = _not_found(q, passages, gather(passages), settings)
    dates = [f"{day(d)} [{s.n}]" for s in nearest.sources if (d := published_day(s.published))]
    line = f"Nothing from {describe(window)} in the indexed articles"
    if dates:
        line += f"; the nearest reports are from {', '.join(dates)}"
    return replace(nearest, dated=line + ".")


def _evidence_at(reading: Reading, everything: list[Evidence]) -> Evidence:
    """The sentence holding the reader's span (a heading or a short line too: it is quoted)."""
    for e in everything:
        if e.passage.chunk_id == reading.passage.chunk_id and e.start <= reading.start < e.end:
            if reading.end <= e.end:
                return e
            # A span running past its sentence's end ("U.S." read as an end): quote through it.
            p = e.passage
            return replace(
                e, end=reading.end, text=p.text[e.start - p.start : reading.end - p.start]
            )
    return _line_at(reading)


def _line_at(reading: Reading) -> Evidence:
    """The segment of the passage holding the span (a short sentence, a heading), as evidence
    of its own; the span's own characters if no segment holds it whole."""
    p = reading.passage
    lo, hi = reading.start - p.start, reading.end - p.start
    for seg in segments(p.text):
        if seg.start <= lo and hi <= seg.end:
            lo, hi = seg.start, seg.end
            break
    text = p.text[lo:hi]
    return Evidence(
        passage=p,
        rank=0,
        start=p.start + lo,
        end=p.start + hi,
        text=text,
        context_start=p.start + lo,
        context="",
        words=words_of(text),
        context_words=words_of(f"{p.title} {p.source}"),
    )


# How old an article may be, before the newest indexed one, to answer "this week": half a
# year (on RealTimeQA dev a year kept a year-old loan-forgiveness report beside this week's).
STALE_AFTER = timedelta(days=180)


def _stale_passages(q: Question, passages: list[Passage], newest: str) -> set[int]:
    """For a question about the present, the chunks of articles half a year older than the newest
    indexed one (undated ones: no telling)."""
    if not (q.current and newest):
        return set()
    newest_day = published_day(newest)
    if newest_day is None:
        return set()
    cutoff = newest_day - STALE_AFTER
    return {
        p.chunk_id
        for p in passages
        if (on := published_day(p.published)) is not None and on < cutoff
    }


def _unit(_: str) -> float:
    return 1.0


def _confidence(
    q: Question, usable: list[Evidence], weigh: Weigh, top: int = 3, *, several: bool = False
) -> float:
    """How surely the best sentences answer q: a sentence close in meaning that, with its
    context, holds the question's rare words and its names; for a question about several
    reports (several=True), the best sentences together hold them."""
    best = 0.0
    together = frozenset().union(*(e.words | e.context_words for e in usable[:top]))
    for e in usable[:top]:
        seen = together if several else e.words | e.context_words
        names = coverage(q.names, seen, weigh) if q.names else 1.0
        best = max(best, e.similarity + 0.5 * coverage(q.words, seen, weigh) + 0.3 * names)
    return best


# ---------------------------------------------------------------------------------------------
# Multi-part questions and yes/no


def _part_evidence(
    q: Question,
    usable: list[Evidence],
    passages: list[Passage],
    weigh: Weigh,
    settings: AnswerSettings,
) -> list[tuple[str, Evidence | None]]:
    """For each part of a multi-part question, its best sentence (None: no evidence)."""
    if len(q.parts) < 2:
        return []
    outlets = OutletMatcher({p.source for p in passages})
    ordered = sorted(q.parts, key=lambda part: q.text.find(part))
    out: list[tuple[str, Evidence | None]] = []
    for part in ordered:
        named = outlets.find(part)
        # Words of the outlets it names are where to look, not what to find.
        words = words_of(part) - words_of(" ".join(named))
        if len(words) < 2:
            continue  # an attribution ("as the Valley Times reported"), not a part
        pool = [e for e in usable if not named or e.passage.source in named]
        best = max(
            pool,
            key=lambda e: (coverage(words, e.words | e.context_words, weigh), e.score),
            default=None,
        )
        best_cover = coverage(words, best.words | best.context_words, weigh) if best else 0.0
        yes_no = q.kind is Kind.YES_NO
        needed = settings.min_yes_no_part_coverage if yes_no else settings.min_part_coverage
        out.append((part, best if best_cover >= needed else None))
    return out if len(out) >= 2 else []


def _yes_no(
    q: Question,
    usable: list[Evidence],
    parts: list[Evidence],
    settings: AnswerSettings,
    *,
    about_reports: bool = False,
) -> Answer:
    """Yes/No from the cited evidence: every part found (and, when the question asks about the
    order of reports, their dates in that order), with the reasoning shown."""
    evidence = parts or usable[:1]
    chosen = _choose(evidence[0], evidence, usable, settings)
    claims, sources = _cite(chosen, q)
    cited = [next(s for s in sources if s.chunk_id == e.passage.chunk_id) for e in evidence]
    reasons = [f"{s.source or s.title} ({s.date or 'undated'}) [{s.n}]" for s in cited]
    if q.options:
        return _either_or(q, claims, sources, reasons)
    verdict = "Yes"
    if q.order and len(cited) >= 2 and cited[0].date and cited[1].date:
        first, second = cited[0].date, cited[1].date
        in_order = first <= second if q.order == "before" else first >= second
        verdict = "Yes" if in_order else "No"
        relation = "before" if first < second else "after" if first > second else "the same day as"
        reasoning = f"{reasons[0]} was published {relation} {reasons[1]}"
    elif not parts and _says_not(q, evidence[0].text):
        verdict = "No"
        reasoning = f"reported as not so by {reasons[0]}"
    elif q.asks_difference:
        # Footnote can find reports, not judge that they disagree: no difference is shown.
        verdict = "No"
        reasoning = f"no difference shown between {' and '.join(reasons)}; compare the quotes"
    elif not parts and not about_reports and not _states(q, evidence[0]):
        # "Were any injuries reported?" and a quote about the eruption that names no injuries:
        # the quotes speak for themselves, no verdict.
        return Answer(q.text, True, claims, sources, kind=q.kind.value)
    else:
        reasoning = "reported by " + " and ".join(reasons)
    short = ShortAnswer(verdict, kind="yes/no", reasoning=reasoning)
    return Answer(q.text, True, claims, sources, short=short, kind=q.kind.value)


# "has not announced", "didn't sign", "never approved", "no injuries": a negation, then (a few
# fillers on) the word the question asks with.
_NOT = r"(?:\b(?:not|never|no longer|no)\b|n['’]t\b)"
_NEGATED = re.compile(
    rf"{_NOT}\s+(?:(?:yet|ever|been|be|have|has|had|to|a|an|the|any|so|fully|officially)\s+)"
    r"{0,2}([\w'’-]+)",
    re.I,
)


def _says_not(q: Question, sentence: str) -> bool:
    """The sentence says that what a simple yes/no question asks did not happen ("Subaru has
    not announced a similar recall" for "Has Subaru announced a recall?"); a question that is
    itself negated is left alone."""
    if re.search(_NOT, q.text, re.I):
        return False
    return any(words_of(m.group(1)) & q.words for m in _NEGATED.finditer(sentence))


# Words that date a question rather than say what it asks.
_TIME_WORDS = words_of("week weeks year years month months day days today recently recent new")
# How many of a yes/no question's own words (besides names and time words) its one quote must
# hold, with the sentence before and the headline, for a "Yes" (all of them if it has fewer).
# Not for questions about what named outlets reported: finding their reports answers those
# (MultiHop-RAG dev lost .013 when they too needed two of their words in the quote).
STATES = 2


def _states(q: Question, e: Evidence) -> bool:
    """The quote states what a simple yes/no question asks, not just its subject."""
    asked = words_of(q.focus) - q.names - _TIME_WORDS
    return len(asked & (e.words | e.context_words)) >= min(STATES, len(asked))


def _either_or(
    q: Question, claims: list[Claim], sources: list[Source], reasons: list[str]
) -> Answer:
    """An either-or question gets one of its options or no verdict. Footnote finds reports,
    it cannot judge that they disagree: asked whether they agree or differ ("consistent or
    inconsistent", "the same ..., or different ...?"), it answers with the agreeing option,
    shown as a presumption; other options ("larger or smaller") are left to the quotes."""
    agreeing = agreeing_option(q.options)
    if not agreeing:
        return Answer(q.text, True, claims, sources, kind=q.kind.value)
    verdict = agreeing[:1].upper() + agreeing[1:]
    reasoning = f"no difference shown between {' and '.join(reasons)}; compare the quotes"
    short = ShortAnswer(verdict, kind="yes/no", reasoning=reasoning)
    return Answer(q.text, True, claims, sources, short=short, kind=q.kind.value)


# ---------------------------------------------------------------------------------------------
# Quotes and sources


def _choose(
    lead: Evidence, required: list[Evidence], usable: list[Evidence], settings: AnswerSettings
) -> list[Evidence]:
    """The answer sentence, each part's sentence, then near-best sentences, no two alike and
    none restating one already chosen (two reports of the same figures leave room for the
    reason asked about)."""
    chosen: list[Evidence] = []
    best = usable[0].score
    extra = [e for e in usable if e.score >= best - settings.max_gap]
    needed = [lead, *required]
    for e in needed + extra:
        if len(chosen) >= max(settings.max_claims, len(required) + 1):
            break
        if any(_overlaps(e, c) or _same_text(e, c) for c in chosen):
            continue
        if e not in needed and any(_restates(e, c) for c in chosen):
            continue
        chosen.append(e)
    return chosen


def _cite(chosen: list[Evidence], q: Question) -> tuple[list[Claim], list[Source]]:
    """One source per quote: each [n] points at exactly the words it quotes. A quote that
    names its subject only by reference brings the sentence before it or, with none before it,
    its headline; so does a quote whose short answer stands in its headline."""
    # "the hit Korean show" refers to the show asked about; "the price" to no figure asked.
    focus = q.focus if q.kind in (Kind.NAME, Kind.ORGANISATION, Kind.PERSON, Kind.PLACE) else ""
    claims, sources = [], []
    for n, e in enumerate(chosen, 1):
        source = _source(n, e, focus=focus)
        alone = source.snippet_start == e.start
        title = e.passage.title.strip()
        shown = alone and e.by_reference(focus)
        headline = title if shown and title else ""
        claims.append(Claim(text=source.snippet, n=n, headline=headline))
        sources.append(source)
    return claims, sources


def _source(n: int, e: Evidence, *, with_context: bool = True, focus: str = "") -> Source:
    """The source of a quote; a quote naming its subject only by reference ("He", "the
    company", or "the ... <focus>" for the thing asked about) brings the sentence before it,
    so the reader sees who "he" is."""
    p = e.passage
    start = e.start
    if with_context and e.refers_back(focus) and e.end - e.context_start <= MAX_QUOTE_CHARS:
        start = e.context_start
    return Source.quoting(n, p, start, e.end)


def _overlaps(a: Evidence, b: Evidence) -> bool:
    return (
        a.passage.article_id == b.passage.article_id
        and a.context_start < b.end
        and b.context_start < a.end
    )


def _same_text(a: Evidence, b: Evidence) -> bool:
    return " ".join(a.text.lower().split()) == " ".join(b.text.lower().split())


# A sentence restates another when this share of the words of the shorter is in both.
RESTATES = 0.7


def _restates(a: Evidence, b: Evidence) -> bool:
    shorter = min(len(a.words), len(b.words))
    return shorter > 0 and len(a.words & b.words) >= RESTATES * shorter


# ---------------------------------------------------------------------------------------------
# Saying so


def _not_found(
    q: Question,
    passages: list[Passage],
    scored: list[Evidence],
    settings: AnswerSettings,
    *,
    missing: list[str] | None = None,
) -> Answer:
    """No answer: show the nearest passages (their best sentence) so the user can look."""
    sources: list[Source] = []
    for passage in passages:
        if len(sources) == settings.nearest_sources:
            break
        if any(s.article_id == passage.article_id for s in sources):
            continue
        best = next((e for e in scored if e.passage.chunk_id == passage.chunk_id), None)
        if best is not None:
            sources.append(_source(len(sources) + 1, best, with_context=False))
    return Answer(
        q.text,
        False,
        sources=sources,
        kind=q.kind.value,
        missing=[_summary(part) for part in missing or []],
    )


def _summary(part: str, limit: int = 90) -> str:
    part = re.sub(r"^(?:and|but|while|whereas|yet|also)\s+", "", part.strip(), flags=re.I)
    return part if len(part) <= limit else part[: limit - 1].rsplit(" ", 1)[0] + "…"


# A name in more than a fifth of the indexed chunks ("US" in American news) says little about
# which passages can answer: its absence from them does not mean the answer is missing.
MIN_NAME_WEIGHT = math.log(5)


def _missing_names(q: Question, passages: list[Passage], weigh: Weigh = _unit) -> float:
    """The share of the question's names found in none of the passages (text, title or outlet).

    A name word in more than a fifth of the indexed chunks counts only inside its phrase: "US
    Open" must be there as a phrase, while "US" alone constrains nothing.
    """
    if not q.names:
        return 0.0
    texts = [f"{p.title} {p.source} {p.text}" for p in passages]
    seen: set[str] = set().union(*(words_of(text) for text in texts))
    if weigh is _unit:
        return len(q.names - seen) / len(q.names)
    folded_texts = [_folded(text) for text in texts]
    units: list[bool] = []  # each distinctive name word, or phrase of common ones: seen?
    for phrase in name_phrases(q.text):
        words = words_of(phrase)
        distinct = [w for w in words if weigh(w) >= MIN_NAME_WEIGHT]
        if distinct:
            units += [w in seen for w in distinct]
        elif len(phrase.split()) > 1:
            folded = _folded(phrase)
            units.append(any(folded in t for t in folded_texts))
    return units.count(False) / len(units) if units else 0.0


def _folded(text: str) -> str:
    """Lower case, no dots ("U.S." == "US"), other punctuation as spaces ("US Open's"), single
    spaces: for finding a phrase."""
    text = re.sub(r"[^\w\s]", " ", text.lower().replace(".", "").replace("’", "'"))
    return " " + " ".join(text.split()) + " "
