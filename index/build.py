"""Incremental index builds driven by content hashes, published atomically.

Only new or changed articles are chunked and embedded; deleted ones are dropped. Vectors
are cached while a build runs, so a build that was killed resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from index.ann import fit_index
from index.articles import Article, load_corpus
from index.chunk import Chunk, Chunker, ChunkSettings, embed_text
from index.embed import Embedder
from index.errors import ArticleError, IndexCorruptError, IndexLockedError
from index.store import (
    CURRENT,
    META,
    VECTORS,
    Manifest,
    Snapshot,
    connect,
    current_generation,
    fsync_path,
    index_dir,
    publish,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
EMBED_BATCH = 256


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


@contextmanager
def build_lock(data_dir: Path) -> Iterator[None]:
    """Hold the one-builder-at-a-time lock of data_dir's index."""
    root = index_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root / "build.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise IndexLockedError(
            f"another build is running on {root} (it holds build.lock); wait for it to finish"
        ) from exc
    try:
        yield
    finally:
        lock.release()


def build_index(
    corpus_dir: Path,
    data_dir: Path,
    embedder: Embedder,
    settings: ChunkSettings,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Bring the index in data_dir up to date with corpus_dir.

    Args:
        corpus_dir: the articles (the source of truth).
        data_dir: where the index lives.
        embedder: the embedding model; a different one than the index's forces a full rebuild.
        settings: chunking settings; different ones force a full rebuild.
        rebuild: re-embed everything even if nothing changed.
        progress: called with (chunks embedded, chunks to embed) as embedding goes.

    Raises:
        CorpusError: the corpus directory is missing.
        IndexLockedError: another build is running.
    """
    started = time.perf_counter()
    with build_lock(data_dir):
        loaded = load_corpus(corpus_dir)
        report = BuildReport(errors=list(loaded.errors), duplicates=list(loaded.duplicates))
        builder = _Builder(data_dir, embedder, settings, report)
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
        self, data_dir: Path, embedder: Embedder, settings: ChunkSettings, report: BuildReport
    ) -> None:
        self.root = index_dir(data_dir)
        self.embedder = embedder
        self.settings = settings
        self.report = report
        self.chunker = Chunker(settings, embedder.count_tokens, embedder.max_tokens)

    def run(self, articles: list[Article], *, rebuild: bool, progress: Progress | None) -> None:
        import faiss

        self._sweep_temporaries()
        previous = self._previous(rebuild)
        if previous is not None and self._unchanged(previous, articles):
            self.report.generation = previous.name
            self.report.unchanged = self.report.articles_total = len(articles)
            with closing(connect(previous / META, readonly=True)) as db:
                self._count(db)
            return
        generation = f"gen-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
        tmp = self.root / f".tmp-{generation}"
        tmp.mkdir()
        try:
            if previous is not None:
                self._copy_db(previous, tmp / META)
                vectors = faiss.read_index(str(previous / VECTORS))
            else:
                vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(self.embedder.dimensions))
            db = connect(tmp / META)
            try:
                todo = self._diff(db, articles, vectors)
                self._add(db, vectors, todo, progress)
                self._count(db)
                db.commit()
            finally:
                db.close()
            faiss.write_index(fit_index(vectors), str(tmp / VECTORS))
            manifest = Manifest(
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
            (tmp / "manifest.json").write_text(manifest.to_json(), "utf-8")
            for path in (tmp / VECTORS, tmp / META, tmp / "manifest.json", tmp):
                fsync_path(path)
            tmp.rename(self.root / generation)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        publish(self.root, generation)
        self.report.generation = generation
        self.report.published = True
        self._clear_cache()
        self._collect_garbage(keep={generation, previous.name if previous else ""})

    def _previous(self, rebuild: bool) -> Path | None:
        """The published generation to start from, or None for a full build (and why)."""
        try:
            name = current_generation(self.root)
            if name is None:
                return None
            snapshot = Snapshot(self.root, name)
        except IndexCorruptError as exc:
            self.report.full_rebuild_reason = f"the published index is damaged ({exc})"
            return None
        manifest = snapshot.manifest
        snapshot.close()
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
            self.report.full_rebuild_reason = reason
            return None
        return self.root / name

    @staticmethod
    def _copy_db(previous: Path, target: Path) -> None:
        source = sqlite3.connect(f"file:{previous / META}?mode=ro", uri=True)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            source.close()
            dest.close()

    @staticmethod
    def _unchanged(previous: Path, articles: list[Article]) -> bool:
        db = connect(previous / META, readonly=True)
        try:
            known = dict(db.execute("SELECT id, content_hash FROM articles").fetchall())
        finally:
            db.close()
        return known == {a.id: a.content_hash for a in articles}

    def _diff(self, db: sqlite3.Connection, articles: list[Article], vectors) -> list[Article]:
        """Drop removed and changed articles; return the ones to (re-)embed."""
        known = dict(db.execute("SELECT id, content_hash FROM articles").fetchall())
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
        for article_id in stale:
            ids = [
                r[0]
                for r in db.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))
            ]
            if ids:
                vectors.remove_ids(np.asarray(ids, dtype=np.int64))
                db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(i,) for i in ids])
            db.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
            db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
        return todo

    def _add(
        self, db: sqlite3.Connection, vectors, todo: list[Article], progress: Progress | None
    ) -> None:
        pending: list[tuple[Article, list[Chunk]]] = []
        for article in todo:
            try:
                pending.append((article, self.chunker.chunk(article)))
            except ArticleError as exc:
                # The article is left out (an old version was already dropped in _diff).
                self.report.errors.append(exc)
        texts = [embed_text(a, c.text, self.settings) for a, chunks in pending for c in chunks]
        matrix = self._embed(texts, progress)
        (next_id,) = db.execute("SELECT coalesce(max(id), 0) + 1 FROM chunks").fetchone()
        row = 0
        for article, chunks in pending:
            db.execute(
                "INSERT INTO articles (id, path, title, source, url, published, text, content_hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    article.id,
                    article.path,
                    article.title,
                    article.source,
                    article.url,
                    article.published,
                    article.text,
                    article.content_hash,
                ),
            )
            for chunk in chunks:
                chunk_id = next_id + row
                db.execute(
                    "INSERT INTO chunks (id, article_id, ordinal, start, end, tokens, text)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        chunk_id,
                        article.id,
                        chunk.ordinal,
                        chunk.start,
                        chunk.end,
                        chunk.tokens,
                        chunk.text,
                    ),
                )
                db.execute(
                    "INSERT INTO chunks_fts (rowid, title, source, body) VALUES (?, ?, ?, ?)",
                    (chunk_id, article.title, article.source, chunk.text),
                )
                row += 1
        if row:
            ids = np.arange(next_id, next_id + row, dtype=np.int64)
            vectors.add_with_ids(matrix, ids)

    def _embed(self, texts: list[str], progress: Progress | None) -> np.ndarray:
        """Vectors for texts, from the resume cache where a killed build left them."""
        started = time.perf_counter()
        out = np.zeros((len(texts), self.embedder.dimensions), dtype=np.float32)
        cache = sqlite3.connect(self.root / "embed-cache.sqlite")
        try:
            cache.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
            prefix = f"{self.embedder.name}\0{self.embedder.backend}\0{self.embedder.dimensions}\0"
            keys = [hashlib.sha256((prefix + t).encode()).hexdigest() for t in texts]
            missing: list[int] = []
            for i, key in enumerate(keys):
                hit = cache.execute("SELECT vec FROM vectors WHERE key = ?", (key,)).fetchone()
                if hit is not None and len(hit[0]) == 4 * self.embedder.dimensions:
                    out[i] = np.frombuffer(hit[0], dtype=np.float32)
                else:
                    missing.append(i)
            self.report.chunks_reused = len(texts) - len(missing)
            if progress:
                progress(0, len(missing))
            for lo in range(0, len(missing), EMBED_BATCH):
                batch = missing[lo : lo + EMBED_BATCH]
                vecs = self.embedder.embed([texts[i] for i in batch])
                out[batch] = vecs
                cache.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                    [(keys[i], vecs[j].tobytes()) for j, i in enumerate(batch)],
                )
                cache.commit()
                if progress:
                    progress(lo + len(batch), len(missing))
            self.report.chunks_embedded = len(missing)
        finally:
            cache.close()
        self.report.embed_seconds = time.perf_counter() - started
        return out

    def _count(self, db: sqlite3.Connection) -> None:
        self.report.articles_total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        self.report.chunks_total = db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def _clear_cache(self) -> None:
        path = self.root / "embed-cache.sqlite"
        if path.exists():
            path.unlink()

    def _sweep_temporaries(self) -> None:
        """Remove what killed builds left behind (safe: we hold the build lock)."""
        for tmp in self.root.glob(".tmp-gen-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        for tmp in self.root.glob(f"{CURRENT}.tmp-*"):
            tmp.unlink(missing_ok=True)

    def _collect_garbage(self, keep: set[str]) -> None:
        """Keep the new generation and the one it replaced (readers may still be on it).

        Anything else goes, including a generation a killed build renamed but never published.
        """
        for old in self.root.glob("gen-*"):
            if old.is_dir() and old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)
