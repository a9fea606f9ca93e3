"""LiveIndexer: debounced corpus polling, retries, and live swaps while questions are asked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import Settings
from bot.feeds_cli import live_background, live_indexer
from bot.service import Footnote
from index.build import BuildReport, build_lock
from index.errors import IndexLockedError
from index.watch import LiveIndexer, fingerprint
from tests.fakes import FakeEmbedder

KITES = """---
title: "Kite festival in Saltmarsh draws a record 40,000 visitors"
source: "Coastal Courier"
published_at: 2024-07-21
url: "https://courier.example/kite-festival"
---

The Saltmarsh kite festival drew a record 40,000 visitors on Sunday, organisers said.

The largest kite, a 30 metre whale built by the Dunmore kite club, needed eight people to fly it.
"""
KITE_URL = "https://courier.example/kite-festival"
KITE_QUESTION = "How many visitors came to the Saltmarsh kite festival?"


class FakeRebuild:
    """A rebuild callable that raises the queued errors first, then reports success."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> BuildReport:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return BuildReport(added=1, published=True)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def wait_until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_fingerprint_skips_hidden_and_non_article_files(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "alpha")
    write(tmp_path / "feeds" / "b.html", "<p>beta</p>")
    write(tmp_path / "feeds" / ".b.md.tmp-1", "partial")
    write(tmp_path / "notes.pdf", "binary")
    assert sorted(fingerprint(tmp_path)) == ["a.md", "feeds/b.html"]


def test_bursts_are_debounced_and_each_settled_change_builds_once(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "alpha")
    rebuild = FakeRebuild()
    live = LiveIndexer(rebuild, tmp_path, interval=1.0, build_on_start=False, max_wait=100.0)

    assert not live.step(now=0.0)
    write(tmp_path / "b.md", "beta")
    assert not live.step(now=1.0)  # new file seen
    write(tmp_path / "b.md", "beta, still being written")
    assert not live.step(now=2.0)  # changed again: not settled
    assert live.step(now=3.0)  # unchanged for one interval: build
    assert not live.step(now=4.0)
    (tmp_path / "a.md").unlink()
    assert not live.step(now=5.0)
    assert live.step(now=6.0)
    assert rebuild.calls == 2


def test_a_change_that_never_settles_still_builds_after_max_wait(tmp_path: Path) -> None:
    rebuild = FakeRebuild()
    live = LiveIndexer(rebuild, tmp_path, interval=1.0, build_on_start=False, max_wait=3.0)
    built = []
    for second in range(6):
        write(tmp_path / "growing.md", "x" * (second + 1))
        built.append(live.step(now=float(second)))
    assert built == [False, False, False, True, False, False]


def test_failed_builds_are_logged_and_retried_with_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    locked = IndexLockedError("another build is running on data/index (it holds build.lock)")
    rebuild = FakeRebuild(locked, RuntimeError("disk on fire"))
    reports: list[BuildReport] = []

    def broken_callback(report: BuildReport) -> None:
        reports.append(report)
        raise ValueError("callback bug")

    live = LiveIndexer(rebuild, tmp_path, interval=1.0, on_report=broken_callback)
    with caplog.at_level(logging.ERROR, logger="index.watch"):
        results = [live.step(now=t) for t in (0.0, 1.0, 2.0, 5.0, 6.0)]

    # 0: start-up build fails (retry after 2s); 2: fails again (retry after 4s); 6: builds.
    assert results == [False, False, False, False, True]
    assert rebuild.calls == 3
    assert live.stats.failures == 2 and live.stats.builds == 1 and len(reports) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert "another build is running" in messages[0] and "retrying in 2s" in messages[0]
    assert "disk on fire" in messages[1] and "retrying in 4s" in messages[1]
    assert "on_report callback failed" in messages[2]


def test_feed_poll_failures_do_not_stop_the_watcher(tmp_path: Path) -> None:
    calls = []

    def poll() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise OSError("network unreachable")

    live = LiveIndexer(FakeRebuild(), tmp_path, 0.05, poll_feeds=poll, feed_interval=0.05)
    live.start()
    try:
        assert wait_until(lambda: len(calls) >= 3, 10.0)
    finally:
        live.stop(10.0)
    assert live.stats.feed_failures == 1 and live.stats.feed_polls >= 2


class Asker:
    """Asks one question in a loop in a thread; records every answer and every failure."""

    def __init__(self, service: Footnote, question: str) -> None:
        self.service = service
        self.question = question
        self.answered = 0
        self.found = 0
        self.failures: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Asker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.found += self.service.ask(self.question).found
                self.answered += 1
            except Exception as exc:  # recorded: the test asserts there are none
                self.failures.append(exc)


def cited(service: Footnote, question: str, url: str) -> bool:
    return any(s.url == url for s in service.ask(question).sources)


def test_new_changed_and_deleted_files_go_live_while_questions_are_answered(
    service: Footnote,
) -> None:
    corpus = service.settings.corpus_dir
    before = service.status()
    reports: list[BuildReport] = []
    live = LiveIndexer(service.index, corpus, 0.05, on_report=reports.append)
    live.start()
    try:
        assert live.wait_for_builds(1, 20.0)  # the start-up check: nothing to do
        with Asker(service, "Who won the national chess championship?") as asker:
            write(corpus / "kites.md", KITES)
            assert wait_until(lambda: cited(service, KITE_QUESTION, KITE_URL))
            answered_at_swap = asker.answered

            write(corpus / "kites.md", KITES.replace("40,000", "52,000"))
            assert wait_until(lambda: "52,000" in service.article("kites.md").text)

            (corpus / "kites.md").unlink()
            assert wait_until(lambda: service.status().articles == before.articles)
            assert wait_until(lambda: asker.answered > answered_at_swap + 3)
            assert wait_until(lambda: len(reports) == 3)
    finally:
        live.stop(10.0)

    assert asker.failures == [] and asker.found == asker.answered > 0
    added, updated, removed = reports  # the start-up check changed nothing: not reported
    assert (added.added, added.unchanged) == (1, before.articles)
    assert added.chunks_embedded == added.chunks_total - before.chunks  # only the new chunks
    assert (updated.updated, updated.added, updated.unchanged) == (1, 0, before.articles)
    assert (removed.removed, removed.chunks_embedded) == (1, 0)
    assert service.status().chunks == before.chunks


def test_a_bad_file_or_a_held_lock_never_stops_the_watcher(
    service: Footnote, caplog: pytest.LogCaptureFixture
) -> None:
    corpus, data = service.settings.corpus_dir, service.settings.data_dir
    reports: list[BuildReport] = []
    live = LiveIndexer(service.index, corpus, 0.05, on_report=reports.append)
    with caplog.at_level(logging.ERROR, logger="index.watch"):
        live.start()
        try:
            assert live.wait_for_builds(1, 20.0)
            (corpus / "broken.md").write_bytes(b"\xff\xfe not utf-8")
            assert wait_until(lambda: bool(reports))
            assert [e.path for e in reports[-1].errors] == ["broken.md"]
            with build_lock(data):  # another builder holds the index
                write(corpus / "kites.md", KITES)
                assert wait_until(lambda: live.stats.failures >= 1)
            assert wait_until(lambda: cited(service, KITE_QUESTION, KITE_URL))
        finally:
            live.stop(10.0)
    assert any("another build is running" in r.getMessage() for r in caplog.records)
    assert live.stats.last_report is not None and live.stats.last_report.added == 1


def test_live_indexer_is_wired_from_the_settings(settings: Settings) -> None:
    live = live_indexer(Footnote(settings, embedder=FakeEmbedder()))
    assert (live.corpus_dir, live.interval, live.feed_interval) == (
        settings.corpus_dir,
        settings.watch_interval,
        settings.feed_interval,
    )


async def test_the_bots_background_watcher_builds_and_stops_with_the_bot(
    settings: Settings,
) -> None:
    service = Footnote(settings, embedder=FakeEmbedder())
    task = asyncio.create_task(live_background(service)(object()))
    deadline = time.monotonic() + 20.0
    while not (settings.data_dir / "index" / "CURRENT").exists():
        assert time.monotonic() < deadline, "the watcher never built the index"
        await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 30.0)
    names = {t.name for t in threading.enumerate()}
    assert not names & {"footnote-watch", "footnote-feeds"}
    assert service.status().articles > 0


async def test_the_bots_watcher_logs_each_skipped_file_once(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    (settings.corpus_dir / "broken.md").write_bytes(b"\xff\xfe not utf-8")
    service = Footnote(settings, embedder=FakeEmbedder())
    task = asyncio.create_task(live_background(service)(object()))
    deadline = time.monotonic() + 20.0
    while not (settings.data_dir / "index" / "CURRENT").exists():
        assert time.monotonic() < deadline, "the watcher never built the index"
        await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 30.0)
    logged = [(r.levelname, r.getMessage()) for r in caplog.records]
    skipped = [(level, text[:18]) for level, text in logged if "broken.md" in text]
    assert skipped == [("WARNING", "skipped broken.md:")]
