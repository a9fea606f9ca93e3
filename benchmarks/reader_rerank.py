"""Would the reader's answerability rerank the first passages well? Measured on an index built
by `footnote eval multihop --work-dir` (dev split only, for choosing).

    python -m benchmarks.reader_rerank --data ../shared/eval/multihop-rag --work-dir W \
        [--depth 20] [--limit 300]

Each question's first --depth passages (Retriever.search, the shipped ranking) are read by the
shipped reader; a passage's answerability is its best span's margin over its own no-answer
score. The passages are then ordered by  -position + weight * margin  for a sweep of weights
(0 is the shipped order; "margin" orders by margin alone) and MAP@10 etc. printed for each.
A passage is relevant when it holds one of the question's gold facts (as in benchmarks.rerank).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bot.config import load_settings
from bot.eval import aggregate, index_key, load_questions, prepare_data_dir, score_query
from bot.reader.model import SHIPPED_DIR, Reader
from bot.service import make_embedder
from index.chunk import ChunkSettings
from index.search import Passage, Retriever, SearchSettings

WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    args = parser.parse_args()
    settings = load_settings()
    embedder = make_embedder(settings)
    key = index_key(embedder.name, embedder.backend)
    data_dir = prepare_data_dir(args.work_dir, args.data, ChunkSettings(), key)
    retriever = Retriever(data_dir, embedder, SearchSettings())
    reader = Reader(settings.reader_dir or SHIPPED_DIR)
    samples: list[tuple[list[Passage], np.ndarray, list[str]]] = []
    started = time.perf_counter()
    for q in load_questions(args.data, args.split, args.limit):
        if q.is_null:
            continue
        passages = retriever.search(q.text, args.depth)
        spans = reader.read(q.text, [p.text for p in passages])
        margins = np.full(len(passages), -100.0)
        for span in spans:
            margins[span.passage] = span.margin
        samples.append((passages, margins, list(q.facts)))
    ms = (time.perf_counter() - started) * 1000 / max(1, len(samples))
    print(f"{args.split}: {len(samples)} questions, depth {args.depth}, {ms:.0f} ms each")
    for weight in (*WEIGHTS, None):
        scores = []
        for passages, margins, facts in samples:
            if weight is None:
                order = np.argsort(-margins, kind="stable")
            else:
                order = np.argsort(np.arange(len(passages)) - weight * margins, kind="stable")
            scores.append(score_query([passages[i].text for i in order[:10]], facts))
        r = aggregate(scores)
        name = "margin" if weight is None else f"{weight:g}"
        print(
            f"  weight {name:>6}: MAP@10 {r.map_at_10:.4f}  MRR@10 {r.mrr_at_10:.4f}  "
            f"Hits@4 {r.hits_at_4:.4f}  Hits@10 {r.hits_at_10:.4f}"
        )


if __name__ == "__main__":
    main()
