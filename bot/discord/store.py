"""Answers shown in Discord, kept so buttons and /source work across restarts."""

from __future__ import annotations

import json
import secrets
import time
from contextlib import closing
from pathlib import Path

from bot.answer import Answer
from bot.sqlite_store import connect, create


class AnswerStore:
    """Answers shown in Discord, in SQLite under data_dir, so buttons and /source outlive restarts.

    Blocking; call from a worker thread.
    """

    KEEP_SECONDS = 180 * 24 * 3600

    def __init__(self, path: Path) -> None:
        self.path = path
        create(
            path,
            "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, created REAL NOT NULL,"
            " user_id INTEGER NOT NULL, answer TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS last_answer (user_id INTEGER PRIMARY KEY,"
            " key TEXT NOT NULL);",
        )

    def save(self, answer: Answer, user_id: int) -> str:
        """Store answer; returns the key its buttons carry."""
        key = secrets.token_hex(8)
        now = time.time()
        with closing(connect(self.path)) as db, db:
            db.execute(
                "INSERT INTO answers (key, created, user_id, answer) VALUES (?, ?, ?, ?)",
                (key, now, user_id, json.dumps(answer.to_dict(), ensure_ascii=False)),
            )
            db.execute(
                "INSERT OR REPLACE INTO last_answer (user_id, key) VALUES (?, ?)", (user_id, key)
            )
            db.execute("DELETE FROM answers WHERE created < ?", (now - self.KEEP_SECONDS,))
        return key

    def get(self, key: str) -> Answer | None:
        with closing(connect(self.path)) as db:
            row = db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return Answer.from_dict(json.loads(row[0])) if row else None

    def last(self, user_id: int) -> Answer | None:
        with closing(connect(self.path)) as db:
            row = db.execute(
                "SELECT a.answer FROM last_answer l JOIN answers a ON a.key = l.key "
                "WHERE l.user_id = ?",
                (user_id,),
            ).fetchone()
        return Answer.from_dict(json.loads(row[0])) if row else None
