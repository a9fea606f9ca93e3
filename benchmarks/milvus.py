"""The Milvus backend against the default one on MultiHop-RAG: same chunks, same vectors.

Copies an index that `footnote eval multihop` built (files + SQLite + faiss) into Milvus
(Milvus Lite in a temporary .db unless --uri names a server) without re-embedding: the same
chunks and vectors, so any difference in the figures comes from the backends. Then both
retrievers rank the split's questions from the same question vectors, and the figures are
printed: retrieval metrics, query latency (ranking only; the question's embedding, the same
for both, is timed apart), and the per-chunk costs the sizing note in benchmarks/README.md
is computed from.

    python -m benchmarks.milvus --index /tmp/mh/work/index-601e1ad29c4d/data \\
        --data ../shared/eval/multihop-rag --split dev
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

from bot.eval import RETRIEVE_K, aggregate, load_questions, percentile, score_query
from index.articles import Article
from index.backends import Reader
from index.backends.files import FilesBackend
from index.backends.milvus import MilvusBackend
from index.chunk import Chunk
from index.embed import SentenceTransformerEmbedder
from index.search import Retriever, SearchSettings
from index.store import META, Manifest

BATCH_ARTICLES = 50


def du(path: Path) -> int:
    """Bytes on disk under path."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def copy_into_milvus(source: Reader, root: Path, milvus: MilvusBackend) -> tuple[float, float]:
    """Fill a Milvus generation with source's articles, chunks and vectors; (fill s, index s)."""
    generation = source.generation
    staging = milvus.stage(generation, None, source.manifest.dimensions)
    started = time.perf_counter()
    with closing(sqlite3.connect(f"file:{root / generation / META}?mode=ro", uri=True)) as db:
        heads = source.articles()
        for lo in range(0, len(heads), BATCH_ARTICLES):
            batch: list[tuple[Article, list[Chunk]]] = []
            vectors: list[np.ndarray] = []
            for head in heads[lo : lo + BATCH_ARTICLES]:
                record = source.article(head.id)
                assert record is not None
                article = Article(
                    id=record.id,
                    title=record.title,
                    source=record.source,
                    url=record.url,
                    published=record.published,
                    text=record.text,
                    path=record.path,
                )
                rows = db.execute(
                    "SELECT id, ordinal, start, end, text, tokens FROM chunks "
                    "WHERE article_id = ? ORDER BY ordinal",
                    (record.id,),
                ).fetchall()
                chunks = [Chunk(record.id, o, s, e, t, n) for _, o, s, e, t, n in rows]
                vectors.extend(source.vector(r[0]) for r in rows)
                batch.append((article, chunks))
            staging.add(batch, np.stack(vectors).astype(np.float32))
    filled = time.perf_counter() - started
    manifest = Manifest(**{**source.manifest.__dict__, "generation": generation})
    started = time.perf_counter()
    staging.publish(manifest)
    return filled, time.perf_counter() - started


def count_calls(milvus: MilvusBackend) -> list[tuple[str, float]]:
    """Every request the Milvus backend makes from now on: what it was for, its seconds."""
    calls: list[tuple[str, float]] = []
    connection = milvus.connection
    call = connection.call

    def counted(what: str, fn: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(what, fn)
        finally:
            calls.append((what, time.perf_counter() - started))

    connection.call = counted  # type: ignore[method-assign]
    return calls


def run_questions(
    retriever: Retriever, reader: Reader, questions: list, vectors: list[np.ndarray]
) -> tuple[list, list[float]]:
    scores, latencies = [], []
    queries = [retriever.read(reader, q.text) for q in questions]
    retriever.rank(reader, queries[0], vectors[0], RETRIEVE_K)  # warm up
    for q, query, matrix in zip(questions, queries, vectors, strict=True):
        started = time.perf_counter()
        passages = retriever.rank(reader, query, matrix, RETRIEVE_K)
        latencies.append((time.perf_counter() - started) * 1000)
        scores.append(score_query([p.text for p in passages], q.facts))
    return scores, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an eval run's data directory")
    parser.add_argument("--data", type=Path, required=True, help="the MultiHop-RAG folder")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--uri", default="", help="a Milvus server (default: Milvus Lite)")
    args = parser.parse_args()

    files = FilesBackend(args.index)
    generation = files.current()
    assert generation, f"no index in {args.index}"
    source = files.open(generation)
    n = source.manifest.chunks
    print(f"source: {args.index} ({source.manifest.articles} articles, {n:,} chunks)")

    with tempfile.TemporaryDirectory(prefix="footnote-milvus-") as tmp:
        uri = args.uri or str(Path(tmp) / "milvus.db")
        milvus = MilvusBackend(uri, collection="bench", data_dir=Path(tmp) / "data")
        before = rss_mb()
        filled, indexed = copy_into_milvus(source, files.root, milvus)
        grown = rss_mb() - before
        print(
            f"copy into Milvus ({'server' if args.uri else 'Lite'}): insert {filled:.1f}s "
            f"({n / filled:,.0f} chunks/s), flush+index+load {indexed:.1f}s; "
            f"process RSS +{grown:,.0f} MB"
        )
        files_disk = du(files.root / generation)
        lines = [f"disk: files {files_disk / n:,.0f} B/chunk"]
        if not args.uri:
            lines.append(f"Milvus Lite {du(Path(uri)) / n:,.0f} B/chunk")
        print(", ".join(lines))
        vec = source.manifest.dimensions * 4
        with closing(
            sqlite3.connect(f"file:{files.root / generation / META}?mode=ro", uri=True)
        ) as db:
            text = db.execute("SELECT avg(length(CAST(text AS BLOB))) FROM chunks").fetchone()[0]
            art = db.execute("SELECT sum(length(CAST(text AS BLOB))) FROM articles").fetchone()[0]
        print(
            f"raw per chunk: vector {vec} B, chunk text {text:,.0f} B, "
            f"article text {art / n:,.0f} B"
        )

        questions = [q for q in load_questions(args.data, args.split, args.limit) if not q.is_null]
        embedder = SentenceTransformerEmbedder()
        settings = SearchSettings()
        retrievers = {
            "files": Retriever(args.index, embedder, settings, files),
            "milvus": Retriever(Path(tmp) / "data", embedder, settings, milvus),
        }
        first = retrievers["files"]
        snapshot = first.snapshot()
        queries = [first.read(snapshot, q.text) for q in questions]
        started = time.perf_counter()
        vectors = [first.embed_question(query) for query in queries]
        embed_ms = (time.perf_counter() - started) * 1000 / len(questions)
        print(f"{len(questions)} questions ({args.split}); embedding one: {embed_ms:.1f} ms")
        print("| backend | Hits@4 | Hits@10 | MRR@10 | MAP@10 | rank p50 | rank p95 |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        calls = count_calls(milvus)
        for name, retriever in retrievers.items():
            reader = retriever.snapshot()
            calls.clear()
            scores, latencies = run_questions(retriever, reader, questions, vectors)
            if name == "milvus":
                milvus_calls = list(calls)
                requests = len(calls) / (len(questions) + 1)
            r = aggregate(scores)
            print(
                f"| {name} | {r.hits_at_4:.4f} | {r.hits_at_10:.4f} | {r.mrr_at_10:.4f} | "
                f"{r.map_at_10:.4f} | {percentile(latencies, 50):.1f} ms | "
                f"{percentile(latencies, 95):.1f} ms |"
            )
        kinds = Counter(what for what, _ in milvus_calls)
        spent: dict[str, float] = {}
        for what, seconds in milvus_calls:
            spent[what] = spent.get(what, 0.0) + seconds
        print(
            f"Milvus requests per question: {requests:.1f} ("
            + ", ".join(
                f"{k} {v / (len(questions) + 1):.1f} x {1000 * spent[k] / v:.1f} ms"
                for k, v in kinds.most_common()
            )
            + ")"
        )


if __name__ == "__main__":
    main()
