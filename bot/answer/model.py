"""What an answer is: a short answer, cited quotes and their sources (plain value objects)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from index.articles import display_date
from index.search import Passage

NOT_FOUND = "I couldn't find an answer to that in the indexed articles."


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

    @classmethod
    def quoting(cls, n: int, p: Passage, start: int, end: int) -> Source:
        """Source n quoting passage p's words at article offsets [start, end)."""
        return cls(
            n=n,
            title=p.title,
            source=p.source,
            published=p.published,
            url=p.url,
            article_id=p.article_id,
            chunk_id=p.chunk_id,
            snippet=p.text[start - p.start : end - p.start],
            snippet_start=start,
            snippet_end=end,
            passage=p.text,
            passage_start=p.start,
            passage_end=p.end,
        )

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
    # Its article's headline, shown before it when the quote names what it is about only by
    # reference ("the show", "It") and no sentence before it says what, or when the short
    # answer candidate stands in the headline.
    headline: str = ""

    @property
    def shown(self) -> str:
        return f"{self.headline} — {self.text}" if self.headline else self.text


@dataclass(frozen=True)
class ShortAnswer:
    """The direct answer shown first.

    Either a verbatim span of source n's article (kind "span": text ==
    article.text[start:end], or of its headline when in_title) that the reader found, with the
    reader's span score and no-answer score, or "Yes"/"No" (kind "yes/no"; for an either-or
    question one of the options it gives, such as "Consistent") derived from the cited
    evidence, with the reasoning shown beside it.
    """

    text: str
    kind: str = "span"
    n: int = 0
    start: int = -1
    end: int = -1
    in_title: bool = False  # always False now; kept so answers saved before still load
    reasoning: str = ""
    score: float | None = None
    no_answer: float | None = None

    @property
    def line(self) -> str:
        """The short answer as its own line: 'Squid Game [1]' or 'Yes: reasoning'."""
        if self.kind == "span":
            return f"{self.text} [{self.n}]"
        return f"{self.text}: {self.reasoning}" if self.reasoning else self.text


@dataclass(frozen=True)
class Generated:
    """A sentence a language model wrote, shown only after it passed the check against the
    passages it cites (bot/answer/check.py)."""

    text: str
    cites: tuple[int, ...]

    @property
    def shown(self) -> str:
        return f"{self.text} {''.join(f'[{n}]' for n in self.cites)}".strip()


@dataclass(frozen=True)
class Answer:
    question: str
    found: bool
    claims: list[Claim] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    short: ShortAnswer | None = None
    kind: str = ""  # the kind of answer the question asks for (question.Kind)
    # Parts of a multi-part question that no passage bears on ("what The Verge reported").
    missing: list[str] = field(default_factory=list)
    # A follow-up as it was looked up, its references resolved ("" when read as asked).
    read_as: str = ""
    # When the evidence was published ("as of 20 June 2022 [1]"); for a question about a time
    # the index has nothing from, the line that says so ("Nothing from the week of ...").
    dated: str = ""
    # The day the question was asked on (YYYY-MM-DD), when it was given.
    as_of: str = ""
    # What a read answer rests on (the reader's margin, the shares of the question's words and
    # names the span's sentence holds, the best sentence's cosine).
    evidence: dict[str, float] = field(default_factory=dict)
    # A generated answer: its checked sentences (shown instead of the short answer, the quotes
    # below them), how many sentences failed the check and were dropped, and a one-line note
    # when generation was tried and the extractive answer is shown instead.
    generated: list[Generated] = field(default_factory=list)
    dropped: int = 0
    note: str = ""

    @property
    def text(self) -> str:
        """The shown answer: the short answer's line (or the generated sentences), then the
        quotes with [n] markers."""
        if self.generated:
            return self.generated_text
        if not self.found:
            if self.dated:
                return self.dated
            if self.missing:
                return f"{NOT_FOUND} Nothing found on: {'; '.join(self.missing)}."
            return NOT_FOUND
        head = self.short.line if self.short else ""
        if self.dated:
            head = f"{head} ({self.dated})" if head else f"({self.dated})"
        return f"{head}\n{self.quotes}" if head else self.quotes

    @property
    def generated_text(self) -> str:
        return " ".join(g.shown for g in self.generated)

    @property
    def quotes(self) -> str:
        """The quoted sentences, each followed by its [n]."""
        return " ".join(f"{c.shown} [{c.n}]" for c in self.claims)

    def source(self, n: int) -> Source | None:
        return next((s for s in self.sources if s.n == n), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "found": self.found,
            "answer": self.text,
            "kind": self.kind,
            "short_answer": asdict(self.short) if self.short else None,
            "missing": list(self.missing),
            "read_as": self.read_as,
            "dated": self.dated,
            "as_of": self.as_of,
            "evidence": dict(self.evidence),
            "generated": [asdict(g) for g in self.generated],
            "dropped": self.dropped,
            "note": self.note,
            "claims": [asdict(c) for c in self.claims],
            "sources": [asdict(s) | {"date": s.date} for s in self.sources],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        fields = Source.__dataclass_fields__
        short = data.get("short_answer")
        return cls(
            question=data["question"],
            found=data["found"],
            claims=[Claim(**c) for c in data["claims"]],
            sources=[
                Source(**{k: v for k, v in s.items() if k in fields}) for s in data["sources"]
            ],
            short=ShortAnswer(**short) if short else None,
            kind=data.get("kind", ""),
            missing=list(data.get("missing", [])),
            read_as=data.get("read_as", ""),
            dated=data.get("dated", ""),
            as_of=data.get("as_of", ""),
            evidence=dict(data.get("evidence", {})),
            generated=[Generated(g["text"], tuple(g["cites"])) for g in data.get("generated", [])],
            dropped=int(data.get("dropped", 0)),
            note=data.get("note", ""),
        )
