"""The index on Milvus (a server, or Milvus Lite in a local .db file) through pymilvus.

Each generation is a pair of collections: `<name>_gen_<time>` holds the chunks (their text,
article metadata, a dense vector and Milvus's own BM25 sparse vector made from the chunk's
words by a BM25 function) and `<name>_gen_<time>_articles` the articles (their text cut into
parts, Milvus's VARCHAR limit being 64 KB) and the generation's manifest. The alias `<name>`
names the published chunk collection: a build fills a new pair (copying the unchanged
articles' rows, vectors included, from the published one), then switches the alias in one
call, so readers see the old generation or the new one, never a mix, and a failed or killed
build leaves the alias where it was.

Words reach BM25 already folded as the default backend's FTS5 index folds them (lower case,
diacritics dropped, Porter stems), so both backends match the same words, on a server and on
Milvus Lite alike (whose analyzers have no stemmer). The title counts twice, as FTS5 weighs it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from index.ann import EXACT_MAX_CHUNKS
from index.articles import Article
from index.backends import Where
from index.backends.files import build_lock
from index.chunk import Chunk
from index.errors import ConfigError, IndexCorruptError, IndexRefusedError, IndexUnavailableError
from index.store import ArticleRecord, ChunkRecord, Manifest, content_words

log = logging.getLogger(__name__)

T = TypeVar("T")

TEXT_PART_CHARS = 16_000  # 4 bytes a character at most: within VARCHAR's 65,535 bytes
MAX_VARCHAR = 65_535
COPY_BATCH = 1_000
INSERT_BATCH = 500
MANIFEST_KEY = "~manifest"
VECTOR_CACHE = 4096
# BM25 full-text search (a BM25 function filling a sparse field) came in Milvus 2.5: an older
# server drops the function at create_collection, and 2.3's crashes loading such a collection.
MIN_SERVER = (2, 5)
CHUNK_FIELDS = [
    "id",
    "article_id",
    "ordinal",
    "start",
    "end",
    "tokens",
    "text",
    "title",
    "source",
    "url",
    "published",
]
ARTICLE_FIELDS = [
    "key",
    "article_id",
    "part",
    "path",
    "title",
    "source",
    "url",
    "published",
    "content_hash",
    "chunks",
    "text",
]


# ---------------------------------------------------------------------------------------------
# Words as the keyword index sees them


@lru_cache(maxsize=1)
def _porter() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("porter")


def fold(text: str) -> str:
    """Lower case, diacritics dropped (as FTS5's unicode61 remove_diacritics 2)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def terms(text: str) -> str:
    """text's words as Porter stems, space-separated: what BM25 indexes and matches."""
    words = re.findall(r"[^\W_]+", fold(text))
    return " ".join(_porter().stemWords(words))


# ---------------------------------------------------------------------------------------------
# The connection


class MilvusConnection:
    """One lazily made pymilvus client; dropped after a failure, so the next call reconnects.

    Every call goes through call(): a Milvus or gRPC failure becomes IndexUnavailableError
    naming the URI (never the token); a refused token or a server older than Milvus 2.5
    becomes IndexRefusedError, checked when the client is made, before any other request.
    """

    def __init__(self, uri: str, token: str = "", timeout: float = 10.0) -> None:
        # Shown in messages: any user:password written into the URI is masked.
        self.uri = re.sub(r"//[^/@]*@", "//***@", uri)
        self._uri = uri
        self._token = token
        self.timeout = timeout
        self._client: Any = None
        self._lock = threading.Lock()

    def _make(self) -> Any:
        from pymilvus import MilvusClient

        # pymilvus prints its own log lines (tracebacks included) to stderr; its failures
        # reach us as exceptions, which become one clear IndexUnavailableError.
        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)

        if self._uri.endswith(".db"):
            # Milvus Lite's in-process gRPC server lacks AllocTimestamp, which pymilvus calls
            # while it waits for an index; the call fails harmlessly, but grpc logs a traceback.
            logging.getLogger("grpc._server").addFilter(_NOT_IMPLEMENTED)  # kept once
            # It logs a traceback when another process holds the file; call() says so in a line.
            logging.getLogger("milvus_lite.server_manager").setLevel(logging.CRITICAL)
            Path(self._uri).parent.mkdir(parents=True, exist_ok=True)
            client = MilvusClient(self._uri, timeout=self.timeout)
        else:
            client = MilvusClient(uri=self._uri, token=self._token, timeout=self.timeout)
        try:
            self._check_version(str(client.get_server_version(timeout=self.timeout)))
        except BaseException:
            client.close()
            raise
        return client

    def _check_version(self, version: str) -> None:
        """Refuse a Milvus older than MIN_SERVER; a version string we cannot read goes on."""
        # Servers say 'v2.5.4' (or '2.5.4', 'v2.3.5-lite'); Milvus Lite (a .db file or
        # `milvus-lite server`) its package's version, 'milvus_lite-3.2.2': milvus-lite's BM25
        # came in 2.5 too.
        found = re.match(r"(?:v|milvus_lite-)?(\d+)\.(\d+)", version.strip())
        if found is None:
            log.debug("Milvus at %s reports version %r; not checked", self.uri, version)
            return
        if (int(found[1]), int(found[2])) < MIN_SERVER:
            raise IndexRefusedError(
                f"the Milvus server at {self.uri} is version {version.strip()}; Footnote needs "
                f"Milvus {MIN_SERVER[0]}.{MIN_SERVER[1]} or later (BM25 full-text search)"
            )

    def call(self, what: str, fn: Callable[[Any], T]) -> T:
        """fn(client), with failures turned into IndexUnavailableError."""
        import grpc
        from pymilvus.exceptions import MilvusException

        try:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
                client = self._client
            return fn(client)
        except (MilvusException, grpc.RpcError, OSError, RuntimeError) as exc:
            self.reset()
            if _unauthenticated(exc):
                refused, fix = ("the token", "check") if self._token else ("to connect", "set")
                raise IndexRefusedError(
                    f"the Milvus server at {self.uri} refused {refused} (authentication "
                    f"failed): {fix} FOOTNOTE_MILVUS_TOKEN"
                ) from None
            hint = ""
            if self._uri.endswith(".db") and "Open local milvus failed" in str(exc):
                hint = (
                    " (a Milvus Lite file is one process's at a time: is another footnote "
                    "process using it? For several, run `milvus-lite server` and use its "
                    "http:// address)"
                )
            raise IndexUnavailableError(
                f"the Milvus index at {self.uri} is unavailable ({what}): "
                f"{self._clean(exc)}{hint}"
            ) from None

    def reset(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # a broken channel may fail to close; it is dropped anyway
                log.debug("closing a failed Milvus client failed", exc_info=True)

    def _clean(self, exc: BaseException) -> str:
        text = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
        for secret in (self._token, self._uri):
            if secret and secret != self.uri:
                text = text.replace(secret, self.uri if secret == self._uri else "***")
        return text or type(exc).__name__


def _unauthenticated(exc: BaseException) -> bool:
    """exc, or an exception it was raised from or while handling, is a refused login.

    pymilvus words a refused token as a server it cannot reach ("Fail connecting to server"):
    only the gRPC error in its chain says UNAUTHENTICATED.
    """
    import grpc

    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        code = getattr(link, "code", None) if isinstance(link, grpc.RpcError) else None
        if callable(code) and code() == grpc.StatusCode.UNAUTHENTICATED:
            return True
        if "auth check failure" in str(link).lower():  # Milvus's words, should a status carry it
            return True
        link = link.__cause__ or link.__context__
    return False


class _NotImplementedFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Method not implemented" not in record.getMessage()


_NOT_IMPLEMENTED = _NotImplementedFilter()


def _quote(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(value, ensure_ascii=False)


def _filter(where: Where | None) -> str:
    """where as a Milvus filter expression ("" for none)."""
    if where is None:
        return ""
    clauses = []
    if where.sources:
        clauses.append(f"source in [{','.join(_quote(s) for s in sorted(where.sources))}]")
    if where.dates:
        days = " or ".join(f"published like {_quote(d + '%')}" for d in sorted(where.dates))
        clauses.append(f"({days})")
    return " and ".join(clauses)


def _iterate(client: Any, collection: str, flt: str, fields: list[str]) -> Iterator[dict]:
    it = client.query_iterator(collection, batch_size=COPY_BATCH, filter=flt, output_fields=fields)
    try:
        while True:
            batch = it.next()
            if not batch:
                return
            yield from batch
    finally:
        it.close()


# ---------------------------------------------------------------------------------------------
# The backend


class MilvusBackend:
    """Generations as Milvus collections behind one alias."""

    name = "milvus"

    def __init__(
        self,
        uri: str,
        *,
        token: str = "",
        collection: str = "footnote",
        data_dir: Path,
        timeout: float = 10.0,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,150}", collection):
            raise ConfigError(
                f"FOOTNOTE_MILVUS_COLLECTION: {collection!r} is not a Milvus collection name "
                "(letters, digits and underscores, not starting with a digit)"
            )
        try:
            import pymilvus  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                "FOOTNOTE_BACKEND=milvus needs pymilvus (and milvus-lite for a .db file): "
                "pip install 'footnote[milvus]'"
            ) from exc
        self.connection = MilvusConnection(uri, token, timeout)
        self.alias = collection
        self.data_dir = data_dir

    def describe(self) -> str:
        return f"Milvus collection {self.alias} at {self.connection.uri}"

    # names -------------------------------------------------------------------------------

    def chunk_collection(self, generation: str) -> str:
        return f"{self.alias}_{generation.replace('-', '_')}"

    def article_collection(self, generation: str) -> str:
        return self.chunk_collection(generation) + "_articles"

    def _generation_of(self, collection: str) -> str | None:
        prefix = f"{self.alias}_gen_"
        rest = collection[len(prefix) :]
        if not collection.startswith(prefix) or not re.fullmatch(r"[0-9T]+", rest):
            return None
        return f"gen-{rest}"

    # Backend ------------------------------------------------------------------------------

    def lock(self) -> AbstractContextManager[None]:
        # Builds on one host take turns; see README on running builds from one host only.
        return build_lock(self.data_dir)

    def current(self) -> str | None:
        from pymilvus.exceptions import MilvusException

        def target(client: Any) -> str | None:
            # One request a question: an alias that does not exist (yet) is an error reply.
            try:
                return str(client.describe_alias(self.alias)["collection_name"])
            except MilvusException as exc:
                if re.search(r"not (exist|found)", str(exc), re.I):
                    return None
                raise

        collection = self.connection.call("reading its alias", target)
        if collection is None:
            return None
        generation = self._generation_of(collection)
        if generation is None:
            raise IndexCorruptError(
                f"the alias {self.alias} at {self.connection.uri} names {collection!r}, "
                "not a Footnote generation"
            )
        return generation

    def open(self, generation: str) -> MilvusReader:
        return MilvusReader(self, generation)

    def stage(self, generation: str, base: Any, dimensions: int) -> MilvusStaging:
        return MilvusStaging(self, generation, base.generation if base else None, dimensions)

    def _generations(self) -> list[str]:
        names = self.connection.call("listing collections", lambda c: c.list_collections())
        return sorted({g for g in map(self._generation_of, names) if g})

    def _drop(self, generation: str) -> None:
        names = (self.chunk_collection(generation), self.article_collection(generation))

        def drop(client: Any) -> None:
            for name in names:
                client.drop_collection(name)

        self.connection.call(f"dropping {generation}", drop)

    def sweep(self) -> None:
        """Drop generations newer than the published one: killed builds' (we hold the lock)."""
        current = self.current() or ""
        for generation in self._generations():
            if generation > current:
                log.info("dropping %s, left by a build that did not finish", generation)
                self._drop(generation)

    def collect_garbage(self, keep: set[str]) -> None:
        for generation in self._generations():
            if generation not in keep:
                self._drop(generation)


class MilvusReader:
    """One published generation's collections."""

    def __init__(self, backend: MilvusBackend, generation: str) -> None:
        self._conn = backend.connection
        self.generation = generation
        self._chunks = backend.chunk_collection(generation)
        self._articles = backend.article_collection(generation)
        self._loaded = threading.Lock()
        rows = self._call(
            "reading the manifest",
            lambda c: c.query(
                self._articles, filter=f"key == {_quote(MANIFEST_KEY)}", output_fields=["text"]
            ),
        )
        if not rows:
            raise IndexCorruptError(f"{self._articles} at {self._conn.uri} has no manifest")
        try:
            self.manifest = Manifest(**json.loads(rows[0]["text"]))
        except (ValueError, TypeError) as exc:
            raise IndexCorruptError(f"the manifest in {self._articles} is unreadable") from exc
        count = self._count(self._chunks, "")
        if count != self.manifest.chunks:
            raise IndexCorruptError(
                f"{self._chunks} at {self._conn.uri} is inconsistent: {count} chunks, "
                f"{self.manifest.chunks} in the manifest"
            )
        self._exact = self.manifest.chunks <= EXACT_MAX_CHUNKS
        # Vectors of the chunks chunks() fetched: the retriever asks vector() for the keyword
        # hits the dense search missed, right after (one request instead of one per chunk).
        self._vectors: dict[int, np.ndarray] = {}

    def _call(self, what: str, fn: Callable[[Any], T]) -> T:
        """A call on the collections, loading them first if the server released them (as a
        restarted Milvus Lite does)."""
        try:
            return self._conn.call(what, fn)
        except IndexUnavailableError as exc:
            if not re.search(r"\bload|released", str(exc)):
                raise

        def load(client: Any) -> None:
            for name in (self._chunks, self._articles):
                client.load_collection(name)

        with self._loaded:
            self._conn.call("loading the index", load)
        return self._conn.call(what, fn)

    def _count(self, collection: str, flt: str) -> int:
        rows = self._call(
            "counting", lambda c: c.query(collection, filter=flt, output_fields=["count(*)"])
        )
        return int(rows[0]["count(*)"]) if rows else 0

    def dense(
        self, vector: np.ndarray, n: int, where: Where | None = None
    ) -> list[tuple[int, float]]:
        params: dict[str, Any] = {"metric_type": "IP"}
        if not self._exact:
            params["params"] = {"ef": max(n, 128)}
        hits = self._call(
            "searching vectors",
            lambda c: c.search(
                self._chunks,
                data=[np.asarray(vector, dtype=np.float32).ravel().tolist()],
                anns_field="vector",
                limit=n,
                filter=_filter(where),
                search_params=params,
                output_fields=[],
            ),
        )
        return [(int(h["id"]), float(h["distance"])) for h in hits[0]]

    def keyword(
        self, question: str, n: int, where: Where | None = None
    ) -> list[tuple[int, float]]:
        words = terms(" ".join(content_words(question)[:64]))
        if not words:
            return []
        hits = self._call(
            "searching words",
            lambda c: c.search(
                self._chunks,
                data=[words],
                anns_field="sparse",
                limit=n,
                filter=_filter(where),
                search_params={"metric_type": "BM25"},
                output_fields=[],
            ),
        )
        return [(int(h["id"]), float(h["distance"])) for h in hits[0]]

    def vector(self, chunk_id: int) -> np.ndarray:
        cached = self._vectors.get(int(chunk_id))
        if cached is not None:
            return cached
        rows = self._call(
            "reading a vector",
            lambda c: c.query(
                self._chunks, filter=f"id == {int(chunk_id)}", output_fields=["vector"]
            ),
        )
        if not rows:
            raise IndexCorruptError(f"{self._chunks} has no chunk {chunk_id}")
        return np.asarray(rows[0]["vector"], dtype=np.float32)

    def chunks(self, ids: list[int]) -> dict[int, ChunkRecord]:
        if not ids:
            return {}
        id_list = ",".join(str(int(i)) for i in ids)
        return {r.chunk_id: r for r in self._chunk_rows(f"id in [{id_list}]")}

    def lead(self, article_id: str) -> ChunkRecord | None:
        rows = self._chunk_rows(f"article_id == {_quote(article_id)} and ordinal == 0")
        return rows[0] if rows else None

    def _chunk_rows(self, flt: str) -> list[ChunkRecord]:
        """The chunks matching filter flt; their vectors are kept for vector()."""
        rows = self._call(
            "reading chunks",
            lambda c: c.query(self._chunks, filter=flt, output_fields=[*CHUNK_FIELDS, "vector"]),
        )
        if len(self._vectors) > VECTOR_CACHE:
            self._vectors = {}
        out = []
        for r in rows:
            self._vectors[int(r["id"])] = np.asarray(r["vector"], dtype=np.float32)
            out.append(
                ChunkRecord(
                    chunk_id=int(r["id"]),
                    article_id=r["article_id"],
                    ordinal=int(r["ordinal"]),
                    start=int(r["start"]),
                    end=int(r["end"]),
                    text=r["text"],
                    title=r["title"],
                    source=r["source"],
                    url=r["url"],
                    published=r["published"],
                )
            )
        return out

    def article(self, article_id: str) -> ArticleRecord | None:
        rows = self._call(
            "reading an article",
            lambda c: c.query(
                self._articles,
                filter=f"article_id == {_quote(article_id)} and part >= 0",
                output_fields=ARTICLE_FIELDS,
            ),
        )
        if not rows:
            return None
        rows.sort(key=lambda r: r["part"])
        return _article(rows[0], "".join(r["text"] for r in rows))

    def _heads(self, fields: list[str]) -> list[dict]:
        return self._call(
            "listing articles",
            lambda c: list(_iterate(c, self._articles, "part == 0", fields)),
        )

    def articles(self) -> list[ArticleRecord]:
        fields = [f for f in ARTICLE_FIELDS if f != "text"]
        records = [_article(r, "") for r in self._heads(fields)]
        records.sort(key=lambda a: a.title)
        records.sort(key=lambda a: a.published, reverse=True)
        return records

    def hashes(self) -> dict[str, str]:
        return {
            r["article_id"]: r["content_hash"] for r in self._heads(["article_id", "content_hash"])
        }

    def document_frequency(self, word: str) -> int:
        if not re.fullmatch(r"\w+", word):
            return 0
        stem = terms(word)
        if not stem or " " in stem:
            return 0
        return self._count(self._chunks, f"text_match(body_terms, {_quote(stem)})")

    def close(self) -> None:
        """Nothing to release: the connection belongs to the backend."""


def _article(row: dict, text: str) -> ArticleRecord:
    return ArticleRecord(
        id=row["article_id"],
        path=row["path"],
        title=row["title"],
        source=row["source"],
        url=row["url"],
        published=row["published"],
        text=text,
        content_hash=row["content_hash"],
        chunks=int(row["chunks"]),
    )


# ---------------------------------------------------------------------------------------------
# Building a generation


class MilvusStaging:
    """A new pair of collections, filled from the base generation and the build's changes."""

    def __init__(
        self, backend: MilvusBackend, generation: str, base: str | None, dimensions: int
    ) -> None:
        self._backend = backend
        self._conn = backend.connection
        self.generation = generation
        self.dimensions = dimensions
        self._chunks = backend.chunk_collection(generation)
        self._articles = backend.article_collection(generation)
        self._hashes: dict[str, str] = {}
        self._chunk_counts: dict[str, int] = {}
        self._next_id = 1
        self._create()
        if base is not None:
            self._copy(backend.chunk_collection(base), backend.article_collection(base))

    def _create(self) -> None:
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        chunks = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        chunks.add_field("id", DataType.INT64, is_primary=True)
        chunks.add_field("article_id", DataType.VARCHAR, max_length=MAX_VARCHAR)
        for name in ("ordinal", "start", "end", "tokens"):
            chunks.add_field(name, DataType.INT64)
        for name in ("text", "title", "source", "url", "published"):
            chunks.add_field(name, DataType.VARCHAR, max_length=MAX_VARCHAR)
        chunks.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dimensions)
        analyzer = {"tokenizer": "standard"}
        # terms: title twice, outlet, body (what BM25 ranks); body_terms: the body alone
        # (what document_frequency counts, as FTS5's body column).
        chunks.add_field(
            "terms",
            DataType.VARCHAR,
            max_length=MAX_VARCHAR,
            enable_analyzer=True,
            analyzer_params=analyzer,
        )
        chunks.add_field(
            "body_terms",
            DataType.VARCHAR,
            max_length=MAX_VARCHAR,
            enable_analyzer=True,
            enable_match=True,
            analyzer_params=analyzer,
        )
        chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        chunks.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=["terms"],
                output_field_names=["sparse"],
            )
        )
        articles = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        articles.add_field("key", DataType.VARCHAR, is_primary=True, max_length=MAX_VARCHAR)
        articles.add_field("article_id", DataType.VARCHAR, max_length=MAX_VARCHAR)
        articles.add_field("part", DataType.INT64)
        for name in ("path", "title", "source", "url", "published", "content_hash", "text"):
            articles.add_field(name, DataType.VARCHAR, max_length=MAX_VARCHAR)
        articles.add_field("chunks", DataType.INT64)
        # Milvus wants a vector field in every collection; articles are never searched by it.
        articles.add_field("unused", DataType.FLOAT_VECTOR, dim=2)

        def create(client: Any) -> None:
            for name in (self._chunks, self._articles):
                if client.has_collection(name):
                    client.drop_collection(name)
            client.create_collection(self._chunks, schema=chunks)
            client.create_collection(self._articles, schema=articles)

        self._conn.call("creating collections", create)

    def _copy(self, chunks_from: str, articles_from: str) -> None:
        """The base generation's rows, vectors included (nothing is re-embedded)."""
        fields = [*CHUNK_FIELDS, "vector", "terms", "body_terms"]

        def copy(client: Any) -> None:
            batch: list[dict] = []
            for row in _iterate(client, chunks_from, "id >= 0", fields):
                batch.append(row)
                self._next_id = max(self._next_id, int(row["id"]) + 1)
                if len(batch) >= INSERT_BATCH:
                    client.insert(self._chunks, batch)
                    batch = []
            if batch:
                client.insert(self._chunks, batch)
            batch = []
            for row in _iterate(client, articles_from, "part >= 0", ARTICLE_FIELDS):
                row["unused"] = [1.0, 0.0]
                batch.append(row)
                if row["part"] == 0:
                    self._hashes[row["article_id"]] = row["content_hash"]
                    self._chunk_counts[row["article_id"]] = int(row["chunks"])
                if len(batch) >= INSERT_BATCH:
                    client.insert(self._articles, batch)
                    batch = []
            if batch:
                client.insert(self._articles, batch)

        self._conn.call("copying the published generation", copy)

    def hashes(self) -> dict[str, str]:
        return dict(self._hashes)

    def remove(self, article_ids: list[str]) -> None:
        for lo in range(0, len(article_ids), COPY_BATCH):
            batch = article_ids[lo : lo + COPY_BATCH]
            flt = f"article_id in [{','.join(_quote(a) for a in batch)}]"

            def delete(client: Any, flt: str = flt) -> None:
                client.delete(self._chunks, filter=flt)
                client.delete(self._articles, filter=flt)

            self._conn.call("removing articles", delete)
            for article_id in batch:
                self._hashes.pop(article_id, None)
                self._chunk_counts.pop(article_id, None)

    def add(self, articles: list[tuple[Article, list[Chunk]]], vectors: np.ndarray) -> None:
        chunk_rows: list[dict] = []
        article_rows: list[dict] = []
        row = 0
        for article, chunks in articles:
            head = {
                "article_id": article.id,
                "path": article.path,
                "title": article.title,
                "source": article.source,
                "url": article.url,
                "published": article.published,
                "content_hash": article.content_hash,
                "chunks": len(chunks),
                "unused": [1.0, 0.0],
            }
            parts = [
                article.text[i : i + TEXT_PART_CHARS]
                for i in range(0, len(article.text), TEXT_PART_CHARS)
            ] or [""]
            for part, text in enumerate(parts):
                article_rows.append(
                    {**head, "key": f"{article.id}#{part}", "part": part, "text": text}
                )
            header = terms(f"{article.title} {article.title} {article.source}")
            for chunk in chunks:
                body = terms(chunk.text)
                chunk_rows.append(
                    {
                        "id": self._next_id + row,
                        "article_id": article.id,
                        "ordinal": chunk.ordinal,
                        "start": chunk.start,
                        "end": chunk.end,
                        "tokens": chunk.tokens,
                        "text": chunk.text,
                        "title": article.title,
                        "source": article.source,
                        "url": article.url,
                        "published": article.published,
                        "vector": vectors[row].tolist(),
                        "terms": f"{header} {body}",
                        "body_terms": body,
                    }
                )
                row += 1
        self._insert(self._articles, article_rows)
        self._insert(self._chunks, chunk_rows)
        self._next_id += row
        for article, chunks in articles:
            self._hashes[article.id] = article.content_hash
            self._chunk_counts[article.id] = len(chunks)

    def _insert(self, collection: str, rows: list[dict]) -> None:
        for lo in range(0, len(rows), INSERT_BATCH):
            batch = rows[lo : lo + INSERT_BATCH]

            def insert(client: Any, batch: list[dict] = batch) -> None:
                client.insert(collection, batch)

            self._conn.call("inserting", insert)

    def counts(self) -> tuple[int, int]:
        return len(self._hashes), sum(self._chunk_counts.values())

    def publish(self, manifest: Manifest) -> None:
        """Index, load, then point the alias here: the one step readers notice."""
        row = {
            "key": MANIFEST_KEY,
            "article_id": "",
            "part": -1,
            "path": "",
            "title": "",
            "source": "",
            "url": "",
            "published": "",
            "content_hash": "",
            "chunks": manifest.chunks,
            "text": manifest.to_json(),
            "unused": [1.0, 0.0],
        }
        alias = self._backend.alias

        def finish(client: Any) -> None:
            client.insert(self._articles, [row])
            dense = client.prepare_index_params()
            if manifest.chunks <= EXACT_MAX_CHUNKS:
                dense.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
            else:
                dense.add_index(
                    field_name="vector",
                    index_type="HNSW",
                    metric_type="IP",
                    params={"M": 16, "efConstruction": 200},
                )
            dense.add_index(
                field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25"
            )
            # An article's lead is looked up by article id for every question.
            dense.add_index(field_name="article_id", index_type="INVERTED")
            other = client.prepare_index_params()
            other.add_index(field_name="unused", index_type="FLAT", metric_type="IP")
            for name, params in ((self._chunks, dense), (self._articles, other)):
                client.flush(name)
                client.create_index(name, params)
                client.load_collection(name)
            if alias in client.list_aliases().get("aliases", []):
                client.alter_alias(self._chunks, alias)
            else:
                client.create_alias(self._chunks, alias)

        self._conn.call("publishing", finish)

    def discard(self) -> None:
        try:
            self._backend._drop(self.generation)
        except IndexUnavailableError:
            log.warning("could not drop the unfinished %s; the next build will", self.generation)
