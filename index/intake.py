"""One article a person adds: an uploaded file or a web page, checked, then saved into the corpus.

The corpus stays the source of truth: an added article is a file under corpus/added/, read by
the same loader as every other file, and a web page goes through the same fetch and extraction
as feed entries (index.feeds). Nothing is written until the article has been read and found to
be new, so a refused article leaves the corpus as it was.

Pages are fetched through the guarded opener (index.fetch): http(s) only, and only from public
addresses, checked on every connection, redirects included, so a member cannot make the bot's
host fetch its own network, unless the operator allows private addresses.
"""

from __future__ import annotations

import hashlib
import tempfile
import urllib.error
from dataclasses import dataclass
from pathlib import Path

from index.articles import SUFFIXES, Article, load_corpus, load_file
from index.errors import ArticleError, FootnoteError
from index.feeds import (
    EntryHint,
    FeedError,
    FeedSettings,
    FetchError,
    article_filename,
    extract_article,
    http_get,
    render_article,
    validate_feed_url,
    write_atomically,
)
from index.fetch import NotPublic, address_policy

ADDED_SUBDIR = "added"


class IntakeError(FootnoteError):
    """An article that cannot be added; the message is safe to show whoever tried."""

    exit_code = 2


class DuplicateArticle(IntakeError):
    """The article is already in the corpus (same url or same text)."""


class PrivateAddressError(IntakeError):
    """A URL that leads to a loopback, private, link-local or otherwise non-public address."""


@dataclass(frozen=True)
class Staged:
    """An article read and found new, and where it is saved in the corpus."""

    corpus_dir: Path
    rel: str
    content: bytes
    articles: tuple[Article, ...]

    @property
    def path(self) -> Path:
        return self.corpus_dir / self.rel

    @property
    def first(self) -> Article:
        return self.articles[0]

    def save(self) -> None:
        """Write the file into the corpus (atomically: the loader never sees half of it)."""
        write_atomically(self.path, self.content.decode("utf-8-sig"))

    def discard(self) -> None:
        """Remove the saved file again (the add failed after saving)."""
        self.path.unlink(missing_ok=True)


def check_upload(filename: str, size: int, max_bytes: int) -> None:
    """Refuse a file by its name and size, before reading it.

    Raises:
        IntakeError: not an article file type, or larger than max_bytes.
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        kinds = ", ".join(sorted(SUFFIXES))
        raise IntakeError(f"{filename} is not an article file: I read {kinds} files.")
    if size > max_bytes:
        raise IntakeError(
            f"{filename} is {_size(size)}; articles can be at most {_size(max_bytes)}."
        )
    if size == 0:
        raise IntakeError(f"{filename} is empty.")


def stage_file(corpus_dir: Path, filename: str, content: bytes, max_bytes: int) -> Staged:
    """Read an uploaded article file and check that it is new.

    Raises:
        IntakeError: wrong type, too large, unreadable, no article text.
        DuplicateArticle: the corpus already holds it.
    """
    check_upload(filename, len(content), max_bytes)
    name = Path(filename).name
    # A readable, stable name: the upload's name slugged, and a hash of its content.
    slugged = Path(article_filename(Path(name).stem, hashlib.sha256(content).hexdigest()))
    rel = f"{ADDED_SUBDIR}/{slugged.stem}{Path(name).suffix.lower()}"
    return _stage(corpus_dir, rel, content, shown=name)


def check_url(url: str) -> str:
    """The URL stripped, if it is an absolute http(s) URL.

    Raises:
        IntakeError: it is not.
    """
    try:
        return validate_feed_url(url)
    except FeedError as exc:
        raise IntakeError(f"A page address starts with http:// or https://, got {url!r}.") from exc


def stage_page(
    corpus_dir: Path,
    url: str,
    *,
    allow_private: bool = False,
    settings: FeedSettings | None = None,
) -> Staged:
    """Fetch a web page, extract its article as feed entries are, and check that it is new.

    Raises:
        IntakeError: a bad URL, a failing fetch, a page with no article text.
        PrivateAddressError: the URL leads to a non-public address (and allow_private is off).
        DuplicateArticle: the corpus already holds it.
    """
    settings = settings or FeedSettings()
    url = check_url(url)
    try:
        body = http_get(url, settings, address_policy(allow_private))
        page = extract_article(body, EntryHint(url), settings.min_text_chars)
    except FetchError as exc:
        private = _private_cause(exc)
        if private is not None:
            raise private from exc
        raise IntakeError(f"I could not add {url}: {exc}.") from exc
    rel = f"{ADDED_SUBDIR}/{article_filename(page.title, page.url)}"
    text = render_article(page, feed_url=None)
    return _stage(corpus_dir, rel, text.encode("utf-8"), shown=url)


def _stage(corpus_dir: Path, rel: str, content: bytes, *, shown: str) -> Staged:
    articles = _read(rel, content, shown)
    corpus = load_corpus(corpus_dir).articles
    for article in articles:
        first = _already_in(corpus, article)
        if first is not None:
            raise DuplicateArticle(f"{shown} is already in the corpus (as {first}).")
    if (corpus_dir / rel).exists():
        raise DuplicateArticle(f"{shown} is already in the corpus (as {rel}).")
    return Staged(corpus_dir, rel, content, tuple(articles))


def _read(rel: str, content: bytes, shown: str) -> list[Article]:
    """The articles in content, read by the corpus loader itself from a scratch copy."""
    with tempfile.TemporaryDirectory(prefix="footnote-add-") as scratch:
        path = Path(scratch) / Path(rel).name
        path.write_bytes(content)
        try:
            articles = load_file(path, rel)
        except ArticleError as exc:
            raise IntakeError(f"I could not read an article in {shown}: {exc.reason}.") from exc
    return articles


def _already_in(corpus: list[Article], article: Article) -> str | None:
    """The corpus article with the same url or text (the loader's duplicate rule), if any."""
    for other in corpus:
        if (article.url and other.url == article.url) or other.text == article.text:
            return other.id
    return None


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} kB"


def _private_cause(exc: BaseException) -> PrivateAddressError | None:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, urllib.error.URLError) and isinstance(cause.reason, NotPublic):
            return PrivateAddressError(str(cause.reason))
        if isinstance(cause, NotPublic):
            return PrivateAddressError(str(cause))
        cause = cause.__cause__ or cause.__context__
    return None
