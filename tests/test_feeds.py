"""Feeds: a loopback HTTP server serves an RSS feed and invented article pages."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bot.config import Settings
from bot.service import Footnote
from index.articles import load_corpus, load_file
from index.feeds import FeedPoller, FeedSettings, FeedStore, article_filename
from index.watch import LiveIndexer
from tests.cli_runner import run_cli
from tests.fakes import FakeEmbedder
from tests.web_pages import WebPages

RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"

SOLAR = (
    "Millbrook switches on a floating solar farm on Lake Arden",
    "Lakeside Gazette",
    [
        "The town of Millbrook switched on a floating solar farm on Lake Arden on Monday, "
        "the first of its kind in the county.",
        "The farm has 4,000 panels on pontoons and will supply about 1,200 homes, said the "
        "project engineer, Ines Okafor. Shade from the panels also slows algae growth.",
        "The council paid 6 million euros for the floating solar farm and expects it to pay "
        "for itself within nine years.",
    ],
)
GLACIER = (
    "Survey finds the Tarnvik glacier retreated 40 metres in one summer",
    "Northern Science Post",
    [
        "Glaciologists measured a 40 metre retreat of the Tarnvik glacier this summer, the "
        "largest since records began in 1931.",
        "The survey team, led by Dr Halvard Moen, used drones to map the glacier snout every "
        "week from June to September.",
        "Meltwater from the Tarnvik glacier feeds the river that powers the valley's small "
        "hydroelectric plant.",
    ],
)
BAKERY = (
    "Village bakery wins the national sourdough prize",
    "Country Crumb",
    [
        "A village bakery in Elmstead won the national sourdough prize on Saturday with a "
        "rye loaf proofed for thirty hours.",
        "Owner Bea Lindqvist said the starter was kept alive by her grandmother for fifty "
        "years. The judges praised the crust and the open crumb of the sourdough.",
    ],
)


def page(title: str, site: str, paragraphs: list[str], date: str = "2024-06-03") -> bytes:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{escape(title)} | {escape(site)}</title>"
        f'<meta property="og:title" content="{escape(title)}">'
        f'<meta property="og:site_name" content="{escape(site)}">'
        f'<meta name="date" content="{date}"></head><body>'
        "<nav><a href='/'>Home</a> | <a href='/news'>News</a> | Subscribe</nav>"
        f"<article><h1>{escape(title)}</h1>{body}</article>"
        "<footer>Copyright. Sign up for our newsletter.</footer></body></html>"
    ).encode()


EMPTY_PAGE = b"<html><head><title>Menu</title></head><body><nav>Home | News</nav></body></html>"


def rss(title: str, items: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link>"
        "<pubDate>Mon, 03 Jun 2024 08:30:00 +0000</pubDate></item>"
        for t, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link>"
        f"<description>invented news</description>{entries}</channel></rss>"
    ).encode()


@dataclass
class Site:
    """What the loopback server serves, and what it was asked for."""

    base: str = ""
    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    agents: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, body: bytes, content_type: str = HTML, status: int = 200) -> str:
        self.routes[path] = (status, content_type, body)
        return self.url(path)


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits[self.path] += 1
            state.agents.add(self.headers.get("User-Agent", ""))
            status, ctype, body = state.routes.get(self.path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


FAST = FeedSettings(timeout=5.0, retry_base=60.0, retry_max=3600.0, lock_timeout=5.0)


def loopback(address: str) -> bool:
    """127.0.0.1, where the test sites run, plays a public address; 127.0.0.2 stays private."""
    return address == "127.0.0.1"


def serve_article(site: Site, path: str, article: tuple[str, str, list[str]]) -> str:
    return site.serve(path, page(*article))


def cites(answer: object, url: str) -> bool:
    return any(s.url == url for s in getattr(answer, "sources", []))


def test_poll_saves_articles_that_indexing_makes_answerable(
    site: Site, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    solar = serve_article(site, "/news/solar", SOLAR)
    glacier = serve_article(site, "/news/glacier", GLACIER)
    items = [(SOLAR[0], solar), (GLACIER[0], glacier)]
    feed = site.serve("/feed.xml", rss("Invented Wire", items), RSS)
    FeedStore(settings.data_dir).add(feed, now=0.0)
    before = len(load_corpus(settings.corpus_dir).articles)

    report = FeedPoller(settings.data_dir, settings.corpus_dir, FAST, allowed=loopback).poll()

    assert [s.url for s in report.saved] == [solar, glacier]
    assert not report.failures
    assert site.agents and all(a.startswith("Footnote/") for a in site.agents)
    path = settings.corpus_dir / "feeds" / article_filename(SOLAR[0], solar)
    [article] = load_file(path)
    assert (article.title, article.source, article.url) == (SOLAR[0], "Lakeside Gazette", solar)
    assert article.published == "2024-06-03T08:30:00+00:00"
    assert "4,000 panels" in article.text

    service = Footnote(settings, embedder=fake_embedder)
    built = service.index()
    assert built.added == before + 2
    answer = service.ask("How many panels does the floating solar farm on Lake Arden have?")
    assert answer.found and cites(answer, solar)
    answer = service.ask("How far did the Tarnvik glacier retreat this summer?")
    assert answer.found and cites(answer, glacier)


def test_failures_are_logged_per_item_and_retried_with_backoff(
    site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, corpus = tmp_path / "data", tmp_path / "corpus"
    good = serve_article(site, "/news/solar", SOLAR)
    gone = site.url("/news/gone")  # 404 for now
    empty = site.serve("/news/menu", EMPTY_PAGE)
    items = [(SOLAR[0], good), ("Gone", gone), ("Menu", empty)]
    feed = site.serve("/feed.xml", rss("Wire", items), RSS)
    broken = site.serve("/broken.xml", b"<rss><channel><item><title>cut off", RSS)
    store = FeedStore(data)
    store.add(feed, now=0.0)
    store.add(broken, now=1.0)
    clock = Clock()
    poller = FeedPoller(data, corpus, FAST, allowed=loopback, clock=clock)

    with caplog.at_level(logging.WARNING, logger="index.feeds"):
        first = poller.poll()

    assert [s.url for s in first.saved] == [good]
    reasons = {f.url: f.reason for f in first.failures}
    assert reasons[gone].startswith("HTTP 404")
    assert reasons[empty].startswith("no article text found on the page")
    assert reasons[broken].startswith("not a valid RSS/Atom feed")
    assert all(f.attempts == 1 and f.next_retry_at == clock.now + 60 for f in first.failures)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for url in (gone, empty, broken):
        assert url in logged
    assert {f.url: f.failing for f in store.feeds()} == {feed: 2, broken: 0}

    clock.now += 30  # before the retry time: nothing failing is fetched again
    second = poller.poll()
    assert (second.saved, second.failures, second.known, second.feeds_waiting) == ([], [], 3, 1)
    assert site.hits["/news/gone"] == site.hits["/news/menu"] == site.hits["/broken.xml"] == 1

    glacier = serve_article(site, "/news/glacier", GLACIER)
    site.serve("/news/gone", page(*BAKERY))
    site.serve("/news/menu", page(*GLACIER[:2], ["A different page.", *GLACIER[2]]))
    site.serve("/broken.xml", rss("Science", [(GLACIER[0], glacier)]), RSS)
    clock.now += 31  # past the first backoff (60 s)
    third = poller.poll()

    assert not third.failures
    assert sorted(s.url for s in third.saved) == sorted([gone, empty, glacier])
    assert all(f.last_error is None and f.failing == 0 for f in store.feeds())
    assert len(list((corpus / "feeds").glob("*.md"))) == 4


def test_backoff_grows_and_gives_up_after_max_attempts(site: Site, tmp_path: Path) -> None:
    gone = site.url("/news/gone")
    feed = site.serve("/feed.xml", rss("Wire", [("Gone", gone)]), RSS)
    FeedStore(tmp_path).add(feed, now=0.0)
    clock = Clock()
    settings = FeedSettings(timeout=5.0, retry_base=10.0, max_attempts=3, lock_timeout=5.0)
    poller = FeedPoller(tmp_path, tmp_path / "corpus", settings, allowed=loopback, clock=clock)

    delays = []
    for _ in range(3):
        [failure] = poller.poll(force=True).failures
        delays.append(None if failure.gave_up else (failure.next_retry_at or 0) - clock.now)
    assert delays == [10.0, 20.0, None]
    assert poller.poll(force=True).failures == []
    assert site.hits["/news/gone"] == 3


def test_same_url_or_same_text_is_saved_once(
    site: Site, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    solar = serve_article(site, "/news/solar", SOLAR)
    mirror = serve_article(site, "/mirror/solar-copy", SOLAR)
    one = site.serve("/one.xml", rss("One", [(SOLAR[0], solar), (SOLAR[0], mirror)]), RSS)
    two = site.serve("/two.xml", rss("Two", [(SOLAR[0], solar)]), RSS)
    store = FeedStore(settings.data_dir)
    store.add(one, now=0.0)
    store.add(two, now=1.0)
    poller = FeedPoller(settings.data_dir, settings.corpus_dir, FAST, allowed=loopback)

    first = poller.poll()
    saved = list((settings.corpus_dir / "feeds").glob("*.md"))
    stamp = saved[0].stat().st_mtime_ns
    second = poller.poll(force=True)

    assert [s.url for s in first.saved] == [solar]
    assert first.duplicates == [f"{mirror} duplicates {solar}"]
    assert first.known == 1  # the second feed's copy of the same url
    assert (second.saved, second.known) == ([], 3)
    assert len(saved) == 1 and saved[0].stat().st_mtime_ns == stamp
    assert site.hits["/news/solar"] == 1
    report = Footnote(settings, embedder=fake_embedder).index()
    assert report.added == len(load_corpus(settings.corpus_dir).articles)
    assert not report.duplicates and report.errors == []


def test_feeds_on_private_addresses_are_refused_by_default(site: Site, tmp_path: Path) -> None:
    solar = serve_article(site, "/news/solar", SOLAR)
    feed = site.serve("/feed.xml", rss("Wire", [(SOLAR[0], solar)]), RSS)
    FeedStore(tmp_path).add(feed, now=0.0)

    report = FeedPoller(tmp_path, tmp_path / "corpus", FAST).poll()

    [failure] = report.failures
    assert failure.url == feed and "127.0.0.1" in failure.reason
    assert "public internet" in failure.reason
    assert not report.saved and not site.hits  # refused before connecting


def test_feed_entries_on_private_addresses_are_refused_redirects_included(
    site: Site, tmp_path: Path
) -> None:
    # 127.0.0.1 plays the public internet, 127.0.0.2 the private network.
    inner, outer = WebPages("127.0.0.2"), WebPages("127.0.0.1")
    try:
        intranet = inner.add("/secret", page(*GLACIER).decode())
        hop = outer.redirect("/short", intranet)
        solar = serve_article(site, "/news/solar", SOLAR)
        items = [("Secret", intranet), ("Short", hop), (SOLAR[0], solar)]
        feed = site.serve("/feed.xml", rss("Wire", items), RSS)
        FeedStore(tmp_path).add(feed, now=0.0)

        report = FeedPoller(tmp_path, tmp_path / "corpus", FAST, allowed=loopback).poll()

        assert [s.url for s in report.saved] == [solar]
        reasons = {f.url: f.reason for f in report.failures}
        assert set(reasons) == {intranet, hop}
        assert all("127.0.0.2" in r and "public internet" in r for r in reasons.values())
        assert outer.requested == ["/short"] and inner.requested == []
    finally:
        inner.close()
        outer.close()


def test_a_feed_entry_linking_a_local_file_is_not_read(site: Site, tmp_path: Path) -> None:
    secret = tmp_path / "secret.html"
    secret.write_bytes(page(*GLACIER))
    links = [secret.as_uri(), f"file://localhost{secret}"]
    feed = site.serve("/feed.xml", rss("Wire", [("Secret", link) for link in links]), RSS)
    FeedStore(tmp_path / "data").add(feed, now=0.0)
    corpus = tmp_path / "corpus"

    report = FeedPoller(tmp_path / "data", corpus, FAST, allowed=lambda address: True).poll()

    assert not report.saved and not (corpus / "feeds").exists()
    assert len(report.failures) == len(links)
    assert all("only fetch http:// and https://" in f.reason for f in report.failures)


def test_live_indexer_polls_feeds_and_new_entries_become_answerable(
    site: Site, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    solar = serve_article(site, "/news/solar", SOLAR)
    feed = site.serve("/feed.xml", rss("Wire", [(SOLAR[0], solar)]), RSS)
    FeedStore(settings.data_dir).add(feed, now=0.0)
    service = Footnote(settings, embedder=fake_embedder)
    service.index()
    poller = FeedPoller(settings.data_dir, settings.corpus_dir, FAST, allowed=loopback)
    live = LiveIndexer(
        service.index, settings.corpus_dir, 0.05, poll_feeds=poller.poll, feed_interval=0.1
    )
    live.start()
    try:
        assert _answer_cites(service, "How many panels are on Lake Arden?", solar, 20.0)
        bakery = serve_article(site, "/news/bakery", BAKERY)
        site.serve("/feed.xml", rss("Wire", [(BAKERY[0], bakery), (SOLAR[0], solar)]), RSS)
        assert _answer_cites(service, "Which bakery won the sourdough prize?", bakery, 20.0)
    finally:
        live.stop(10.0)
    assert live.stats.feed_failures == 0 and live.stats.failures == 0


def _answer_cites(service: Footnote, question: str, url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cites(service.ask(question), url):
            return True
        time.sleep(0.05)
    return False


def test_feeds_cli_add_list_poll_remove(
    site: Site,
    tmp_path: Path,
    news_corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("bot.service.make_embedder", lambda settings: FakeEmbedder())
    solar = serve_article(site, "/news/solar", SOLAR)
    gone = site.url("/news/gone")
    feed = site.serve("/feed.xml", rss("Wire", [(SOLAR[0], solar), ("Gone", gone)]), RSS)
    data = ["--data-dir", str(tmp_path / "data")]

    assert run_cli(["feeds", "list", *data], monkeypatch, capsys)[1].startswith("No feeds yet")
    code, out, _ = run_cli(["feeds", "add", feed, *data], monkeypatch, capsys)
    assert code == 0 and out.startswith(f"Added {feed}")
    assert "Already subscribed" in run_cli(["feeds", "add", feed, *data], monkeypatch, capsys)[1]
    code, _, err = run_cli(["feeds", "add", "ftp://example/feed", *data], monkeypatch, capsys)
    assert code == 2 and "Error: feed URLs start with http:// or https://" in err

    poll = ["feeds", "poll", *data, "--corpus", str(news_corpus)]
    code, out, err = run_cli(poll, monkeypatch, capsys)  # a feed on loopback: refused
    assert code == 0 and f"failed: {feed}: cannot connect: 127.0.0.1 resolves to" in err
    assert "0 new articles" in out and not site.hits
    monkeypatch.setenv("FOOTNOTE_ALLOW_PRIVATE_URLS", "true")
    code, out, err = run_cli(poll, monkeypatch, capsys)
    assert code == 0, err
    assert f"saved feeds/{article_filename(SOLAR[0], solar)}" in out
    total = len(load_corpus(news_corpus).articles)
    assert f"indexed: +{total} articles" in out and f"index: {total} articles" in out
    assert f"failed: {gone}: HTTP 404" in err

    code, out, _ = run_cli(["feeds", "list", *data], monkeypatch, capsys)
    assert f"{feed} (Wire): 1 saved, 1 failing" in out
    code, out, _ = run_cli(["feeds", "remove", feed, *data], monkeypatch, capsys)
    assert code == 0 and out == f"Removed {feed}."
    code, _, err = run_cli(["feeds", "remove", feed, *data], monkeypatch, capsys)
    assert code == 2 and f"Error: no feed '{feed}'" in err
