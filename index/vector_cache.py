"""Vectors a build has computed, kept until it publishes, so a killed build resumes.

Each vector is stored with its sha256 and reused only if it still matches: a damaged entry, or
a cache file SQLite cannot read, means embedding again, never a wrong vector in the index.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from index.embed import Embedder

log = logging.getLogger(__name__)

SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB, sha256 TEXT)"


def _digest(vec: bytes) -> str:
    return hashlib.sha256(vec).hexdigest()


def vector_keys(embedder: Embedder, texts: list[str]) -> list[str]:
    """Each text's key: the sha256 of the embedder's name, backend and dimensions and the text,
    so a key names one vector, whoever stores it."""
    prefix = f"{embedder.name}\0{embedder.backend}\0{embedder.dimensions}\0"
    return [hashlib.sha256((prefix + t).encode()).hexdigest() for t in texts]


class VectorCache:
    """Text key -> float32 vector of one embedder, in one SQLite file."""

    def __init__(self, path: Path, dimensions: int) -> None:
        self.path = path
        self.dimensions = dimensions
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path)
        try:
            db.execute(SCHEMA)
            db.execute("SELECT key, vec, sha256 FROM vectors LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            db.close()
            return self._reset(exc)
        return db

    def _reset(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """Start an empty cache in place of one that cannot be read (damaged, or an old format)."""
        log.warning("the vector cache %s is unusable (%s); starting a new one", self.path, exc)
        for suffix in ("", "-journal", "-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
        db = sqlite3.connect(self.path)
        db.execute(SCHEMA)
        return db

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors of keys that are present and pass their check."""
        found: dict[str, np.ndarray] = {}
        try:
            for key in keys:
                row = self._db.execute(
                    "SELECT vec, sha256 FROM vectors WHERE key = ?", (key,)
                ).fetchone()
                if row is None:
                    continue
                vec, sha256 = row
                if (
                    isinstance(vec, bytes)
                    and len(vec) == 4 * self.dimensions
                    and _digest(vec) == sha256
                ):
                    found[key] = np.frombuffer(vec, dtype=np.float32)
                else:
                    log.warning("a cached vector in %s fails its check; embedding again", self.path)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            self._db = self._reset(exc)
            return {}
        return found

    def put(self, items: list[tuple[str, np.ndarray]]) -> None:
        """Store vectors, committed at once (a killed build keeps them)."""
        rows = [(key, vec.astype(np.float32).tobytes()) for key, vec in items]
        try:
            self._insert(rows)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            self._db = self._reset(exc)
            self._insert(rows)

    def _insert(self, rows: list[tuple[str, bytes]]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors (key, vec, sha256) VALUES (?, ?, ?)",
            [(key, vec, _digest(vec)) for key, vec in rows],
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
