"""Adding one article: an uploaded file or a fetched page, checked before anything is saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index.articles import load_corpus
from index.feeds import FeedSettings
from index.intake import (
    DuplicateArticle,
    IntakeError,
    PrivateAddressError,
    check_upload,
    stage_file,
    stage_page,
)
from tests.conftest import NEWS
from tests.web_pages import EMPTY_HTML, LIGHTHOUSE_HTML, Listener, WebPages

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


def test_a_redirect_to_ftp_is_refused_without_connecting(news_corpus: Path, web: WebPages) -> None:
    ftp = Listener()
    try:
        url = web.redirect("/story", f"ftp://127.0.0.1:{ftp.port}/x")
        with pytest.raises(IntakeError, match=r"redirect to ftp://.* was refused"):
            stage_page(news_corpus, url, allow_private=True, settings=FeedSettings(timeout=2.0))
        assert web.requested == ["/story"] and not ftp.connected()
    finally:
        ftp.close()
