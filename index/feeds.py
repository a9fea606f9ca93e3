"""RSS/Atom feeds -> article files in the corpus, with their state kept in SQLite.

A poll reads each feed, fetches the page of every entry not seen before, extracts its text
and metadata with trafilatura and saves it as corpus/feeds/<slug>.md (YAML front matter), so
the corpus stays the source of truth and the ordinary build indexes it. Every failure (feed
down, bad XML, page without article text) is recorded per item and retried with backoff.

    <data>/feeds.sqlite   feeds, entries seen (saved, failed, duplicate) with attempt counts
    <data>/feeds.lock     held by the one running poll
"""

from __future__ import annotations

import calendar
import hashlib
import http.client
import logging
import os
import re
import sqlite3
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from index.errors import FootnoteError, NotFoundError
from index.fetch import AddressPolicy, Refused, guarded_opener, is_public

log = logging.getLogger(__name__)

FEEDS_DB = "feeds.sqlite"
FEEDS_SUBDIR = "feeds"
USER_AGENT = "Footnote/0.1 (+news citation bot; feed reader)"

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', added_at REAL NOT NULL,
    last_polled_at REAL, last_error TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_retry_at REAL
);
CREATE TABLE IF NOT EXISTS entries (
    url TEXT PRIMARY KEY, feed_url TEXT NOT NULL, title TEXT NOT NULL DEFAULT '',
    published TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, path TEXT, canonical_url TEXT,
    text_hash TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, next_retry_at REAL,
    first_seen_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_canonical ON entries(canonical_url);
CREATE INDEX IF NOT EXISTS entries_text ON entries(text_hash);
CREATE INDEX IF NOT EXISTS entries_retry ON entries(state, next_retry_at);
"""

SAVED, FAILED, GAVE_UP, DUPLICATE = "saved", "failed", "gave_up", "duplicate"


class FeedError(FootnoteError):
    """A feed URL cannot be used as given."""

    exit_code = 2


class FeedsLockedError(FootnoteError):
    """Another poll holds the feeds lock."""

    exit_code = 5


class FetchError(Exception):
    """One feed or page could not be fetched or read; recorded and retried later."""


@dataclass(frozen=True)
class FeedSettings:
    """Network and retry knobs of the poller."""

    timeout: float = 20.0
    user_agent: str = USER_AGENT
    max_bytes: int = 10 * 2**20
    retry_base: float = 300.0
    retry_max: float = 6 * 3600.0
    max_attempts: int = 8
    max_new_per_feed: int = 100
    # Below this, what trafilatura found is a menu or a teaser, not an article.
    min_text_chars: int = 120
    lock_timeout: float = 120.0

    def backoff(self, attempts: int) -> float:
        """Seconds to wait before attempt number attempts + 1."""
        return min(self.retry_base * 2 ** max(attempts - 1, 0), self.retry_max)


@dataclass(frozen=True)
class Feed:
    """A subscribed feed and how its last polls went."""

    url: str
    title: str
    added_at: float
    last_polled_at: float | None
    last_error: str | None
    attempts: int
    next_retry_at: float | None
    saved: int
    failing: int


@dataclass(frozen=True)
class Failure:
    """One feed or entry that failed this poll, and when it will be tried again."""

    url: str
    feed_url: str
    reason: str
    attempts: int
    next_retry_at: float | None
    gave_up: bool = False


@dataclass(frozen=True)
class Saved:
    """An entry saved into the corpus."""

    url: str
    path: str
    title: str


@dataclass
class PollReport:
    """What one poll did."""

    feeds_polled: int = 0
    feeds_waiting: int = 0
    known: int = 0
    saved: list[Saved] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when new article files were written to the corpus."""
        return bool(self.saved)


@dataclass(frozen=True)
class EntryHint:
    """What the feed itself says about an entry (used when the page lacks it)."""

    url: str
    title: str = ""
    published: str = ""
    source: str = ""


@dataclass(frozen=True)
class PageArticle:
    """An article extracted from a fetched page."""

    title: str
    source: str
    published: str
    url: str
    text: str


def validate_feed_url(url: str) -> str:
    """The URL stripped, if it is an absolute http(s) URL.

    Raises:
        FeedError: it is not.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise FeedError(f"feed URLs start with http:// or https://, got {url!r}")
    return url


def http_get(url: str, settings: FeedSettings, allowed: AddressPolicy = is_public) -> bytes:
    """The body of url, fetched with a timeout, a User-Agent and a size limit.

    Fetched through the guarded opener (index.fetch): http(s) only, redirects included, and
    only from addresses that allowed accepts (by default public ones).

    Raises:
        FetchError: any network, HTTP, size or refused-address problem, with a one-line reason.
    """
    request = urllib.request.Request(url, headers={"User-Agent": settings.user_agent})
    try:
        with guarded_opener(allowed).open(request, timeout=settings.timeout) as response:
            body: bytes = response.read(settings.max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise FetchError(f"cannot connect: {exc.reason}") from exc
    except Refused as exc:
        raise FetchError(str(exc)) from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise FetchError(f"fetch failed: {exc or type(exc).__name__}") from exc
    if len(body) > settings.max_bytes:
        raise FetchError(f"response is larger than {settings.max_bytes // 2**20} MiB")
    return body


def parse_feed(body: bytes, feed_url: str) -> tuple[str, list[EntryHint]]:
    """The feed's title and its entries that have a link.

    Raises:
        FetchError: the body is not an RSS/Atom feed.
    """
    import feedparser  # local: only polling needs it

    parsed = feedparser.parse(body)
    if not parsed.version and not parsed.entries:
        raise FetchError("not an RSS/Atom feed (no channel or entries found)")
    title = str(parsed.feed.get("title", "") or "")
    hints = []
    for entry in parsed.entries:
        link = str(entry.get("link", "") or "").strip()
        if not link:
            continue
        hints.append(
            EntryHint(
                url=link,
                title=str(entry.get("title", "") or ""),
                published=_entry_date(entry),
                source=title or urlsplit(feed_url).netloc,
            )
        )
    if parsed.bozo:
        problem = parsed.get("bozo_exception")
        # feedparser recovers from much broken XML; keep what it recovered, if anything.
        if not hints:
            raise FetchError(f"not a valid RSS/Atom feed: {problem}")
        log.warning(
            "feed %s is malformed (%s); using the %d entries read", feed_url, problem, len(hints)
        )
    return title, hints


def _entry_date(entry: Any) -> str:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            stamp = datetime.fromtimestamp(calendar.timegm(value), UTC)
            return stamp.isoformat(timespec="seconds")
    return ""


def extract_article(body: bytes, hint: EntryHint, min_chars: int = 1) -> PageArticle:
    """The article text and metadata of a fetched page.

    Raises:
        FetchError: the page holds no article text.
    """
    import trafilatura  # local: the import is slow

    doc: Any = trafilatura.bare_extraction(
        body, url=hint.url, with_metadata=True, favor_precision=True
    )
    text = str(getattr(doc, "text", None) or "").strip()
    if len(text) < min_chars:
        raise FetchError(f"no article text found on the page ({len(text)} characters)")
    page_url = str(doc.url or "")
    canonical = page_url if page_url.startswith(("http://", "https://")) else hint.url
    return PageArticle(
        title=" ".join((doc.title or hint.title or hint.url).split()),
        source=doc.sitename or hint.source or doc.hostname or urlsplit(hint.url).netloc,
        published=hint.published or doc.date or "",
        url=canonical,
        text=text,
    )


def text_hash(text: str) -> str:
    """Hash of the text with whitespace folded, to spot the same article under two URLs."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def article_filename(title: str, url: str) -> str:
    """A stable, readable file name: the title's slug and a hash of the url."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].rstrip("-")
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]
    return f"{slug or 'article'}-{digest}.md"


def render_article(article: PageArticle, feed_url: str | None) -> str:
    """The article as Markdown with the YAML front matter the corpus loader reads."""
    import yaml

    meta = {
        "title": article.title,
        "source": article.source,
        "published_at": article.published,
        "url": article.url,
    }
    if feed_url is not None:
        meta["feed"] = feed_url
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=10_000)
    return f"---\n{front}---\n\n{article.text.strip()}\n"


def write_atomically(path: Path, text: str) -> None:
    """Write under a hidden temporary name (the loader skips it), then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class FeedStore:
    """Feeds and entry states in <data>/feeds.sqlite; one short connection per operation."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / FEEDS_DB

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30.0)) as db:
            db.executescript(SCHEMA)
            with db:  # one transaction, committed on success
                yield db

    @contextmanager
    def poll_lock(self, timeout: float) -> Iterator[None]:
        """Hold the one-poll-at-a-time lock."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.data_dir / "feeds.lock"), timeout=timeout)
        try:
            lock.acquire()
        except Timeout as exc:
            raise FeedsLockedError(
                f"another feed poll is running on {self.data_dir} (it holds feeds.lock)"
            ) from exc
        try:
            yield
        finally:
            lock.release()

    def add(self, url: str, now: float) -> bool:
        """Subscribe to url; False if it already was."""
        url = validate_feed_url(url)
        with self.connect() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO feeds (url, added_at) VALUES (?, ?)", (url, now)
            )
            return cur.rowcount == 1

    def remove(self, url: str) -> None:
        """Unsubscribe; saved articles stay in the corpus, pending retries are dropped.

        Raises:
            NotFoundError: no such feed.
        """
        with self.connect() as db:
            if db.execute("DELETE FROM feeds WHERE url = ?", (url.strip(),)).rowcount == 0:
                raise NotFoundError(f"no feed {url!r}; `footnote feeds list` shows the feeds")
            db.execute(
                "DELETE FROM entries WHERE feed_url = ? AND state IN (?, ?)",
                (url.strip(), FAILED, GAVE_UP),
            )

    def feeds(self) -> list[Feed]:
        with self.connect() as db:
            rows = db.execute(
                "SELECT f.url, f.title, f.added_at, f.last_polled_at, f.last_error, f.attempts, "
                "f.next_retry_at, "
                "(SELECT count(*) FROM entries e WHERE e.feed_url = f.url AND e.state = ?), "
                "(SELECT count(*) FROM entries e WHERE e.feed_url = f.url AND e.state IN (?, ?)) "
                "FROM feeds f ORDER BY f.added_at, f.url",
                (SAVED, FAILED, GAVE_UP),
            ).fetchall()
        return [Feed(*row) for row in rows]

    def feed_ok(self, url: str, title: str, now: float) -> None:
        with self.connect() as db:
            db.execute(
                "UPDATE feeds SET title = ?, last_polled_at = ?, last_error = NULL, "
                "attempts = 0, next_retry_at = NULL WHERE url = ?",
                (title, now, url),
            )

    def feed_failed(self, url: str, reason: str, now: float, settings: FeedSettings) -> Failure:
        with self.connect() as db:
            row = db.execute("SELECT attempts FROM feeds WHERE url = ?", (url,)).fetchone()
            attempts = (row[0] if row else 0) + 1
            retry = now + settings.backoff(attempts)
            db.execute(
                "UPDATE feeds SET last_polled_at = ?, last_error = ?, attempts = ?, "
                "next_retry_at = ? WHERE url = ?",
                (now, reason, attempts, retry, url),
            )
        return Failure(url, url, reason, attempts, retry)

    def state(self, url: str) -> str | None:
        with self.connect() as db:
            row = db.execute("SELECT state FROM entries WHERE url = ?", (url,)).fetchone()
        return row[0] if row else None

    def due_retries(self, now: float, force: bool) -> list[tuple[str, str, str, str]]:
        """(url, feed_url, title, published) of failed entries whose retry time has come."""
        with self.connect() as db:
            return db.execute(
                "SELECT url, feed_url, title, published FROM entries "
                "WHERE state = ? AND (? OR next_retry_at <= ?) ORDER BY next_retry_at",
                (FAILED, force, now),
            ).fetchall()

    def duplicate_of(self, canonical_url: str, digest: str) -> str | None:
        """The url of an already saved entry with the same canonical url or text."""
        with self.connect() as db:
            row = db.execute(
                "SELECT url FROM entries WHERE state = ? AND (canonical_url = ? OR text_hash = ?)",
                (SAVED, canonical_url, digest),
            ).fetchone()
        return row[0] if row else None

    def entry_done(
        self, hint: EntryHint, feed_url: str, state: str, now: float, **extra: str
    ) -> None:
        """Record a saved or duplicate entry (never fetched again)."""
        with self.connect() as db:
            db.execute(
                "INSERT INTO entries (url, feed_url, title, published, state, path, "
                "canonical_url, text_hash, attempts, first_seen_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT(url) DO UPDATE SET "
                "state = excluded.state, path = excluded.path, "
                "canonical_url = excluded.canonical_url, text_hash = excluded.text_hash, "
                "last_error = NULL, next_retry_at = NULL, updated_at = excluded.updated_at",
                (
                    hint.url,
                    feed_url,
                    hint.title,
                    hint.published,
                    state,
                    extra.get("path"),
                    extra.get("canonical_url"),
                    extra.get("text_hash"),
                    now,
                    now,
                ),
            )

    def entry_failed(
        self, hint: EntryHint, feed_url: str, reason: str, now: float, settings: FeedSettings
    ) -> Failure:
        with self.connect() as db:
            row = db.execute("SELECT attempts FROM entries WHERE url = ?", (hint.url,)).fetchone()
            attempts = (row[0] if row else 0) + 1
            gave_up = attempts >= settings.max_attempts
            retry = None if gave_up else now + settings.backoff(attempts)
            db.execute(
                "INSERT INTO entries (url, feed_url, title, published, state, attempts, "
                "last_error, next_retry_at, first_seen_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET "
                "state = excluded.state, attempts = excluded.attempts, "
                "last_error = excluded.last_error, next_retry_at = excluded.next_retry_at, "
                "updated_at = excluded.updated_at",
                (
                    hint.url,
                    feed_url,
                    hint.title,
                    hint.published,
                    GAVE_UP if gave_up else FAILED,
                    attempts,
                    reason,
                    retry,
                    now,
                    now,
                ),
            )
        return Failure(hint.url, feed_url, reason, attempts, retry, gave_up)


class FeedPoller:
    """Polls the subscribed feeds and saves new entries into corpus_dir/feeds/."""

    def __init__(
        self,
        data_dir: Path,
        corpus_dir: Path,
        settings: FeedSettings | None = None,
        *,
        allowed: AddressPolicy = is_public,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """A poller whose fetches, feeds and entries alike, go through the guarded opener.

        Args:
            allowed: the addresses it may fetch from: public ones unless the operator allows
                private ones (index.fetch.address_policy, FOOTNOTE_ALLOW_PRIVATE_URLS).
        """
        self.store = FeedStore(data_dir)
        self.corpus_dir = corpus_dir
        self.settings = settings or FeedSettings()
        self.allowed = allowed
        self._clock = clock

    def _fetch(self, url: str) -> bytes:
        return http_get(url, self.settings, self.allowed)

    def poll(self, *, force: bool = False) -> PollReport:
        """Poll every feed that is due, then retry failed entries that are due.

        Args:
            force: ignore backoff times: poll every feed and retry every failed entry now.

        Raises:
            FeedsLockedError: another poll is running and did not finish in time.
        """
        report = PollReport()
        with self.store.poll_lock(self.settings.lock_timeout):
            tried: set[str] = set()
            for feed in self.store.feeds():
                now = self._clock()
                if not force and feed.next_retry_at is not None and feed.next_retry_at > now:
                    report.feeds_waiting += 1
                    continue
                self._poll_feed(feed.url, report, tried)
            for url, feed_url, title, published in self.store.due_retries(self._clock(), force):
                if url not in tried:
                    self._process(EntryHint(url, title, published), feed_url, report)
        return report

    def _poll_feed(self, feed_url: str, report: PollReport, tried: set[str]) -> None:
        report.feeds_polled += 1
        try:
            title, hints = parse_feed(self._fetch(feed_url), feed_url)
        except FetchError as exc:
            failure = self.store.feed_failed(feed_url, str(exc), self._clock(), self.settings)
            self._log_failure("feed", failure)
            report.failures.append(failure)
            return
        self.store.feed_ok(feed_url, title, self._clock())
        new = 0
        for hint in hints:
            if self.store.state(hint.url) is not None:
                report.known += 1
                continue
            if new >= self.settings.max_new_per_feed:
                break  # the rest come with the next poll
            new += 1
            tried.add(hint.url)
            self._process(hint, feed_url, report)

    def _process(self, hint: EntryHint, feed_url: str, report: PollReport) -> None:
        """Fetch, extract and save one entry; a failure is recorded for a later retry."""
        now = self._clock()
        try:
            body = self._fetch(hint.url)
            article = extract_article(body, hint, self.settings.min_text_chars)
        except FetchError as exc:
            failure = self.store.entry_failed(hint, feed_url, str(exc), now, self.settings)
            self._log_failure("entry", failure)
            report.failures.append(failure)
            return
        digest = text_hash(article.text)
        first = self.store.duplicate_of(article.url, digest)
        if first is not None:
            self.store.entry_done(
                hint, feed_url, DUPLICATE, now, canonical_url=article.url, text_hash=digest
            )
            report.duplicates.append(f"{hint.url} duplicates {first}")
            log.info("feed %s: entry %s duplicates %s; not saved", feed_url, hint.url, first)
            return
        path = self.corpus_dir / FEEDS_SUBDIR / article_filename(article.title, article.url)
        write_atomically(path, render_article(article, feed_url))
        rel = path.relative_to(self.corpus_dir).as_posix()
        self.store.entry_done(
            hint, feed_url, SAVED, now, path=rel, canonical_url=article.url, text_hash=digest
        )
        report.saved.append(Saved(hint.url, rel, article.title))
        log.info("feed %s: saved %s as %s", feed_url, hint.url, rel)

    @staticmethod
    def _log_failure(kind: str, failure: Failure) -> None:
        if failure.gave_up:
            log.warning(
                "%s %s (feed %s) failed %d times, giving up: %s",
                kind,
                failure.url,
                failure.feed_url,
                failure.attempts,
                failure.reason,
            )
            return
        when = datetime.fromtimestamp(failure.next_retry_at or 0, UTC).isoformat(timespec="seconds")
        log.warning(
            "%s %s (feed %s) failed (attempt %d), retrying after %s: %s",
            kind,
            failure.url,
            failure.feed_url,
            failure.attempts,
            when,
            failure.reason,
        )
