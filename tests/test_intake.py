"""Adding one article: an uploaded file or a fetched page, checked before anything is saved."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.articles import load_corpus
from index.intake import (
    DuplicateArticle,
    IntakeError,
    PrivateAddressError,
    check_upload,
    is_public,
    public_opener,
    stage_file,
    stage_page,
)
from tests.conftest import NEWS
from tests.web_pages import EMPTY_HTML, LIGHTHOUSE_HTML, WebPages

LIMIT = 1_000_000
STORY = b"""---
title: Ferry strike ends after nine days
source: Island Courier
published_at: 2024-06-01
url: https://courier.example/ferry-strike
---

Ferry crews returned to work on Monday after a nine day strike over pay ended with a deal.
"""


@pytest.fixture
def web() -> Iterator[WebPages]:
    pages = WebPages()
    yield pages
    pages.close()


def snapshot(corpus: Path) -> dict[str, bytes]:
    return {
        p.relative_to(corpus).as_posix(): p.read_bytes() for p in corpus.rglob("*") if p.is_file()
    }


def test_a_new_article_file_is_read_then_saved_under_added(news_corpus: Path) -> None:
    staged = stage_file(news_corpus, "Ferry Strike.md", STORY, LIMIT)
    assert staged.rel.startswith("added/ferry-strike-") and staged.rel.endswith(".md")
    assert staged.first.title == "Ferry strike ends after nine days"
    assert not staged.path.exists()  # nothing is written before save()
    staged.save()
    ids = {a.id for a in load_corpus(news_corpus).articles}
    assert staged.rel in ids
    staged.discard()
    assert staged.rel not in {a.id for a in load_corpus(news_corpus).articles}


@pytest.mark.parametrize(
    ("name", "size", "expected"),
    [
        ("story.pdf", 10, "not an article file"),
        ("story", 10, "not an article file"),
        ("story.md", LIMIT + 1, "at most 1.0 MB"),
        ("story.md", 0, "empty"),
    ],
)
def test_wrong_type_too_large_or_empty_is_refused_before_reading(
    name: str, size: int, expected: str
) -> None:
    with pytest.raises(IntakeError, match=expected):
        check_upload(name, size, LIMIT)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("notes.md", b"---\ntitle: Nothing here\n---\n", "no body text"),
        ("page.html", EMPTY_HTML.encode(), "no article text"),
        ("wire.json", b"{not json", "invalid JSON"),
        ("latin.txt", "caf\xe9".encode("latin-1"), "not UTF-8"),
    ],
)
def test_a_file_without_an_article_is_refused_and_nothing_saved(
    news_corpus: Path, name: str, content: bytes, expected: str
) -> None:
    before = snapshot(news_corpus)
    with pytest.raises(IntakeError, match=expected):
        stage_file(news_corpus, name, content, LIMIT)
    assert snapshot(news_corpus) == before


def test_a_duplicate_by_text_or_url_is_refused(news_corpus: Path) -> None:
    copy = (NEWS / "harbor-bridge.md").read_bytes()
    with pytest.raises(DuplicateArticle, match=r"already in the corpus \(as harbor-bridge\.md\)"):
        stage_file(news_corpus, "bridge-again.md", copy, LIMIT)
    same_url = copy.replace(b"The Harbor City suspension bridge", b"A new bridge")
    with pytest.raises(DuplicateArticle):
        stage_file(news_corpus, "bridge-edited.md", same_url, LIMIT)
    stage_file(news_corpus, "Ferry.md", STORY, LIMIT).save()
    with pytest.raises(DuplicateArticle):
        stage_file(news_corpus, "Ferry.md", STORY, LIMIT)


def test_a_page_is_extracted_like_a_feed_entry(news_corpus: Path, web: WebPages) -> None:
    url = web.add("/news/lighthouse", LIGHTHOUSE_HTML)
    staged = stage_page(news_corpus, url, allow_private=True)
    article = staged.first
    assert article.title == "Gull Island lighthouse shines again after forty years"
    assert article.source == "Coastal Gazette" and article.url == url
    assert "214 of its cast iron plates" in article.text and "Subscribe" not in article.text
    assert "Copyright" not in article.text  # the page's chrome is dropped
    staged.save()
    with pytest.raises(DuplicateArticle):
        stage_page(news_corpus, url, allow_private=True)


def test_a_page_on_a_private_address_is_refused_unless_allowed(
    news_corpus: Path, web: WebPages
) -> None:
    url = web.add("/news/lighthouse", LIGHTHOUSE_HTML)
    with pytest.raises(PrivateAddressError, match=r"127\.0\.0\.1"):
        stage_page(news_corpus, url)
    assert web.requested == []  # refused before connecting
    localhost = url.replace("127.0.0.1", "localhost")
    with pytest.raises(PrivateAddressError):
        stage_page(news_corpus, localhost)
    assert stage_page(news_corpus, url, allow_private=True).first.title


def test_a_proxy_cannot_carry_a_fetch_to_a_private_address(
    web: WebPages, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.0.1 (a proxy here) plays a public host, 127.0.0.2 the private network. Through the
    # proxy, only the proxy's address could be checked: the guarded fetch goes direct instead.
    monkeypatch.setenv("http_proxy", web.url(""))
    monkeypatch.setenv("no_proxy", "")
    opener = public_opener(allowed=lambda address: address == "127.0.0.1")
    with pytest.raises(urllib.error.URLError, match=r"127\.0\.0\.2, a loopback"):
        opener.open("http://127.0.0.2:9/admin", timeout=5)
    assert web.requested == []  # the proxy was never asked


def test_every_connection_is_checked_redirects_included(web: WebPages) -> None:
    # Stand-ins on two loopback addresses: 127.0.0.1 plays a public site, 127.0.0.2 the private
    # network it redirects to.
    inner = WebPages("127.0.0.2")
    try:
        target = inner.add("/admin", LIGHTHOUSE_HTML)
        url = web.redirect("/short", target)
        opener = public_opener(allowed=lambda address: address == "127.0.0.1")
        with pytest.raises(urllib.error.URLError, match=r"127\.0\.0\.2, a loopback"):
            opener.open(url, timeout=5)
        assert web.requested == ["/short"] and inner.requested == []
        with urllib.request.urlopen(url, timeout=5) as page:  # an unguarded fetch goes there
            assert b"Gull Island" in page.read()
        assert inner.requested == ["/admin"]
    finally:
        inner.close()


@pytest.mark.parametrize(
    ("path", "html", "status", "expected"),
    [
        ("/gone", "gone", 404, "HTTP 404"),
        ("/teaser", EMPTY_HTML, 200, "no article text"),
    ],
)
def test_a_failing_page_is_a_clear_error(
    news_corpus: Path, web: WebPages, path: str, html: str, status: int, expected: str
) -> None:
    before = snapshot(news_corpus)
    url = web.add(path, html, status=status)
    with pytest.raises(IntakeError, match=expected):
        stage_page(news_corpus, url, allow_private=True)
    assert snapshot(news_corpus) == before


@pytest.mark.parametrize("url", ["ftp://example.com/a", "example.com/story", "javascript:alert(1)"])
def test_only_web_addresses_are_fetched(news_corpus: Path, url: str) -> None:
    with pytest.raises(IntakeError, match="http:// or https://"):
        stage_page(news_corpus, url, allow_private=True)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1%eth0",
        "fd00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses(address: str) -> None:
    assert is_public(address)
