"""The embedded default: generations of faiss vectors + SQLite under <data>/index (see store.py)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock, Timeout

from index.ann import fit_index
from index.articles import Article
from index.chunk import Chunk
from index.errors import DataDirError, IndexLockedError
from index.store import (
    CURRENT,
    MANIFEST,
    META,
    VECTORS,
    Manifest,
    Snapshot,
    checksums,
    connect,
    current_generation,
    fsync_path,
    index_dir,
    publish,
)

if TYPE_CHECKING:
    from index.backends import Reader


@contextmanager
def build_lock(data_dir: Path) -> Iterator[None]:
    """Hold the one-builder-at-a-time lock of data_dir's index."""
    root = index_dir(data_dir)
    lock = FileLock(str(root / "build.lock"), timeout=0)
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout as exc:
        raise IndexLockedError(
            f"another build is running on {root} (it holds build.lock); wait for it to finish"
        ) from exc
    except OSError as exc:  # a read-only data directory: no build can publish there
        raise DataDirError(f"cannot write {exc.filename or root}: {exc.strerror}") from exc
    try:
        yield
    finally:
        lock.release()


class FilesBackend:
    """faiss + SQLite files in the data directory, published by replacing CURRENT."""

    name = "files"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.root = index_dir(data_dir)

    def describe(self) -> str:
        return str(self.root)

    def lock(self) -> AbstractContextManager[None]:
        return build_lock(self.data_dir)

    def current(self) -> str | None:
        return current_generation(self.root)

    def open(self, generation: str) -> Snapshot:
        return Snapshot(self.root, generation)

    def stage(self, generation: str, base: Reader | None, dimensions: int) -> FilesStaging:
        return FilesStaging(self.root, generation, base, dimensions)

    def sweep(self) -> None:
        for tmp in self.root.glob(".tmp-gen-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        for tmp in self.root.glob(f"{CURRENT}.tmp-*"):
            tmp.unlink(missing_ok=True)

    def collect_garbage(self, keep: set[str]) -> None:
        """Anything but keep goes, including a generation a killed build renamed but never
        published."""
        for old in self.root.glob("gen-*"):
            if old.is_dir() and old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)


class FilesStaging:
    """A generation written in a temporary directory, renamed and published when complete."""

    def __init__(self, root: Path, generation: str, base: Reader | None, dimensions: int):
        import faiss

        self.root = root
        self.generation = generation
        self.tmp = root / f".tmp-{generation}"
        self.tmp.mkdir()
        self.vectors: Any
        if base is not None:
            self._copy_db(root / base.generation / META, self.tmp / META)
            self.vectors = faiss.read_index(str(root / base.generation / VECTORS))
        else:
            self.vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(dimensions))
        self.db = connect(self.tmp / META)

    @staticmethod
    def _copy_db(source_path: Path, target: Path) -> None:
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            source.close()
            dest.close()

    def hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, content_hash FROM articles").fetchall())

    def remove(self, article_ids: list[str]) -> None:
        db = self.db
        for article_id in article_ids:
            ids = [
                r[0]
                for r in db.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))
            ]
            if ids:
                self.vectors.remove_ids(np.asarray(ids, dtype=np.int64))
                db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(i,) for i in ids])
            db.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
            db.execute("DELETE FROM articles WHERE id = ?", (article_id,))

    def add(self, articles: list[tuple[Article, list[Chunk]]], vectors: np.ndarray) -> None:
        db = self.db
        (next_id,) = db.execute("SELECT coalesce(max(id), 0) + 1 FROM chunks").fetchone()
        row = 0
        for article, chunks in articles:
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
            self.vectors.add_with_ids(vectors, ids)

    def counts(self) -> tuple[int, int]:
        articles = self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
        chunks = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return int(articles), int(chunks)

    def publish(self, manifest: Manifest) -> None:
        import faiss

        tmp = self.tmp
        self.db.commit()
        self.db.close()
        faiss.write_index(fit_index(self.vectors), str(tmp / VECTORS))
        manifest = replace(manifest, checksums=checksums(tmp))
        (tmp / MANIFEST).write_text(manifest.to_json(), "utf-8")
        for path in (tmp / VECTORS, tmp / META, tmp / MANIFEST, tmp):
            fsync_path(path)
        tmp.rename(self.root / self.generation)
        publish(self.root, self.generation)

    def discard(self) -> None:
        with suppress(sqlite3.Error):
            self.db.close()
        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)
