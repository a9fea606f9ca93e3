"""The index directory: published generations of faiss vectors + SQLite + a manifest.

    <data>/index/CURRENT            name of the published generation (replaced atomically)
    <data>/index/gen-.../           manifest.json, vectors.faiss, meta.sqlite
                                    (+ *.verified: a file's hash check, remembered)
    <data>/index/build.lock         held by the one running build
    <data>/index/embed-cache.sqlite vectors already computed, so a killed build resumes
    <data>/index/sentences/         gen-....sqlite: each generation's sentence vectors
                                    (index/sentence_vectors.py; for either backend)

Readers only ever open a complete generation; a build writes a new one beside it and
publishes it by replacing CURRENT. The manifest holds the sha256 of the vector and database
files, checked when a generation is opened: damage is an IndexCorruptError, never wrong answers.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.checksum import remember_verified, sha256_file, verified_before
from index.errors import IndexCorruptError, IndexMissingError

if TYPE_CHECKING:
    from index.backends import Where

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
META = "meta.sqlite"
FILTERS_KEPT = 16  # outlet/date filters whose chunk ids a snapshot keeps
FILTER_EXACT_MAX = 50_000  # above this many chunks a filtered search goes through faiss
CHECKED = (VECTORS, META)  # the files whose sha256 the manifest holds
# A file's hash check is remembered only once it is older than this: a write within the
# filesystem's timestamp granularity of the last one would leave its ctime as it was.
SETTLED_NS = 2_000_000_000
# SQLite's result codes for a damaged or unreadable file (the others are the query's own).
DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_IOERR")

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL, source TEXT NOT NULL,
    url TEXT NOT NULL, published TEXT NOT NULL, text TEXT NOT NULL, content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
    tokens INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id, ordinal);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, source, body, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_STOPWORDS = frozenset(
    (
        "a about above after again against all am an and any are as at be because been before "
        "being below between both but by can could did do does doing down during each few for "
        "from further had has have having he her here hers herself him himself his how i if in "
        "into is it its itself just me more most my myself no nor not now of off on once only or "
        "other our ours ourselves out over own same she should so some such than that the their "
        "theirs them themselves then there these they this those through to too under until up "
        "very was we were what when where which while who whom why will with would you your yours "
        "yourself yourselves also did does according article articles report reported news"
    ).split()
)


@dataclass(frozen=True)
class Manifest:
    """What an index was built with; a reader refuses an index whose settings it cannot use."""

    model: str
    dimensions: int
    model_max_tokens: int
    chunking: dict[str, Any]
    articles: int
    chunks: int
    built_at: str
    generation: str
    versions: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT_VERSION
    # What computed the vectors; indexes made before backends existed were all torch.
    backend: str = "torch"
    # File name -> sha256 (the files backend); empty in indexes made before checksums.
    checksums: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text("utf-8"))
            return cls(**data)
        except FileNotFoundError as exc:
            raise IndexCorruptError(f"index manifest {path} is missing") from exc
        except (OSError, ValueError, TypeError) as exc:
            raise IndexCorruptError(f"index manifest {path} is unreadable: {exc}") from exc


@dataclass(frozen=True)
class ChunkRecord:
    """A stored chunk with its article's metadata."""

    chunk_id: int
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    title: str
    source: str
    url: str
    published: str


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    path: str
    title: str
    source: str
    url: str
    published: str
    text: str
    content_hash: str
    chunks: int = 0


def index_dir(data_dir: Path) -> Path:
    return data_dir / "index"


def current_generation(root: Path) -> str | None:
    """The published generation's name, or None when nothing was ever published."""
    try:
        name = (root / CURRENT).read_bytes().decode("utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {root / CURRENT}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise IndexCorruptError(f"{root / CURRENT} is not text") from exc
    if not re.fullmatch(r"gen-[\w.-]+", name):
        raise IndexCorruptError(f"{root / CURRENT} names no generation ({name[:40]!r})")
    return name


def publish(root: Path, generation: str) -> None:
    """Atomically point CURRENT at a complete generation directory."""
    tmp = root / f"{CURRENT}.tmp-{os.getpid()}"
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(generation + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / CURRENT)
    fsync_path(root)


def fsync_path(path: Path) -> None:
    """Flush a file's or a directory's contents (a directory: its entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def checksums(directory: Path) -> dict[str, str]:
    """The sha256 of each checked file of a generation directory, for its manifest."""
    return {name: sha256_file(directory / name) for name in CHECKED}


def verify(path: Path, sha256: str) -> None:
    """Raise IndexCorruptError unless path hashes to sha256 (remembered while it stays so)."""
    if verified_before(path, sha256):
        return
    try:
        actual = sha256_file(path)
        changed = path.stat().st_ctime_ns
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"{path} is missing") from exc
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {path}: {exc}") from exc
    if actual != sha256:
        raise IndexCorruptError(f"{path} does not match its sha256 in the manifest")
    if time.time_ns() - changed > SETTLED_NS:
        remember_verified(path, sha256)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
    conn.execute("PRAGMA foreign_keys = ON")
    if not readonly:
        conn.executescript(SCHEMA)
    return conn


def content_words(text: str) -> list[str]:
    """The text's distinct lower-cased words, stopwords and single letters left out, in order."""
    words = [w for w in re.findall(r"\w+", text.lower()) if w not in _STOPWORDS]
    return list(dict.fromkeys(w for w in words if len(w) > 1 or w.isdigit()))


def keyword_query(question: str) -> str | None:
    """An FTS5 OR-query of the question's content words, or None if it has none."""
    words = content_words(question)
    return " OR ".join(f'"{w}"' for w in words[:64]) if words else None


class Snapshot:
    """One published generation, opened read-only; safe to share between threads."""

    def __init__(self, root: Path, generation: str) -> None:
        import faiss

        self.root = root
        self.generation = generation
        path = self.path = root / generation
        self.manifest = Manifest.read(path / MANIFEST)
        self._verify_files(path)
        try:
            self._faiss = faiss.read_index(str(path / VECTORS))
        except RuntimeError as exc:
            raise IndexCorruptError(f"vector file {path / VECTORS} is unreadable") from exc
        try:
            self._db = connect(path / META, readonly=True)
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(f"database {path / META} is unreadable: {exc}") from exc
        try:
            self._check(path)
        except BaseException:
            self._db.close()
            raise
        self._lock = threading.Lock()
        # The chunk ids of the last few filters: a multi-part question names its outlets in
        # each part, and the generation never changes.
        self._allowed: OrderedDict[Where, np.ndarray] = OrderedDict()

    def _verify_files(self, path: Path) -> None:
        """Every checked file matches the sha256 its manifest holds."""
        sums = self.manifest.checksums
        if not sums:
            return  # made before checksums: _check runs SQLite's own check instead
        for name in CHECKED:
            if name not in sums:
                raise IndexCorruptError(f"index manifest {path / MANIFEST} has no sha256 of {name}")
            verify(path / name, sums[name])

    def _check(self, path: Path) -> None:
        """The database opens, and database, vectors and manifest agree."""
        try:
            if not self.manifest.checksums:
                (result,) = self._db.execute("PRAGMA quick_check(1)").fetchone()
                if result != "ok":
                    raise IndexCorruptError(f"database {path / META} fails its check: {result}")
            (count,) = self._db.execute("SELECT count(*) FROM chunks").fetchone()
        except sqlite3.DatabaseError as exc:
            raise IndexCorruptError(f"database {path / META} is unreadable: {exc}") from exc
        if count != self._faiss.ntotal or count != self.manifest.chunks:
            raise IndexCorruptError(
                f"index {path} is inconsistent: {count} chunks in SQLite, "
                f"{self._faiss.ntotal} vectors, {self.manifest.chunks} in the manifest"
            )
        if self._faiss.d != self.manifest.dimensions:
            raise IndexCorruptError(f"vector file {path / VECTORS} has the wrong dimensions")

    @classmethod
    def open_current(cls, data_dir: Path) -> Snapshot:
        root = index_dir(data_dir)
        generation = current_generation(root)
        if generation is None:
            raise IndexMissingError(
                f"no index in {data_dir} yet: run `footnote index` to build one from the corpus"
            )
        return cls(root, generation)

    def dense(
        self, vector: np.ndarray, n: int, where: Where | None = None
    ) -> list[tuple[int, float]]:
        """Chunk ids and cosine scores of the n nearest chunks (of where's, if given)."""
        if self._faiss.ntotal == 0:
            return []
        query = vector.reshape(1, -1).astype(np.float32)
        if where is None or not (where.sources or where.dates):
            scores, ids = self._faiss.search(query, n)
            return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        # Exact over the chunks where names (a filter's chunks are few next to the index).
        allowed = self._filtered(where)
        if not len(allowed):
            return []
        if len(allowed) > FILTER_EXACT_MAX:
            # A large filter (a big outlet of a big index): faiss searches with an id selector
            # rather than holding every vector of the outlet in memory (approximate with IVF).
            return self._search_within(query, n, allowed)
        scores_all = self._faiss.reconstruct_batch(allowed) @ query[0]
        order = np.argsort(-scores_all, kind="stable")[:n]
        return [(int(allowed[i]), float(scores_all[i])) for i in order]

    def _search_within(
        self, query: np.ndarray, n: int, allowed: np.ndarray
    ) -> list[tuple[int, float]]:
        import faiss

        selector = faiss.IDSelectorBatch(allowed)
        params: Any
        if isinstance(self._faiss, faiss.IndexIVF):
            params = faiss.SearchParametersIVF()
            params.nprobe = self._faiss.nprobe
        else:
            params = faiss.SearchParameters()
        params.sel = selector
        scores, ids = self._faiss.search(query, n, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _filtered(self, where: Where) -> np.ndarray:
        """Chunk ids of articles from where's sources, published on where's dates, ascending."""
        with self._query() as db:
            if where in self._allowed:
                self._allowed.move_to_end(where)
                return self._allowed[where]
            clauses, params = self._where_sql(where)
            rows = db.execute(
                f"SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE {clauses}"
                " ORDER BY c.id",
                params,
            ).fetchall()
            allowed = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            self._allowed[where] = allowed
            if len(self._allowed) > FILTERS_KEPT:
                self._allowed.popitem(last=False)
            return allowed

    @staticmethod
    def _where_sql(where: Where) -> tuple[str, list[str]]:
        clauses, params = ["1"], list[str]()
        if where.sources:
            clauses.append(f"a.source IN ({','.join('?' * len(where.sources))})")
            params += sorted(where.sources)
        if where.dates:
            clauses.append(f"substr(a.published, 1, 10) IN ({','.join('?' * len(where.dates))})")
            params += sorted(where.dates)
        return " AND ".join(clauses), params

    def vector(self, chunk_id: int) -> np.ndarray:
        """The stored vector of one chunk."""
        return np.asarray(self._faiss.reconstruct(int(chunk_id)), dtype=np.float32)

    def keyword(self, question: str, n: int, where: Where | None = None) -> list[tuple[int, float]]:
        """Chunk ids and BM25 scores (higher is better) of the n best keyword matches (among
        where's chunks, if given)."""
        query = keyword_query(question)
        if query is None:
            return []
        weights = "bm25(chunks_fts, 2.0, 1.0, 1.0)"
        if where is None or not (where.sources or where.dates):
            sql = (
                f"SELECT rowid, -{weights} FROM chunks_fts WHERE chunks_fts MATCH ? "
                f"ORDER BY {weights} LIMIT ?"
            )
            params: list[str] = []
        else:
            # A join, not "rowid IN (subquery)": SQLite would test the subquery row by row
            # against every match of the OR query (250-580 ms instead of 6 ms on 8,903 chunks).
            clauses, params = self._where_sql(where)
            sql = (
                f"SELECT chunks_fts.rowid, -{weights} FROM chunks_fts"
                " JOIN chunks c ON c.id = chunks_fts.rowid JOIN articles a ON a.id = c.article_id"
                f" WHERE chunks_fts MATCH ? AND {clauses} ORDER BY {weights} LIMIT ?"
            )
        with self._query() as db:
            rows = db.execute(sql, (query, *params, n)).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def document_frequency(self, word: str) -> int:
        """How many chunks hold word, folded as the keyword index folds words (porter stems)."""
        if not re.fullmatch(r"\w+", word):
            return 0
        with self._query() as db:
            (count,) = db.execute(
                "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (f'body:"{word}"',)
            ).fetchone()
        return int(count)

    def hashes(self) -> dict[str, str]:
        """Article id -> content hash of every indexed article."""
        with self._query() as db:
            return dict(db.execute("SELECT id, content_hash FROM articles").fetchall())

    def chunks(self, ids: list[int]) -> dict[int, ChunkRecord]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {r.chunk_id: r for r in self._chunk_rows(f"c.id IN ({marks})", ids)}

    def lead(self, article_id: str) -> ChunkRecord | None:
        rows = self._chunk_rows("c.article_id = ? AND c.ordinal = 0", [article_id])
        return rows[0] if rows else None

    def _chunk_rows(self, where: str, params: list) -> list[ChunkRecord]:
        with self._query() as db:
            rows = db.execute(
                "SELECT c.id, c.article_id, c.ordinal, c.start, c.end, c.text, a.title, a.source, "
                f"a.url, a.published FROM chunks c JOIN articles a ON a.id = c.article_id "
                f"WHERE {where}",
                params,
            ).fetchall()
        return [ChunkRecord(*row) for row in rows]

    def article(self, article_id: str) -> ArticleRecord | None:
        with self._query() as db:
            row = db.execute(
                "SELECT id, path, title, source, url, published, text, content_hash, "
                "(SELECT count(*) FROM chunks WHERE article_id = articles.id) "
                "FROM articles WHERE id = ?",
                (article_id,),
            ).fetchone()
        return ArticleRecord(*row) if row else None

    def articles(self) -> list[ArticleRecord]:
        """Every indexed article, newest first, with its text left empty."""
        with self._query() as db:
            rows = db.execute(
                "SELECT id, path, title, source, url, published, '', content_hash, "
                "(SELECT count(*) FROM chunks WHERE article_id = articles.id) "
                "FROM articles ORDER BY published DESC, title"
            ).fetchall()
        return [ArticleRecord(*row) for row in rows]

    @contextmanager
    def _query(self) -> Iterator[sqlite3.Connection]:
        """The database, one query at a time; damage found while reading is IndexCorruptError
        (the files were checked at open, but a disk can still fail under a running bot)."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.DatabaseError as exc:
                if not getattr(exc, "sqlite_errorname", "").startswith(DAMAGE):
                    raise
                raise IndexCorruptError(f"database {self.path / META}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()
