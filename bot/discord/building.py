"""Index builds started from Discord (/reindex, /add): run off the loop, progress shown."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from typing import Any

import discord

from bot.discord.render import clip
from bot.discord.replies import one_line
from bot.service import Footnote
from index.build import CHUNKING, EMBEDDING, SENTENCES, BuildReport
from index.errors import FootnoteError, IndexLockedError
from index.intake import IntakeError, Staged
from index.store import ArticleRecord

log = logging.getLogger(__name__)

# A long /reindex or /add edits its reply with counts this often (seconds).
PROGRESS_SECONDS = 3.0
# How long a /reindex or /add waits for a build already running (e.g. the corpus watcher's).
BUILD_WAIT_SECONDS = 300.0


class BuildProgress:
    """A build's counts, shown by editing the deferred reply while it runs.

    The build calls it from its worker thread with (done, total, stage): characters of article
    text cut into passages, passages embedded, then sentences embedded; each change wakes a task
    on the event loop that edits the reply, at most once per interval, so the loop never waits
    on the build and Discord is not flooded.
    """

    def __init__(self, interaction: discord.Interaction[Any], action: str, interval: float) -> None:
        self.interaction = interaction
        self.action = action
        self.interval = interval
        self.done = 0
        self.total = 0
        self.stage = EMBEDDING
        self.waiting = False
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopped = False

    def __call__(self, done: int, total: int, stage: str = EMBEDDING) -> None:
        self.done, self.total, self.stage = done, total, stage
        self._notify()

    def wait_for_build(self, waiting: bool) -> None:
        """Show (or stop showing) that the build waits for another one to finish."""
        self.waiting = waiting
        self._notify()

    def _notify(self) -> None:
        with suppress(RuntimeError):  # the loop has closed: nobody is left to show it to
            self._loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def text(self, seconds: float) -> str:
        took = (
            f"{int(seconds) // 60} min {int(seconds) % 60} s"
            if seconds >= 60
            else f"{seconds:.0f} s"
        )
        if self.waiting:
            return f"{self.action}: waiting for the index build already running to finish… ({took})"
        if not self.total:
            return f"{self.action}: reading the articles… ({took})"
        share = 100 * self.done // max(self.total, 1)
        if self.stage == CHUNKING:
            return f"{self.action}: cutting the articles into passages ({share}%, {took})…"
        what = "sentences" if self.stage == SENTENCES else "passages"
        return (
            f"{self.action}: **{self.done:,}** of **{self.total:,}** {what} embedded "
            f"({share}%, {took})…"
        )

    async def show(self) -> None:
        """Edit the reply with the counts and the time taken every interval, until stopped.

        A change of counts wakes it early, but edits stay at most one per interval; a build
        shorter than one interval is never edited (its final reply comes soon enough).
        """
        # Wall-clock time, as Discord's rate limits count it (perf_counter: monotonic, and left
        # real by test simulators that make time.monotonic virtual).
        started = last = time.perf_counter()
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            if self._stopped:
                return
            now = time.perf_counter()
            if now - last < self.interval:
                continue
            last = now
            try:
                await self.interaction.edit_original_response(content=self.text(now - started))
            except Exception as exc:  # progress is a courtesy: whatever fails, the build goes on
                log.warning("could not show build progress: %s", one_line(exc))


def index_when_free(
    service: Footnote,
    progress: BuildProgress,
    *,
    rebuild: bool = False,
    wait: float = BUILD_WAIT_SECONDS,
) -> BuildReport:
    """service.index(), waiting up to wait seconds for a build already running (blocking)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return service.index(rebuild=rebuild, progress=progress)
        except IndexLockedError:
            if time.monotonic() >= deadline:
                raise
            progress.wait_for_build(True)
            time.sleep(0.5)
        finally:
            progress.wait_for_build(False)


class AddQueued(FootnoteError):
    """The article is saved in the corpus, but a build already running outlasted the wait: the
    build after it indexes the article (under `serve`, the corpus watcher's)."""


def add_and_index(
    service: Footnote,
    staged: Staged,
    progress: BuildProgress,
    *,
    wait: float = BUILD_WAIT_SECONDS,
) -> tuple[BuildReport, list[ArticleRecord]]:
    """Save a staged article into the corpus and index it; a failed add removes the file again.

    Blocking. Raises:
        IntakeError: the build skipped the file (it holds no usable or no new article).
        AddQueued: another build held the index for longer than wait seconds.
    """
    staged.save()
    try:
        report = index_when_free(service, progress, wait=wait)
    except IndexLockedError as exc:
        # A long build (a huge article's) holds the index: the article waits in the corpus for
        # the next build rather than being lost with this /add.
        raise AddQueued(
            f"Saved {clip(staged.first.title, 200)} in the corpus; the index build already "
            "running is taking long, so the build after it indexes the article. Ask about it "
            "in a while."
        ) from exc
    except BaseException:
        staged.discard()  # the build did not publish: corpus and index stay as they were
        raise
    mine = (staged.rel, f"{staged.rel}#")
    skipped = [str(e) for e in report.errors if e.path.startswith(mine)]
    skipped += [d for d in report.duplicates if d.startswith(mine)]
    if skipped:
        staged.discard()
        raise IntakeError(f"The index did not take it: {clip(skipped[0], 300)}.")
    return report, [service.article(a.id) for a in staged.articles]
