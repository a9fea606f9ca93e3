"""Sentence and paragraph boundaries with exact character offsets."""

from __future__ import annotations

import re
from typing import NamedTuple

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace and
# an upper-case letter, digit or opening quote; or at a line break. Abbreviations like "U.S." or
# "Mr." stay inside their sentence because the next character decides, not the full stop alone.
_BOUNDARY = re.compile(
    r"""(?<=[.!?])["'”’)\]]*\s+(?=["'“‘(\[]?[A-Z0-9])|\n\s*""",
)
_ABBREVIATIONS = frozenset(
    (
        "mr mrs ms dr prof sr jr st mt gen gov sen rep inc co corp ltd vs etc no jan feb mar apr "
        "jun jul aug sep sept oct nov dec u.s u.k e.g i.e a.m p.m "
        # titles before a name: "Lt. Nyota Uhura", "Capt. Ada Reyes"
        "lt col capt cmdr sgt maj adm cpl pvt rev hon det supt insp pres atty ft"
    ).split()
)


class Span(NamedTuple):
    """A half-open character range [start, end) of a text."""

    start: int
    end: int


def sentence_spans(text: str) -> list[Span]:
    """Split text into sentence spans, trimmed of surrounding whitespace, none empty."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if "\n" not in match.group(0):
            word = text[max(0, match.start() - 6) : match.start()].split()
            if word and word[-1].rstrip(".").lower() in _ABBREVIATIONS:
                continue
        _append_trimmed(text, start, match.start(), spans)
        start = match.end()
    _append_trimmed(text, start, len(text), spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, spans: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start, end))


class Segment(NamedTuple):
    """A sentence span, and whether it states something (headings, questions, bylines do not)."""

    start: int
    end: int
    statement: bool


_LABEL_WORDS = 3  # a line of at most this many words is a label that belongs to the next line
_HEADING_WORDS = 16
_STATEMENT_END = re.compile(r"""[.!]["'”’)\]]*$""")
_BYLINE = re.compile(r"^(by|photo|image|credit|source|read more|related|advertisement)\b", re.I)


def segments(text: str) -> list[Segment]:
    """News-grade sentences of text: sentence_spans, with a line-broken label joined to the line
    it labels (a line "Director." before "Jane Smith said ...", or a line continuing in lower
    case), and headings, questions and bylines marked as stating nothing. Spans stay exact.
    """
    spans = sentence_spans(text)
    merged: list[Span] = []
    i = 0
    while i < len(spans):
        start, end = spans[i]
        # A short fragment on a line of its own continues into the next line's sentence.
        while (
            i + 1 < len(spans)
            and len(text[start:end].split()) <= _LABEL_WORDS
            and "\n" in text[end : spans[i + 1].start]
            and "\n\n" not in text[end : spans[i + 1].start]
            and (text[start:end].endswith(".") or text[spans[i + 1].start].islower())
        ):
            i += 1
            end = spans[i].end
        merged.append(Span(start, end))
        i += 1
    return [Segment(s, e, _states(text[s:e])) for s, e in merged]


def statements(text: str) -> list[str]:
    """The stating sentences of a passage's text, or the whole text if none states anything:
    the texts the reranker embeds, and the only ones the answer layer scores (so a build stores
    their vectors, index/sentence_vectors.py)."""
    return [text[s.start : s.end] for s in segments(text) if s.statement] or [text]


def _states(sentence: str) -> bool:
    words = sentence.split()
    if sentence.rstrip("\"'”’) ").endswith("?") or _BYLINE.match(sentence):
        return False
    # A heading: short and without a full stop at its end.
    return not (len(words) <= _HEADING_WORDS and not _STATEMENT_END.search(sentence))
