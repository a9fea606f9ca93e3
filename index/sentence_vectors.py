"""Sentence vectors computed when the index is built, so that a question looks them up.

The reranker (index/rerank.py) and the answer layer (bot/answer/evidence.py) weigh the stating
sentences of the passages they read (index.sentences.statements); embedding them was most of
the time of a question asked for the first time. A build embeds every chunk's sentences and
stores them beside its generation, the same file for either backend:

    <data>/index/sentences/<generation>.sqlite
        vectors   key -> float32 vector and its own sha256; the key is the sha256 of the
                  embedder's name, backend, dimensions and the sentence (vector_keys), both
                  digests stored as 32 bytes
        articles  id -> content hash of each article whose sentences it holds
        held      (article id, key) for each sentence of each article
        info      the embedder's name, backend and dimensions

A sentence's vector of 384 dimensions takes about 1.9 kB with its keys: MultiHop-RAG's 609 articles
hold 46,349 distinct sentences, 88 MB.

A new generation's store starts as a copy of the last one's: an unchanged article's sentences
are never embedded again, a removed or changed article's rows go, and so do the vectors no
article holds any more. At ask time Stored looks texts up first and embeds only the rest. Each
vector is checked against its sha256 and its key names the embedder, so a store that is
missing, damaged or of another model means embedding as before, with one warning: never a
wrong vector, never a failed question.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from contextlib import suppress
from pathlib import Path

import numpy as np

from index.embed import Embedder, Wrapping
from index.store import fsync_path, index_dir
from index.vector_cache import vector_keys

log = logging.getLogger(__name__)

DIRECTORY = "sentences"
FORMAT = "1"
# A page of 4 kB holds two vectors of 384 dimensions and wastes a third of itself.
SCHEMA = """
PRAGMA page_size = 16384;
CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL, sha256 BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, content_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS held (
    article_id TEXT NOT NULL, key BLOB NOT NULL, PRIMARY KEY (article_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_KEYS_PER_QUERY = 500  # under SQLite's limit on a statement's parameters


def store_path(data_dir: Path, generation: str) -> Path:
    """Where generation's sentence vectors are stored."""
    return index_dir(data_dir) / DIRECTORY / f"{generation}.sqlite"


def collect_garbage(data_dir: Path, keep: set[str]) -> None:
    """Remove the stores of generations other than keep's, and unfinished ones."""
    for path in (index_dir(data_dir) / DIRECTORY).glob("*.sqlite"):
        if path.stem not in keep:
            path.unlink(missing_ok=True)


def sweep(data_dir: Path) -> None:
    """Remove what killed builds left half-written (called with the build lock held)."""
    for path in (index_dir(data_dir) / DIRECTORY).glob(".tmp-*"):
        path.unlink(missing_ok=True)


def _identity(embedder: Embedder) -> dict[str, str]:
    return {
        "format": FORMAT,
        "model": embedder.name,
        "backend": embedder.backend,
        "dimensions": str(embedder.dimensions),
    }


def _intact(vec: object, sha256: object, dimensions: int) -> bool:
    return (
        isinstance(vec, bytes)
        and len(vec) == 4 * dimensions
        and hashlib.sha256(vec).digest() == sha256
    )


def _raw(keys: list[str]) -> list[bytes]:
    """vector_keys' hex digests as the 32 bytes the store keeps."""
    return [bytes.fromhex(key) for key in keys]


def _vectors_of(db: sqlite3.Connection, columns: str, keys: list[bytes]) -> list[tuple]:
    """columns of the vectors rows of keys, asked a batch of keys at a time."""
    rows: list[tuple] = []
    for lo in range(0, len(keys), _KEYS_PER_QUERY):
        batch = keys[lo : lo + _KEYS_PER_QUERY]
        marks = ",".join("?" * len(batch))
        rows += db.execute(f"SELECT {columns} FROM vectors WHERE key IN ({marks})", batch)
    return rows


def _info(db: sqlite3.Connection) -> dict[str, str]:
    """The embedder a store was made with (its info rows), to compare with _identity."""
    return dict(db.execute("SELECT key, value FROM info").fetchall())


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)


def stored_articles(path: Path, embedder: Embedder) -> dict[str, str] | None:
    """Article id -> content hash of the articles whose sentences the store at path holds for
    embedder; None when it is missing, unreadable or another embedder's."""
    if not path.exists():
        return None
    try:
        db = _read_only(path)
        try:
            if _info(db) != _identity(embedder):
                return None
            return dict(db.execute("SELECT id, content_hash FROM articles").fetchall())
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return None


class StoredVectors:
    """One generation's stored sentence vectors, read-only; safe to share between threads."""

    def __init__(self, path: Path, db: sqlite3.Connection, embedder: Embedder) -> None:
        self.path = path
        self._db = db
        self._embedder = embedder
        self._lock = threading.Lock()
        self._broken = False
        self._warned = False

    def get(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of texts the store holds intact."""
        text_of = dict(zip(_raw(vector_keys(self._embedder, texts)), texts, strict=True))
        keys = list(text_of)
        with self._lock:
            if self._broken:
                return {}
            try:
                rows = _vectors_of(self._db, "key, vec, sha256", keys)
            except sqlite3.DatabaseError as exc:
                self._broken = True
                log.warning(
                    "the stored sentence vectors at %s became unreadable (%s); sentences are "
                    "embedded as questions come",
                    self.path,
                    exc,
                )
                return {}
        found: dict[str, np.ndarray] = {}
        damaged = 0
        for key, vec, sha256 in rows:
            if _intact(vec, sha256, self._embedder.dimensions):
                found[text_of[key]] = np.frombuffer(vec, dtype=np.float32)
            else:
                damaged += 1
        if damaged and not self._warned:
            self._warned = True
            log.warning(
                "stored sentence vectors at %s fail their check; those sentences are embedded "
                "(the next `footnote index` stores them again)",
                self.path,
            )
        return found


def open_store(path: Path, embedder: Embedder) -> StoredVectors | None:
    """The stored sentence vectors at path, for embedder; None, with one warning, when the store
    is missing, unreadable or was made with another embedder."""
    if not path.exists():
        log.warning(
            "no stored sentence vectors at %s: sentences are embedded as questions come "
            "(slower); `footnote index` stores them",
            path,
        )
        return None
    try:
        db = _read_only(path)
    except sqlite3.Error as exc:
        log.warning("cannot open the stored sentence vectors at %s (%s); embedding them", path, exc)
        return None
    try:
        info = _info(db)
    except sqlite3.DatabaseError as exc:
        db.close()
        log.warning(
            "the stored sentence vectors at %s are unreadable (%s); sentences are embedded as "
            "questions come; `footnote index --rebuild` stores them again",
            path,
            exc,
        )
        return None
    if info != _identity(embedder):
        db.close()
        log.warning(
            "the stored sentence vectors at %s were made with %s, not %s; embedding sentences "
            "as questions come",
            path,
            info,
            _identity(embedder),
        )
        return None
    return StoredVectors(path, db, embedder)


class Stored(Wrapping):
    """An embedder that takes the vectors a build stored and embeds only the texts it lacks;
    use() points it at the store of the generation being read."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self._store: StoredVectors | None = None

    def use(self, store: StoredVectors | None) -> None:
        self._store = store

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.inner.dimensions), dtype=np.float32)
        store = self._store
        known = store.get(texts) if store is not None else {}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            vectors = self.inner.embed(missing, batch_size=batch_size)
            known.update(zip(missing, vectors, strict=True))
        return np.stack([known[t] for t in texts])


class SentenceStaging:
    """A generation's store being written: a copy of base's store (where it is usable and of
    the same embedder), changed, then published under its name with one os.replace."""

    def __init__(self, target: Path, embedder: Embedder, base: Path | None) -> None:
        self.target = target
        self.tmp = target.with_name(f".tmp-{target.name}")
        self.dimensions = embedder.dimensions
        self._identity = _identity(embedder)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._remove_tmp()
        self.db = self._start(base)

    def _start(self, base: Path | None) -> sqlite3.Connection:
        if base is not None and base.exists():
            try:
                db = self._copy(base)
                if db is not None:
                    return db
            except sqlite3.DatabaseError as exc:
                log.warning(
                    "the stored sentence vectors at %s are unusable (%s); embedding their "
                    "sentences again",
                    base,
                    exc,
                )
            self._remove_tmp()
        db = sqlite3.connect(self.tmp)
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO info (key, value) VALUES (?, ?)", self._identity.items())
        return db

    def _copy(self, base: Path) -> sqlite3.Connection | None:
        """base copied to tmp, its damaged vectors dropped; None if it is another embedder's."""
        source = _read_only(base)
        db = sqlite3.connect(self.tmp)
        try:
            source.backup(db)
            (check,) = db.execute("PRAGMA quick_check(1)").fetchone()
            if check != "ok":
                raise sqlite3.DatabaseError(check)
            if _info(db) != self._identity:
                db.close()
                return None
            self._drop_damaged(db, base)
        except BaseException:
            db.close()
            raise
        finally:
            source.close()
        return db

    def _drop_damaged(self, db: sqlite3.Connection, base: Path) -> None:
        """Drop vectors that fail their check, and the articles holding them (so they are
        embedded again)."""
        rows = db.execute("SELECT key, vec, sha256 FROM vectors")
        bad = [key for key, vec, sha256 in rows if not _intact(vec, sha256, self.dimensions)]
        if not bad:
            return
        log.warning(
            "%d stored sentence vectors in %s fail their check; embedding them again",
            len(bad),
            base,
        )
        db.execute("CREATE TEMP TABLE bad (key BLOB PRIMARY KEY)")
        db.executemany("INSERT OR IGNORE INTO bad (key) VALUES (?)", [(key,) for key in bad])
        db.execute(
            "DELETE FROM articles WHERE id IN "
            "(SELECT article_id FROM held WHERE key IN (SELECT key FROM bad))"
        )
        db.execute("DELETE FROM vectors WHERE key IN (SELECT key FROM bad)")
        db.execute("DELETE FROM held WHERE article_id NOT IN (SELECT id FROM articles)")
        db.execute("DROP TABLE bad")

    def articles(self) -> dict[str, str]:
        """Article id -> content hash of the articles whose sentences it holds."""
        return dict(self.db.execute("SELECT id, content_hash FROM articles").fetchall())

    def drop(self, article_ids: list[str]) -> None:
        """Forget these articles' sentences (their vectors go at publish, unless held still)."""
        self.db.executemany("DELETE FROM held WHERE article_id = ?", [(a,) for a in article_ids])
        self.db.executemany("DELETE FROM articles WHERE id = ?", [(a,) for a in article_ids])

    def known(self, keys: list[str]) -> set[str]:
        """Those of keys (vector_keys') it holds a vector of."""
        return {key.hex() for (key,) in _vectors_of(self.db, "key", _raw(keys))}

    def put(self, items: list[tuple[str, np.ndarray]]) -> None:
        """Store vectors by key (vector_keys')."""
        keys = _raw([key for key, _ in items])
        vecs = [np.asarray(vec, dtype=np.float32).tobytes() for _, vec in items]
        self.db.executemany(
            "INSERT OR REPLACE INTO vectors (key, vec, sha256) VALUES (?, ?, ?)",
            [(key, vec, hashlib.sha256(vec).digest()) for key, vec in zip(keys, vecs, strict=True)],
        )

    def hold(self, article_id: str, content_hash: str, keys: list[str]) -> None:
        """Record that the article (at content_hash) holds the sentences of keys
        (vector_keys')."""
        self.db.execute(
            "INSERT OR REPLACE INTO articles (id, content_hash) VALUES (?, ?)",
            (article_id, content_hash),
        )
        self.db.executemany(
            "INSERT OR IGNORE INTO held (article_id, key) VALUES (?, ?)",
            [(article_id, key) for key in _raw(keys)],
        )

    def publish(self) -> None:
        """Drop the vectors no article holds, and put the store in place in one step."""
        self.db.execute("DELETE FROM vectors WHERE key NOT IN (SELECT key FROM held)")
        self.db.commit()
        self.db.close()
        fsync_path(self.tmp)
        os.replace(self.tmp, self.target)
        fsync_path(self.target.parent)

    def discard(self) -> None:
        with suppress(sqlite3.Error):
            self.db.close()
        self._remove_tmp()

    def _remove_tmp(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            self.tmp.with_name(self.tmp.name + suffix).unlink(missing_ok=True)
