"""Incremental index builds driven by content hashes, published atomically.

Only new or changed articles are chunked and embedded; deleted ones are dropped. The stating
sentences of new or changed articles' chunks are embedded too and stored beside the
generation (index/sentence_vectors.py), so questions look them up instead of embedding them;
the others' come from the last generation's store. Vectors are cached while a build runs
(index/vector_cache.py), so a build that was killed resumes where it stopped.
"""

from __future__ import annotations

import logging
import sqlite3
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
from index.sentence_vectors import SentenceStaging, store_path, stored_articles
from index.sentence_vectors import collect_garbage as collect_sentences
from index.sentence_vectors import sweep as sweep_sentences
from index.sentences import statements
from index.store import Manifest, index_dir
from index.vector_cache import VectorCache, vector_keys

__all__ = [
    "CHUNKING",
    "EMBEDDING",
    "EMBED_BATCH",
    "SENTENCES",
    "BuildReport",
    "Progress",
    "build_index",
    "build_lock",
]

log = logging.getLogger(__name__)

CHUNKING, EMBEDDING, SENTENCES = "chunking", "embedding", "sentences"


class Progress(Protocol):
    """Told how a build goes: (done, total) of its stage, CHUNKING (characters of article text
    cut into passages), EMBEDDING (passages embedded), then SENTENCES (sentences embedded)."""

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
    # Sentences whose vectors were stored: embedded now, or taken from the last generation's
    # store or a killed build's cache.
    sentences_embedded: int = 0
    sentences_reused: int = 0
    articles_total: int = 0
    chunks_total: int = 0
    generation: str | None = None
    published: bool = False
    full_rebuild_reason: str | None = None
    errors: list[ArticleError] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0  # passages and sentences

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
        progress: called with (done, total, stage) as each stage goes (Progress).
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
        self.data_dir = data_dir
        self.root = index_dir(data_dir)
        self.backend = backend
        self.embedder = embedder
        self.settings = settings
        self.report = report
        self.chunker = Chunker(settings, embedder.count_tokens, embedder.max_tokens)

    def run(self, articles: list[Article], *, rebuild: bool, progress: Progress | None) -> None:
        self.backend.sweep()
        sweep_sentences(self.data_dir)
        previous = self._previous(rebuild)
        try:
            if previous is not None and self._unchanged(previous, articles, progress):
                return
            generation = f"gen-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
            staging = self.backend.stage(generation, previous, self.embedder.dimensions)
            try:
                todo = self._diff(staging, articles)
                chunked = self._add(staging, todo, progress)
                self.report.articles_total, self.report.chunks_total = staging.counts()
                base = previous.generation if previous is not None else None
                self._store_sentences(
                    generation, base, staging.hashes(), articles, chunked, progress
                )
                staging.publish(self._manifest(generation))
            except BaseException:
                staging.discard()
                store_path(self.data_dir, generation).unlink(missing_ok=True)
                raise
        finally:
            if previous is not None:
                previous.close()
        self.report.generation = generation
        self.report.published = True
        self._clear_cache()
        keep = {generation, previous.generation if previous else ""}
        self.backend.collect_garbage(keep=keep)
        collect_sentences(self.data_dir, keep)

    def _unchanged(
        self, previous: Reader, articles: list[Article], progress: Progress | None
    ) -> bool:
        """Whether previous holds articles as they are, so nothing is published. Its sentence
        vectors are stored then if they are not (an index built before they were, or whose
        store is unreadable)."""
        held = previous.hashes()
        if held != {a.id: a.content_hash for a in articles}:
            return False
        self.report.generation = previous.generation
        self.report.unchanged = self.report.articles_total = len(articles)
        self.report.chunks_total = previous.manifest.chunks
        generation = previous.generation
        if stored_articles(store_path(self.data_dir, generation), self.embedder) != held:
            self._store_sentences(generation, generation, held, articles, {}, progress)
            self._clear_cache()
        return True

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

    def _add(
        self, staging: Staging, todo: list[Article], progress: Progress | None
    ) -> dict[str, list[Chunk]]:
        """Chunk, embed and stage todo's articles; returns each staged article's chunks."""
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
        out = np.zeros((len(texts), self.embedder.dimensions), dtype=np.float32)

        def keep(rows: list[int], vectors: np.ndarray) -> None:
            out[rows] = vectors

        embedded = self._embed(texts, vector_keys(self.embedder, texts), keep, EMBEDDING, progress)
        self.report.chunks_embedded = embedded
        self.report.chunks_reused = len(texts) - embedded
        staging.add(pending, out)
        return {article.id: chunks for article, chunks in pending}

    def _store_sentences(
        self,
        generation: str,
        base: str | None,
        held: dict[str, str],
        articles: list[Article],
        chunked: dict[str, list[Chunk]],
        progress: Progress | None,
    ) -> None:
        """Store the vectors of the sentences of generation's articles (held: id -> content
        hash), taking those base's store holds and embedding the rest."""
        target = store_path(self.data_dir, generation)
        base_path = store_path(self.data_dir, base) if base is not None else None
        store = SentenceStaging(target, self.embedder, base_path)
        try:
            self._fill(store, held, articles, chunked, progress)
        except sqlite3.DatabaseError as exc:
            if base_path is None:
                raise
            # Damage its checks did not see, met while changing the copy: start afresh.
            log.warning(
                "the stored sentence vectors at %s are unusable (%s); embedding all again",
                base_path,
                exc,
            )
            self._fill(
                SentenceStaging(target, self.embedder, None), held, articles, chunked, progress
            )

    def _fill(
        self,
        store: SentenceStaging,
        held: dict[str, str],
        articles: list[Article],
        chunked: dict[str, list[Chunk]],
        progress: Progress | None,
    ) -> None:
        """Bring store to held's articles and publish it (discarded if that fails)."""
        try:
            store.drop([aid for aid, h in store.articles().items() if held.get(aid) != h])
            have = store.articles()
            need = [a for a in articles if a.id in held and have.get(a.id) != held[a.id]]
            sentences = self._sentences(need, chunked)
            texts = list(dict.fromkeys(t for group in sentences.values() for t in group))
            key_of = dict(zip(texts, vector_keys(self.embedder, texts), strict=True))
            known = store.known(list(key_of.values()))
            missing = [t for t in texts if key_of[t] not in known]
            keys = [key_of[t] for t in missing]

            def keep(rows: list[int], vectors: np.ndarray) -> None:
                store.put([(keys[i], vectors[j]) for j, i in enumerate(rows)])

            embedded = self._embed(missing, keys, keep, SENTENCES, progress)
            for article_id, group in sentences.items():
                store.hold(article_id, held[article_id], [key_of[t] for t in group])
            store.publish()
        except BaseException:
            store.discard()
            raise
        self.report.sentences_embedded = embedded
        self.report.sentences_reused = len(texts) - embedded

    def _sentences(
        self, articles: list[Article], chunked: dict[str, list[Chunk]]
    ) -> dict[str, list[str]]:
        """Article id -> the stating sentences of its chunks, as questions cut them from
        passages. An article this build did not chunk (its sentences were never stored, or
        their store was damaged) is cut again: its text is unchanged, so are its chunks."""
        out = {}
        for article in articles:
            chunks = chunked.get(article.id)
            if chunks is None:
                try:
                    chunks = self.chunker.chunk(article)
                except ArticleError:  # indexed before; its sentences are embedded when asked
                    continue
            out[article.id] = list(dict.fromkeys(s for c in chunks for s in statements(c.text)))
        return out

    def _embed(
        self,
        texts: list[str],
        keys: list[str],
        keep: Callable[[list[int], np.ndarray], None],
        stage: str,
        progress: Progress | None,
    ) -> int:
        """Vectors for texts (keys: theirs, vector_keys), from the resume cache where a killed
        build left them, handed to keep a batch of rows at a time; returns how many were
        embedded."""
        started = time.perf_counter()
        cache = VectorCache(self.root / CACHE, self.embedder.dimensions)
        try:
            cached = cache.get(keys)
            found = [i for i, key in enumerate(keys) if key in cached]
            if found:
                keep(found, np.stack([cached[keys[i]] for i in found]))
            missing = [i for i, key in enumerate(keys) if key not in cached]
            if progress:
                progress(0, len(missing), stage=stage)
            for lo in range(0, len(missing), EMBED_BATCH):
                batch = missing[lo : lo + EMBED_BATCH]
                vecs = self.embedder.embed([texts[i] for i in batch])
                keep(batch, vecs)
                cache.put([(keys[i], vecs[j]) for j, i in enumerate(batch)])
                if progress:
                    progress(lo + len(batch), len(missing), stage=stage)
        finally:
            cache.close()
        self.report.embed_seconds += time.perf_counter() - started
        return len(missing)

    def _clear_cache(self) -> None:
        path = self.root / CACHE
        if path.exists():
            path.unlink()


def _chunking(progress: Progress, before: int, total: int) -> Callable[[int], None]:
    """A Chunker's progress (characters of one article cut) as the build's chunking stage."""
    return lambda cut: progress(before + cut, total, stage=CHUNKING)
