"""The small SQLite stores the bot keeps beside the index: answers behind Discord's buttons and
conversations. Several threads (and bot processes on one host) may use one file."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode (readers never wait for a writer) that waits up to 10 s for
    another writer."""
    db = sqlite3.connect(path, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    return db


def create(path: Path, schema: str) -> None:
    """Make path's directory and the tables schema creates, where missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(connect(path)) as db, db:
        db.executescript(schema)
