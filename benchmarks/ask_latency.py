"""Time `footnote ask` as a user meets it: each question asked once, the reader included.

    python -m benchmarks.ask_latency --data ../shared/eval/multihop-rag --work-dir DIR \\
        [--split test] [--limit 200]

Reuses (or builds) the MultiHop-RAG index of `footnote eval multihop --work-dir DIR`, then
prints how long the reader takes to load (sha256 checks included), the p50/p95 of each
question's first ask (retrieval, reranking, reading and composing; `footnote eval multihop`
times a second ask, after its retrieval pass; with the sentence vectors the build stores, the
two cost about the same), and the process's peak RSS. Run it on idle cores: timings are the
machine's, not the code's alone.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.config import load_settings
from bot.eval import index_key, load_questions, peak_rss_mb, percentile, prepare_data_dir
from bot.reader.model import Reader
from bot.service import Footnote, make_embedder
from index.build import build_index
from index.chunk import ChunkSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the MultiHop-RAG folder")
    parser.add_argument("--work-dir", type=Path, required=True, help="where the index is kept")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args(argv)

    settings = load_settings()
    embedder = make_embedder(settings)
    chunking = ChunkSettings()
    data_dir = prepare_data_dir(
        args.work_dir, args.data, chunking, index_key(embedder.name, embedder.backend)
    )
    build_index(data_dir.parent / "corpus", data_dir, embedder, chunking)
    loads = []
    for _ in range(3):
        started = time.perf_counter()
        Reader()
        loads.append((time.perf_counter() - started) * 1000)
    service = Footnote(
        load_settings(data_dir=data_dir, corpus_dir=data_dir.parent / "corpus"), embedder=embedder
    )
    questions = load_questions(args.data, args.split, args.limit)
    service.ask("What is the news?")  # load the embedder, the reader and the index once
    times = []
    for q in questions:
        started = time.perf_counter()
        service.ask(q.text)
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"reader load (median of 3) {sorted(loads)[1]:.0f} ms; {len(times)} {args.split} "
        f"questions, each asked once: p50 {percentile(times, 50):.0f} ms, "
        f"p95 {percentile(times, 95):.0f} ms; peak RSS {peak_rss_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
