"""`footnote feeds ...`: subscribe to RSS/Atom feeds whose articles join the corpus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.config import Settings, load_settings
from bot.service import Footnote
from index.build import BuildReport
from index.feeds import FeedPoller, FeedStore, PollReport
from index.fetch import address_policy
from index.watch import LiveIndexer

log = logging.getLogger(__name__)

feeds_app = typer.Typer(
    help="RSS/Atom feeds: new entries are fetched into corpus/feeds/ and indexed.",
    no_args_is_help=True,
)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Index directory (env FOOTNOTE_DATA_DIR).")
]
CorpusDir = Annotated[
    Path | None, typer.Option("--corpus", help="Articles directory (env FOOTNOTE_CORPUS_DIR).")
]
FeedUrl = Annotated[str, typer.Argument(help="The feed's URL (RSS or Atom).")]


def live_indexer(
    service: Footnote, on_report: Callable[[BuildReport], None] | None = None
) -> LiveIndexer:
    """A LiveIndexer for service's corpus that also polls its feeds (for `index --watch`, serve)."""
    settings = service.settings
    return LiveIndexer(
        service.index,
        settings.corpus_dir,
        settings.watch_interval,
        on_report=on_report,
        poll_feeds=poller(settings).poll,
        feed_interval=settings.feed_interval,
    )


def poller(settings: Settings) -> FeedPoller:
    """The feed poller of settings: public addresses only unless FOOTNOTE_ALLOW_PRIVATE_URLS."""
    allowed = address_policy(settings.allow_private_urls)
    return FeedPoller(settings.data_dir, settings.corpus_dir, allowed=allowed)


def live_background(service: Footnote) -> Callable[[object], Coroutine[Any, Any, None]]:
    """A background task for run_bot: a LiveIndexer running as long as the bot does."""

    async def watch(_bot: object) -> None:
        indexer = live_indexer(service, on_report=_log_skipped)
        indexer.start()
        try:
            await asyncio.Event().wait()  # until the bot cancels its background tasks
        finally:
            await asyncio.to_thread(indexer.stop)

    return watch


def _log_skipped(report: BuildReport) -> None:
    """The bot's record of the files a build left out (the CLI prints them instead)."""
    for problem in report.errors:
        log.warning("skipped %s", problem)


def _warn(text: str) -> None:
    typer.echo(text, err=True)


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "never"
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


@feeds_app.command("add")
def add(url: FeedUrl, data_dir: DataDir = None) -> None:
    """Subscribe to a feed; its entries arrive with the next poll."""
    settings = load_settings(data_dir=data_dir)
    if FeedStore(settings.data_dir).add(url, datetime.now(UTC).timestamp()):
        typer.echo(f"Added {url.strip()}; run `footnote feeds poll` to fetch it now.")
    else:
        typer.echo(f"Already subscribed to {url.strip()}.")


@feeds_app.command("list")
def list_feeds(data_dir: DataDir = None) -> None:
    """List the feeds with their articles saved, entries failing and last error."""
    store = FeedStore(load_settings(data_dir=data_dir).data_dir)
    feeds = store.feeds() if store.path.exists() else []  # listing writes nothing
    if not feeds:
        typer.echo("No feeds yet: add one with `footnote feeds add URL`.")
    for feed in feeds:
        title = f" ({feed.title})" if feed.title else ""
        typer.echo(
            f"{feed.url}{title}: {feed.saved} saved, {feed.failing} failing, "
            f"last polled {_when(feed.last_polled_at)}"
        )
        if feed.last_error:
            typer.echo(
                f"  error: {feed.last_error} (attempt {feed.attempts}, "
                f"next try after {_when(feed.next_retry_at)})"
            )


@feeds_app.command("remove")
def remove(url: FeedUrl, data_dir: DataDir = None) -> None:
    """Unsubscribe from a feed (its saved articles stay in the corpus)."""
    FeedStore(load_settings(data_dir=data_dir).data_dir).remove(url)
    typer.echo(f"Removed {url.strip()}.")


@feeds_app.command("poll")
def poll(
    data_dir: DataDir = None,
    corpus: CorpusDir = None,
    index: Annotated[
        bool, typer.Option("--index/--no-index", help="Index the new articles at once.")
    ] = True,
) -> None:
    """Poll every feed now, save new entries into the corpus and index them."""
    service = Footnote(load_settings(data_dir=data_dir, corpus_dir=corpus))
    settings = service.settings
    report = poller(settings).poll(force=True)
    _print_poll(report)
    if index and report.changed:
        built = service.index()
        typer.echo(
            f"indexed: +{built.added} articles, {built.chunks_embedded} chunks embedded; "
            f"index: {built.articles_total} articles"
        )


def _print_poll(report: PollReport) -> None:
    for saved in report.saved:
        typer.echo(f"saved {saved.path}  {saved.title}")
    for dup in report.duplicates:
        _warn(f"duplicate skipped: {dup}")
    for failure in report.failures:
        retry = "given up" if failure.gave_up else f"retry after {_when(failure.next_retry_at)}"
        _warn(f"failed: {failure.url}: {failure.reason} (attempt {failure.attempts}, {retry})")
    typer.echo(
        f"{report.feeds_polled} feeds polled, {len(report.saved)} new articles, "
        f"{report.known} already seen, {len(report.failures)} failures"
    )
