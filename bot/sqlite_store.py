"""The small SQLite stores the bot keeps beside the index: answers behind Discord's buttons and
conversations. Several threads (and bot processes on one host) may use one file."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from index.errors import DataDirError

# SQLite's answers when the file or its folder cannot be written (a read-only data directory).
_REFUSED = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode (readers never wait for a writer) that waits up to 10 s for
    another writer.

    Raises:
        DataDirError: path or its folder cannot be written (WAL mode needs both).
    """
    try:
        db = sqlite3.connect(path, timeout=10)
    except sqlite3.OperationalError as exc:
        raise _refused(path, exc) from exc
    try:
        db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError as exc:
        db.close()
        raise _refused(path, exc) from exc
    return db


def create(path: Path, schema: str) -> None:
    """Make path's directory and the tables schema creates, where missing.

    Raises:
        DataDirError: path or its folder cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"cannot write {exc.filename or path.parent}: {exc.strerror}") from exc
    with closing(connect(path)) as db, db:
        db.executescript(schema)


def _refused(path: Path, exc: sqlite3.OperationalError) -> Exception:
    """DataDirError where SQLite could not write path; otherwise exc itself."""
    if getattr(exc, "sqlite_errorname", "").startswith(_REFUSED):
        return DataDirError(f"cannot write {path}: {exc}")
    return exc
