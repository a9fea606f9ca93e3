"""Load articles from a corpus directory: .md/.txt (front matter), .html, .json/.jsonl."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from index.errors import ArticleError, CorpusError

log = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSON_SUFFIXES = frozenset({".json", ".jsonl"})
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES
MAX_FILE_BYTES = 64 * 1024 * 1024
MIN_HTML_WORDS = 12


@dataclass(frozen=True)
class Article:
    """One news article, its text exactly as indexed and cited."""

    id: str
    title: str
    source: str
    url: str
    published: str
    text: str
    path: str

    @property
    def content_hash(self) -> str:
        """Changes whenever anything that is indexed or shown changes."""
        payload = json.dumps(
            [self.title, self.source, self.url, self.published, self.text], ensure_ascii=False
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class FileLoad(NamedTuple):
    """The articles one file holds, and its items that were skipped (a bad line or item)."""

    articles: list[Article]
    skipped: list[ArticleError]


@dataclass
class CorpusLoad:
    """What loading a corpus produced: the articles, the files that failed, the duplicates."""

    articles: list[Article] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def load_corpus(corpus_dir: Path) -> CorpusLoad:
    """Load every article under corpus_dir; bad files are reported in errors and skipped.

    Articles with the same url, or the same text, are loaded once (the first by path order).
    """
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus directory {corpus_dir} does not exist or is not a directory")
    result = CorpusLoad()
    seen_urls: dict[str, str] = {}
    seen_texts: dict[str, str] = {}
    for path in iter_article_files(corpus_dir):
        rel = path.relative_to(corpus_dir).as_posix()
        # Skipped files and items are reported in errors, by the callers: not logged here too.
        try:
            articles, skipped = read_file(path, rel)
        except ArticleError as exc:
            result.errors.append(exc)
            continue
        result.errors.extend(skipped)
        for article in articles:
            text_key = hashlib.sha256(_normalise(article.text).encode()).hexdigest()
            first = seen_urls.get(article.url) if article.url else None
            first = first or seen_texts.get(text_key)
            if first is not None:
                result.duplicates.append(f"{article.id} duplicates {first}")
                continue
            if article.url:
                seen_urls[article.url] = article.id
            seen_texts[text_key] = article.id
            result.articles.append(article)
    return result


def iter_article_files(corpus_dir: Path) -> Iterator[Path]:
    """Article files under corpus_dir in a stable order, skipping hidden files and README."""
    for path in sorted(corpus_dir.rglob("*")):
        rel_parts = path.relative_to(corpus_dir).parts
        if any(part.startswith((".", "_")) for part in rel_parts):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES and path.stem.upper() != "README":
            yield path


def load_file(path: Path, rel: str | None = None) -> list[Article]:
    """Load the article(s) in one file; items that cannot be read are logged and left out.

    Raises:
        ArticleError: the file cannot be read or holds no usable article.
    """
    articles, skipped = read_file(path, rel)
    for problem in skipped:
        log.warning("skipping article %s", problem)
    return articles


def read_file(path: Path, rel: str | None = None) -> FileLoad:
    """The article(s) in one file, and the items of a .json or .jsonl file that were skipped.

    Raises:
        ArticleError: the file cannot be read or holds no usable article.
    """
    rel = rel or path.name
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ArticleError(rel, f"file is larger than {MAX_FILE_BYTES // 2**20} MiB")
        raw = path.read_bytes()
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(rel, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ArticleError(rel, f"cannot read file: {exc.strerror}") from exc
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return FileLoad([_from_text(content, rel)], [])
    if suffix in HTML_SUFFIXES:
        return FileLoad([_from_html(content, rel)], [])
    return _from_json(content, rel, jsonl=suffix == ".jsonl")


def _from_text(content: str, rel: str) -> Article:
    import frontmatter  # local: only text articles need it
    import yaml

    try:
        post = frontmatter.loads(content)
    except (yaml.YAMLError, ValueError) as exc:
        reason = f"front matter is not valid YAML: {_yaml_problem(exc, content)}"
        raise ArticleError(rel, reason) from exc
    meta = post.metadata
    if not isinstance(meta, dict):
        raise ArticleError(rel, "front matter must be a mapping of keys to values")
    body = post.content
    title = _text_field(meta, rel, "title")
    if not title:
        # No front matter title: a short first line is the headline.
        first, _, rest = body.strip().partition("\n")
        if first and len(first) <= 200 and rest.strip():
            title, body = first.strip().lstrip("# ").strip(), rest
        else:
            title = Path(rel).stem.replace("-", " ").replace("_", " ").strip().capitalize()
    return _make_article(
        rel,
        rel,
        title=title,
        source=_text_field(meta, rel, "source", "outlet", "publisher"),
        url=_text_field(meta, rel, "url", "link"),
        published=_date_field(meta, rel, "published_at", "published", "date"),
        text=body,
    )


def _yaml_problem(exc: Exception, content: str) -> str:
    """A YAML error in one line, with the line of the file it is on."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is None or not problem:
        return " ".join(str(exc).split())
    opening = re.search(r"^-{3,}\s*$", content, re.MULTILINE)  # the front matter's first ---
    line = (content.count("\n", 0, opening.start()) + 1 if opening else 0) + mark.line + 1
    return f"{' '.join(problem.split())} (line {line}, column {mark.column + 1})"


def _from_html(content: str, rel: str) -> Article:
    import trafilatura  # local: the import is slow and only HTML needs it

    doc = trafilatura.bare_extraction(content, with_metadata=True, favor_precision=True)
    fields: dict[str, Any] = (doc if isinstance(doc, dict) else doc.as_dict()) if doc else {}
    # A page whose extract is a few words (a menu, a cookie notice) holds no article.
    if len(str(fields.get("text") or "").split()) < MIN_HTML_WORDS:
        raise ArticleError(rel, "no article text found in the HTML")
    return _make_article(
        rel,
        rel,
        title=fields.get("title") or Path(rel).stem,
        source=fields.get("sitename") or fields.get("hostname") or "",
        url=fields.get("url") or "",
        published=fields.get("date") or "",
        text=str(fields["text"]),
    )


def _from_json(content: str, rel: str, *, jsonl: bool) -> FileLoad:
    """A JSON list of articles (or {"articles": [...]}, or one object), or one per line: a bad
    item or line is skipped and named (file#item, file:line), the others load."""
    articles: list[Article] = []
    skipped: list[ArticleError] = []
    if jsonl:
        lines = [(n, line) for n, line in enumerate(content.splitlines(), 1) if line.strip()]
        for i, (lineno, line) in enumerate(lines):
            where = f"{rel}:{lineno}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                skipped.append(ArticleError(where, f"invalid JSON: {exc.msg} (column {exc.colno})"))
                continue
            _add_item(articles, skipped, item, rel, where, f"{rel}#{i}")
    else:
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise ArticleError(rel, f"invalid JSON at line {exc.lineno}: {exc.msg}") from exc
        items = data.get("articles", [data]) if isinstance(data, dict) else data
        if not isinstance(items, list):
            items = []
        for i, item in enumerate(items):
            _add_item(articles, skipped, item, rel, f"{rel}#{i}", f"{rel}#{i}")
    if not articles and not skipped:
        raise ArticleError(rel, "expected a list of articles with title and body")
    if not articles:
        raise ArticleError(rel, "no usable article: " + "; ".join(str(e) for e in skipped[:3]))
    return FileLoad(articles, skipped)


def _add_item(
    articles: list[Article],
    skipped: list[ArticleError],
    item: object,
    rel: str,
    where: str,
    item_id: str,
) -> None:
    """The article in one JSON item, appended to articles; or why not, to skipped."""
    try:
        if not isinstance(item, dict):
            raise ArticleError(where, "an article must be an object")
        url = _text_field(item, where, "url", "link")
        articles.append(
            _make_article(
                f"{rel}#{url}" if url else item_id,
                rel,
                title=_text_field(item, where, "title"),
                source=_text_field(item, where, "source", "outlet", "publisher"),
                url=url,
                published=_date_field(item, where, "published_at", "published", "date"),
                text=_text_field(item, where, "body", "text", "content"),
            )
        )
    except ArticleError as exc:
        skipped.append(ArticleError(where, exc.reason))


def _make_article(
    article_id: str, rel: str, *, title: str, source: str, url: str, published: str, text: str
) -> Article:
    text = _normalise(text)
    if not text:
        raise ArticleError(article_id, "article has no body text")
    if not title.strip():
        raise ArticleError(article_id, "article has no title")
    return Article(
        id=article_id,
        title=" ".join(title.split()),
        source=source.strip(),
        url=url.strip(),
        published=published.strip(),
        text=text,
        path=rel,
    )


def _normalise(text: str) -> str:
    """NFC, unix newlines, no trailing spaces, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _text_field(meta: dict[str, Any], where: str, *keys: str) -> str:
    for key in keys:
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int | float):
            raise ArticleError(where, f"field {key!r} must be text")
        return str(value)
    return ""


def _date_field(meta: dict[str, Any], where: str, *keys: str) -> str:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, datetime | date):
            return value.isoformat()
        if value is not None:
            return _text_field(meta, where, key)
    return ""


def display_date(published: str) -> str:
    """The calendar date of an ISO timestamp, or the text as given."""
    return published[:10] if len(published) >= 10 and published[4] == "-" else published


def published_day(published: str) -> date | None:
    """The day of an ISO date or timestamp; None when undated or not a date."""
    try:
        return date.fromisoformat(published[:10])
    except ValueError:
        return None
