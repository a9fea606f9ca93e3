"""Keep the index live: rebuild when corpus files change, poll feeds on an interval.

The corpus is polled (file sizes and mtimes every `interval` seconds) rather than watched
with inotify: it works the same on every filesystem, including network and bind mounts,
and a burst of changes is debounced by waiting until two looks in a row agree.
The build itself is incremental (content hashes), so only new or changed articles are
embedded; searches keep using the published generation until the new one is published.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.articles import iter_article_files
from index.build import BuildReport
from index.errors import CorpusError, FootnoteError

log = logging.getLogger(__name__)

Fingerprint = dict[str, tuple[int, int]]
MAX_RETRY_SECONDS = 60.0


def fingerprint(corpus_dir: Path) -> Fingerprint:
    """(mtime_ns, size) of every article file, by relative path.

    Raises:
        CorpusError: the corpus directory is missing.
    """
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus directory {corpus_dir} does not exist or is not a directory")
    out: Fingerprint = {}
    for path in iter_article_files(corpus_dir):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # deleted between the listing and the stat: the next look sees it
        out[path.relative_to(corpus_dir).as_posix()] = (stat.st_mtime_ns, stat.st_size)
    return out


@dataclass(frozen=True)
class WatchStats:
    """What a LiveIndexer has done so far."""

    builds: int
    failures: int
    feed_polls: int
    feed_failures: int
    last_report: BuildReport | None


class LiveIndexer:
    """Rebuilds the index when the corpus changes, and polls feeds, until stopped.

    Args:
        rebuild: runs one incremental build (e.g. Footnote.index); may raise.
        corpus_dir: the directory to watch.
        interval: seconds between looks at the corpus; a change is built once it has
            stayed the same for one interval (bursts are debounced).
        on_report: called with the report of every build that changed the index or
            skipped a bad file.
        poll_feeds: polls the feeds once (e.g. FeedPoller.poll); its files land in the corpus.
        feed_interval: seconds between feed polls.
        build_on_start: build once at start even if nothing changed since.
        max_wait: build at the latest this many seconds after a change was first seen,
            even if files keep changing.
    """

    def __init__(
        self,
        rebuild: Callable[[], BuildReport],
        corpus_dir: Path,
        interval: float = 2.0,
        on_report: Callable[[BuildReport], None] | None = None,
        poll_feeds: Callable[[], object] | None = None,
        feed_interval: float = 900.0,
        *,
        build_on_start: bool = True,
        max_wait: float | None = None,
    ) -> None:
        self._rebuild = rebuild
        self.corpus_dir = corpus_dir
        self.interval = interval
        self._on_report = on_report
        self._poll_feeds = poll_feeds
        self.feed_interval = feed_interval
        self.max_wait = max_wait if max_wait is not None else max(10 * interval, 30.0)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._indexed: Fingerprint | None = None if build_on_start else self._look()
        self._pending: Fingerprint | None = None
        self._pending_since = 0.0
        self._retry_at = 0.0
        self._failures_in_row = 0
        self._lock = threading.Lock()
        self._builds = self._failures = self._feed_polls = self._feed_failures = 0
        self._last_report: BuildReport | None = None
        self._built = threading.Condition(self._lock)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run in daemon threads (corpus, and feeds when poll_feeds was given)."""
        if self._threads:
            raise RuntimeError("LiveIndexer already started")
        self._stop.clear()
        targets: list[tuple[str, Callable[[], None]]] = [("footnote-watch", self._corpus_loop)]
        if self._poll_feeds is not None:
            targets.append(("footnote-feeds", self._feed_loop))
        for name, target in targets:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float | None = 30.0) -> None:
        """Ask the threads to stop and wait for them (a build under way finishes first)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def run(self) -> None:
        """Run in the calling thread until stop() or KeyboardInterrupt."""
        feeds: threading.Thread | None = None
        if self._poll_feeds is not None:
            feeds = threading.Thread(target=self._feed_loop, name="footnote-feeds", daemon=True)
            feeds.start()
        try:
            self._corpus_loop()
        finally:
            self._stop.set()
            if feeds is not None:
                feeds.join(5.0)

    @property
    def stats(self) -> WatchStats:
        with self._lock:
            return WatchStats(
                self._builds,
                self._failures,
                self._feed_polls,
                self._feed_failures,
                self._last_report,
            )

    def wait_for_builds(self, count: int, timeout: float) -> bool:
        """Block until at least count builds have completed; False on timeout."""
        with self._built:
            return self._built.wait_for(lambda: self._builds >= count, timeout)

    # -- corpus ------------------------------------------------------------------------------

    def _corpus_loop(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.interval)

    def step(self, now: float | None = None) -> bool:
        """Look at the corpus once and build if a change has settled; True if it built."""
        now = time.monotonic() if now is None else now
        if now < self._retry_at:
            return False
        seen = self._look()
        if seen is None or seen == self._indexed:
            self._pending = None
            return False
        if seen != self._pending:
            first = self._pending is None
            self._pending = seen
            if first:
                self._pending_since = now
            # Settled means unchanged for one interval. The first look at start or after a
            # failed build, or a change still going on after max_wait, builds at once.
            settled = self._indexed is None or self._failures_in_row > 0
            if not (settled or now - self._pending_since >= self.max_wait):
                return False
        return self._build(seen, now)

    def _look(self) -> Fingerprint | None:
        try:
            return fingerprint(self.corpus_dir)
        except (CorpusError, OSError) as exc:
            log.warning("cannot look at corpus %s: %s", self.corpus_dir, exc)
            return None

    def _build(self, seen: Fingerprint, now: float) -> bool:
        try:
            report = self._rebuild()
        except Exception as exc:  # the watcher must outlive any one failed build
            self._failures_in_row += 1
            delay = min(self.interval * 2**self._failures_in_row, MAX_RETRY_SECONDS)
            self._retry_at = now + delay
            log.error(
                "index build failed (attempt %d), retrying in %.0fs: %s",
                self._failures_in_row,
                delay,
                exc,
                exc_info=not isinstance(exc, FootnoteError),
            )
            with self._lock:
                self._failures += 1
            return False
        # What was seen before the build started is what got indexed; anything that changed
        # during the build differs from it, so the next look builds again.
        self._indexed, self._pending = seen, None
        self._failures_in_row, self._retry_at = 0, 0.0
        with self._built:
            self._builds += 1
            self._last_report = report
            self._built.notify_all()
        log.info(
            "index build: +%d ~%d -%d articles, %d chunks embedded, generation %s",
            report.added,
            report.updated,
            report.removed,
            report.chunks_embedded,
            report.generation,
        )
        if self._on_report is not None and (report.changed or report.errors):
            try:
                self._on_report(report)
            except Exception:  # a broken callback must not stop the watcher
                log.exception("on_report callback failed")
        return True

    # -- feeds -------------------------------------------------------------------------------

    def _feed_loop(self) -> None:
        while not self._stop.is_set():
            self.poll_feeds_once()
            self._stop.wait(self.feed_interval)

    def poll_feeds_once(self) -> None:
        """Poll the feeds now; a failure is logged, the next poll comes on schedule."""
        if self._poll_feeds is None:
            return
        try:
            self._poll_feeds()
        except Exception:  # the watcher must outlive any one failed poll
            log.exception("feed poll failed; next poll in %.0fs", self.feed_interval)
            with self._lock:
                self._feed_failures += 1
            return
        with self._lock:
            self._feed_polls += 1
