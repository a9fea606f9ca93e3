"""Index build time and ask latency on the shipped sample corpus, with the real bundled model.

    python -m benchmarks.sample [--runs 20]

Prints the cold full build time (fresh data directory), the no-change rebuild time, and the
median / p95 latency of `Footnote.ask` (retrieval + answer composition, model warm).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bot.config import Settings
from bot.service import Footnote
from index.embed import SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Who heads Taobao and Tmall?",
    "When was Taobao launched?",
    "What did Jack Ma say about Taobao's market share?",
    "How many annual active consumers does Alibaba have?",
    "Who is Arch Pei?",
    "What is the capital of Peru?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="times each question is asked")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        embedder = SentenceTransformerEmbedder(cache_dir=Path(tmp) / "models")
        load_s = time.perf_counter() - started
        settings = Settings(data_dir=Path(tmp) / "data", corpus_dir=ROOT / "corpus")
        service = Footnote(settings, embedder=embedder)
        build = service.index()
        again = service.index()
        service.ask(QUESTIONS[0])  # warm: open the index, first-call overheads
        times = []
        for _ in range(args.runs):
            for question in QUESTIONS:
                t0 = time.perf_counter()
                service.ask(question)
                times.append(time.perf_counter() - t0)
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"model load: {load_s:.2f} s")
    print(
        f"full build: {build.seconds:.2f} s for {build.articles_total} articles, "
        f"{build.chunks_total} chunks (embedding {build.embed_seconds:.2f} s)"
    )
    print(f"no-change rebuild: {again.seconds:.3f} s")
    median_ms, p95_ms = statistics.median(times) * 1000, p95 * 1000
    print(f"ask latency over {len(times)} asks: median {median_ms:.1f} ms, p95 {p95_ms:.1f} ms")


if __name__ == "__main__":
    main()
