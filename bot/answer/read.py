"""The reader's stage of the answer: each passage's best span, and the pick across passages.

bot/reader gives each passage's best span and no-answer score. Across passages the answer is
the best span, and it stands only if it beats the no-answer score of the passage that is surest
to hold no answer (as Hugging Face's SQuAD 2.0 post-processing does across the windows of one
context). Spans come back in article coordinates, verbatim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.reader.model import Reader
from index.search import Passage

_TRAILING = ",;:"


@dataclass(frozen=True)
class Reading:
    """The reader's best span of one passage: passage.text's words at article offsets
    [start, end), its score and the passage's no-answer score."""

    passage: Passage
    start: int
    end: int
    text: str
    score: float
    no_answer: float


Read = Callable[[str, list[Passage]], list[Reading]]


def passage_reader(reader: Reader) -> Read:
    """A Read over the given model: one Reading per non-empty passage, in order."""

    def read(question: str, passages: list[Passage]) -> list[Reading]:
        out = []
        for span in reader.read(question, [p.text for p in passages]):
            p = passages[span.passage]
            start, end = span.start, span.end
            while end > start and (p.text[end - 1].isspace() or p.text[end - 1] in _TRAILING):
                end -= 1
            out.append(
                Reading(
                    passage=p,
                    start=p.start + start,
                    end=p.start + end,
                    text=p.text[start:end],
                    score=span.score,
                    no_answer=span.no_answer,
                )
            )
        return out

    return read


def pick(readings: list[Reading], bar: float) -> tuple[Reading, float] | None:
    """The best span across passages and its margin over the surest no-answer, when that
    margin clears the bar; None when "no answer" wins."""
    if not readings:
        return None
    best = max(readings, key=lambda r: r.score)
    margin = best.score - min(r.no_answer for r in readings)
    return (best, margin) if margin > bar else None
