"""Where an index is stored: the seam between the builder / retriever and the storage engine.

Two backends implement it: files.py (faiss + SQLite files in the data directory, the embedded
default) and milvus.py (collections on a Milvus server or Milvus Lite). bot/service.py picks
one from the settings; nothing else knows which is in use.

A backend holds *generations*: complete, read-only indexes. A build stages a new generation
beside the published one (copying what did not change), then publishes it in one atomic step,
so readers only ever see a complete index.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from index.articles import Article
from index.chunk import Chunk
from index.store import ArticleRecord, ChunkRecord, Manifest


@dataclass(frozen=True)
class Where:
    """Only chunks of articles from one of sources (if any), published on one of dates (if any:
    YYYY-MM-DD)."""

    sources: frozenset[str] = frozenset()
    dates: frozenset[str] = frozenset()


class Reader(Protocol):
    """One published generation, read-only; safe to share between threads."""

    generation: str
    manifest: Manifest

    def dense(
        self, vector: np.ndarray, n: int, where: Where | None = None
    ) -> list[tuple[int, float]]:
        """Chunk ids and cosine scores of the n nearest chunks (of where's), best first."""
        ...

    def keyword(
        self, question: str, n: int, where: Where | None = None
    ) -> list[tuple[int, float]]:
        """Chunk ids and BM25 scores of the n best keyword matches of question (among where's
        chunks), best first."""
        ...

    def vector(self, chunk_id: int) -> np.ndarray:
        """The stored vector of one chunk."""
        ...

    def chunks(self, ids: list[int]) -> dict[int, ChunkRecord]:
        """The chunks of ids (with their article's metadata) that exist."""
        ...

    def article(self, article_id: str) -> ArticleRecord | None: ...

    def lead(self, article_id: str) -> ChunkRecord | None:
        """The first chunk of an article (its lead), None if it is not indexed."""
        ...

    def articles(self) -> list[ArticleRecord]:
        """Every indexed article, newest first, with its text left empty."""
        ...

    def hashes(self) -> dict[str, str]:
        """Article id -> content hash of every indexed article (what a build diffs against)."""
        ...

    def document_frequency(self, word: str) -> int:
        """How many chunks hold word (folded as the keyword index folds words)."""
        ...

    def close(self) -> None: ...


class Staging(Protocol):
    """A generation being built: invisible to readers until publish(); discard() drops it."""

    def hashes(self) -> dict[str, str]:
        """Article id -> content hash of what the staged generation holds so far."""
        ...

    def remove(self, article_ids: list[str]) -> None:
        """Drop these articles and their chunks."""
        ...

    def add(self, articles: list[tuple[Article, list[Chunk]]], vectors: np.ndarray) -> None:
        """Add articles with their chunks; vectors holds one row per chunk, in order."""
        ...

    def counts(self) -> tuple[int, int]:
        """(articles, chunks) held."""
        ...

    def publish(self, manifest: Manifest) -> None:
        """Make this generation the one readers open, atomically."""
        ...

    def discard(self) -> None:
        """Drop what was staged (the published generation is untouched)."""
        ...


class Backend(Protocol):
    """A place that holds published generations of one index."""

    name: str

    def describe(self) -> str:
        """Where the index lives, for messages (never a secret)."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Held by the one running build.

        Raises:
            IndexLockedError: another build holds it.
        """
        ...

    def current(self) -> str | None:
        """The published generation's name, or None when nothing was ever published.

        Raises:
            IndexCorruptError, IndexUnavailableError.
        """
        ...

    def open(self, generation: str) -> Reader:
        """Open a published generation.

        Raises:
            IndexCorruptError, IndexUnavailableError.
        """
        ...

    def stage(self, generation: str, base: Reader | None, dimensions: int) -> Staging:
        """Start a new generation: a copy of base (or empty), not yet visible to readers."""
        ...

    def sweep(self) -> None:
        """Remove what killed builds left behind (called with the build lock held)."""
        ...

    def collect_garbage(self, keep: set[str]) -> None:
        """Drop every generation but keep's (readers may still be on the one replaced)."""
        ...
