"""Incremental index builds driven by content hashes, published atomically.

Only new or changed articles are chunked and embedded; deleted ones are dropped. Vectors
are cached while a build runs (index/vector_cache.py), so a build that was killed resumes
where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from index.articles import Article, load_corpus
from index.backends import Backend, Reader, Staging
from index.backends.files import FilesBackend, build_lock
from index.chunk import Chunk, Chunker, ChunkSettings, embed_text
from index.embed import Embedder
from index.errors import ArticleError, IndexCorruptError
from index.store import Manifest, index_dir
from index.vector_cache import VectorCache

__all__ = [
    "CHUNKING",
    "EMBEDDING",
    "EMBED_BATCH",
    "BuildReport",
    "Progress",
    "build_index",
    "build_lock",
]

log = logging.getLogger(__name__)

CHUNKING, EMBEDDING = "chunking", "embedding"


class Progress(Protocol):
    """Told how a build goes: (done, total) of its stage, CHUNKING (characters of article text
    cut into passages) then EMBEDDING (passages embedded)."""

    def __call__(self, done: int, total: int, stage: str = EMBEDDING) -> None: ...


# Passages embedded between progress reports: the ONNX backend's smallest bulk call (smaller
# ones run on one thread), a second or two on a few cores and under 10 s on a slow machine.
EMBED_BATCH = 128
# An article with more text than this is far larger than news articles (2,000-20,000
# characters): it is indexed, with a warning, as it takes minutes to cut and embed.
LARGE_ARTICLE_CHARS = 1_000_000
CACHE = "embed-cache.sqlite"


@dataclass
class BuildReport:
    """What one build did."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    articles_total: int = 0
    chunks_total: int = 0
    generation: str | None = None
    published: bool = False
    full_rebuild_reason: str | None = None
    errors: list[ArticleError] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def build_index(
    corpus_dir: Path,
    data_dir: Path,
    embedder: Embedder,
    settings: ChunkSettings,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    backend: Backend | None = None,
) -> BuildReport:
    """Bring the index in data_dir up to date with corpus_dir.

    Args:
        corpus_dir: the articles (the source of truth).
        data_dir: where the index lives.
        embedder: the embedding model; a different one than the index's forces a full rebuild.
        settings: chunking settings; different ones force a full rebuild.
        rebuild: re-embed everything even if nothing changed.
        progress: called with (chunks embedded, chunks to embed) as embedding goes.
        backend: where the index is stored (default: files in data_dir).

    Raises:
        CorpusError: the corpus directory is missing.
        IndexLockedError: another build is running.
        IndexUnavailableError: the backend cannot be reached.
    """
    started = time.perf_counter()
    backend = backend or FilesBackend(data_dir)
    with backend.lock():
        loaded = load_corpus(corpus_dir)
        report = BuildReport(errors=list(loaded.errors), duplicates=list(loaded.duplicates))
        builder = _Builder(data_dir, backend, embedder, settings, report)
        builder.run(loaded.articles, rebuild=rebuild, progress=progress)
    report.seconds = time.perf_counter() - started
    return report


def _versions() -> dict[str, str]:
    out = {}
    for dist in (
        "footnote",
        "faiss-cpu",
        "sentence-transformers",
        "tiktoken",
        "torch",
        "onnxruntime",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


class _Builder:
    def __init__(
        self,
        data_dir: Path,
        backend: Backend,
        embedder: Embedder,
        settings: ChunkSettings,
        report: BuildReport,
    ) -> None:
        self.root = index_dir(data_dir)
        self.backend = backend
        self.embedder = embedder
        self.settings = settings
        self.report = report
        self.chunker = Chunker(settings, embedder.count_tokens, embedder.max_tokens)

    def run(self, articles: list[Article], *, rebuild: bool, progress: Progress | None) -> None:
        self.backend.sweep()
        previous = self._previous(rebuild)
        try:
            if previous is not None and previous.hashes() == {
                a.id: a.content_hash for a in articles
            }:
                self.report.generation = previous.generation
                self.report.unchanged = self.report.articles_total = len(articles)
                self.report.chunks_total = previous.manifest.chunks
                return
            generation = f"gen-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
            staging = self.backend.stage(generation, previous, self.embedder.dimensions)
            try:
                todo = self._diff(staging, articles)
                self._add(staging, todo, progress)
                self.report.articles_total, self.report.chunks_total = staging.counts()
                staging.publish(self._manifest(generation))
            except BaseException:
                staging.discard()
                raise
        finally:
            if previous is not None:
                previous.close()
        self.report.generation = generation
        self.report.published = True
        self._clear_cache()
        self.backend.collect_garbage(keep={generation, previous.generation if previous else ""})

    def _manifest(self, generation: str) -> Manifest:
        return Manifest(
            model=self.embedder.name,
            dimensions=self.embedder.dimensions,
            model_max_tokens=self.embedder.max_tokens,
            chunking=self.settings.as_dict(),
            articles=self.report.articles_total,
            chunks=self.report.chunks_total,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            generation=generation,
            versions=_versions(),
            backend=self.embedder.backend,
        )

    def _previous(self, rebuild: bool) -> Reader | None:
        """The published generation to start from, or None for a full build (and why)."""
        try:
            name = self.backend.current()
            if name is None:
                return None
            snapshot = self.backend.open(name)
        except IndexCorruptError as exc:
            self.report.full_rebuild_reason = f"the published index is damaged ({exc.detail})"
            return None
        manifest = snapshot.manifest
        reason = None
        if rebuild:
            reason = "a full rebuild was asked for"
        elif (
            manifest.model != self.embedder.name or manifest.dimensions != self.embedder.dimensions
        ):
            reason = (
                f"the embedding model changed from {manifest.model} ({manifest.dimensions}d) "
                f"to {self.embedder.name} ({self.embedder.dimensions}d)"
            )
        elif manifest.backend != self.embedder.backend:
            reason = (
                f"the embedding backend changed from {manifest.backend} to "
                f"{self.embedder.backend} (their vectors differ slightly and are never mixed)"
            )
        elif manifest.chunking != self.settings.as_dict():
            reason = f"chunk settings changed from {manifest.chunking} to {self.settings.as_dict()}"
        if reason:
            snapshot.close()
            self.report.full_rebuild_reason = reason
            return None
        return snapshot

    def _diff(self, staging: Staging, articles: list[Article]) -> list[Article]:
        """Drop removed and changed articles; return the ones to (re-)embed."""
        known = staging.hashes()
        current = {a.id for a in articles}
        todo: list[Article] = []
        stale: list[str] = [aid for aid in known if aid not in current]
        self.report.removed = len(stale)
        for article in articles:
            old = known.get(article.id)
            if old is None:
                self.report.added += 1
                todo.append(article)
            elif old != article.content_hash:
                self.report.updated += 1
                stale.append(article.id)
                todo.append(article)
            else:
                self.report.unchanged += 1
        staging.remove(stale)
        return todo

    def _add(self, staging: Staging, todo: list[Article], progress: Progress | None) -> None:
        pending: list[tuple[Article, list[Chunk]]] = []
        total = sum(len(a.text) for a in todo)
        done = 0
        for article in todo:
            if len(article.text) > LARGE_ARTICLE_CHARS:
                log.warning(
                    "%s holds %s characters of text, far larger than a news article (over %s): "
                    "cutting and embedding it takes minutes",
                    article.id,
                    f"{len(article.text):,}",
                    f"{LARGE_ARTICLE_CHARS:,}",
                )
            told = None
            if progress is not None:
                told = _chunking(progress, done, total)
            try:
                pending.append((article, self.chunker.chunk(article, told)))
            except ArticleError as exc:
                # The article is left out (an old version was already dropped in _diff).
                self.report.errors.append(exc)
            done += len(article.text)
            if progress is not None:
                progress(done, total, stage=CHUNKING)
        texts = [embed_text(a, c.text, self.settings) for a, chunks in pending for c in chunks]
        staging.add(pending, self._embed(texts, progress))

    def _embed(self, texts: list[str], progress: Progress | None) -> np.ndarray:
        """Vectors for texts, from the resume cache where a killed build left them."""
        started = time.perf_counter()
        out = np.zeros((len(texts), self.embedder.dimensions), dtype=np.float32)
        cache = VectorCache(self.root / CACHE, self.embedder.dimensions)
        try:
            prefix = f"{self.embedder.name}\0{self.embedder.backend}\0{self.embedder.dimensions}\0"
            keys = [hashlib.sha256((prefix + t).encode()).hexdigest() for t in texts]
            cached = cache.get(keys)
            missing: list[int] = []
            for i, key in enumerate(keys):
                if key in cached:
                    out[i] = cached[key]
                else:
                    missing.append(i)
            self.report.chunks_reused = len(texts) - len(missing)
            if progress:
                progress(0, len(missing), stage=EMBEDDING)
            for lo in range(0, len(missing), EMBED_BATCH):
                batch = missing[lo : lo + EMBED_BATCH]
                vecs = self.embedder.embed([texts[i] for i in batch])
                out[batch] = vecs
                cache.put([(keys[i], vecs[j]) for j, i in enumerate(batch)])
                if progress:
                    progress(lo + len(batch), len(missing), stage=EMBEDDING)
            self.report.chunks_embedded = len(missing)
        finally:
            cache.close()
        self.report.embed_seconds = time.perf_counter() - started
        return out

    def _clear_cache(self) -> None:
        path = self.root / CACHE
        if path.exists():
            path.unlink()


def _chunking(progress: Progress, before: int, total: int) -> Callable[[int], None]:
    """A Chunker's progress (characters of one article cut) as the build's chunking stage."""
    return lambda cut: progress(before + cut, total, stage=CHUNKING)
