"""The reader's stage of the answer: the best span across the retrieved passages.

bot/reader gives each passage's best span and no-answer score; across passages the answer is
the best span, and it stands only if it beats the no-answer score of the passage that is
surest to hold no answer (as Hugging Face's SQuAD 2.0 post-processing does across the windows
of one context). Spans come back in article coordinates, verbatim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.reader.model import Reader
from index.search import Passage

_TRAILING = ",;:"


@dataclass(frozen=True)
class Reading:
    """The reader's answer: passage.text's words at article offsets [start, end)."""

    passage: Passage
    start: int
    end: int
    text: str
    score: float
    no_answer: float

    @property
    def margin(self) -> float:
        """How much surer the reader is of the span than of "no answer"."""
        return self.score - self.no_answer


Read = Callable[[str, list[Passage]], "Reading | None"]


def passage_reader(reader: Reader) -> Read:
    """A Read over the given model."""

    def read(question: str, passages: list[Passage]) -> Reading | None:
        spans = reader.read(question, [p.text for p in passages])
        if not spans:
            return None
        best = max(spans, key=lambda s: s.score)
        no_answer = min(s.no_answer for s in spans)
        p = passages[best.passage]
        start, end = best.start, best.end
        while end > start and (p.text[end - 1].isspace() or p.text[end - 1] in _TRAILING):
            end -= 1
        return Reading(
            passage=p,
            start=p.start + start,
            end=p.start + end,
            text=p.text[start:end],
            score=best.score,
            no_answer=no_answer,
        )

    return read
