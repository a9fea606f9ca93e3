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
        "jun jul aug sep sept oct nov dec u.s u.k e.g i.e a.m p.m"
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
