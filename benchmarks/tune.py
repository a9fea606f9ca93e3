"""Sweep search settings over an index built by `footnote eval multihop --work-dir`.

Question vectors are computed once, so each setting costs only the ranking. Tune on dev only:

    python -m benchmarks.tune --data ../shared/eval/multihop-rag --work-dir /tmp/mh/work \
        --set source_boost=0,0.01,0.03 --set per_article=0,1,2
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import load_settings
from bot.eval import (
    RETRIEVE_K,
    Question,
    RetrievalScores,
    aggregate,
    load_questions,
    prepare_data_dir,
    score_query,
)
from index.chunk import ChunkSettings
from index.embed import Embedder, SentenceTransformerEmbedder
from index.search import Retriever, SearchSettings, clean_question, question_clauses


def grid(assignments: list[str]) -> list[SearchSettings]:
    """Every combination of `name=v1,v2` assignments, as SearchSettings."""
    defaults = SearchSettings()
    types = {f.name: type(getattr(defaults, f.name)) for f in dataclasses.fields(SearchSettings)}
    axes: list[list[tuple[str, Any]]] = []
    for item in assignments:
        name, _, values = item.partition("=")
        axes.append([(name, _value(types[name], v)) for v in values.split(",")])
    return [SearchSettings(**dict(combo)) for combo in itertools.product(*axes)]


def _value(kind: type, text: str) -> Any:
    """text as a setting of type kind ("false"/"0" are False: bool("False") would be True)."""
    if kind is bool:
        word = text.strip().lower()
        if word not in {"true", "1", "yes", "on", "false", "0", "no", "off"}:
            raise SystemExit(f"not a boolean: {text!r} (true/false)")
        return word in {"true", "1", "yes", "on"}
    return kind(text)


def question_vectors(embedder: Embedder, questions: list[Question]) -> dict[str, np.ndarray]:
    """The vector of each question and of each of its clauses (any `parts` setting may use)."""
    texts = {
        t
        for q in questions
        for t in (clean_question(q.text), *question_clauses(clean_question(q.text)))
    }
    ordered = sorted(texts)
    return dict(zip(ordered, embedder.embed(ordered), strict=True))


def evaluate(
    retriever: Retriever, questions: list[Question], vectors: dict[str, np.ndarray]
) -> tuple[RetrievalScores, float]:
    """Scores of retriever's ranking and its p95 ranking time in ms (question vectors given)."""
    snapshot = retriever.snapshot()
    scores = []
    times = []
    for q in questions:
        query = retriever.read(snapshot, clean_question(q.text))
        # The rows Retriever.embed_question would embed, looked up instead of embedded.
        matrix = np.stack([vectors[t] for t in (query.text, *query.parts)])
        started = time.perf_counter()
        passages = retriever.rank(snapshot, query, matrix, RETRIEVE_K)
        times.append((time.perf_counter() - started) * 1000)
        scores.append(score_query([p.text for p in passages], q.facts))
    return aggregate(scores), float(np.percentile(times, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--chunk-tokens", type=int, default=ChunkSettings.max_tokens)
    parser.add_argument("--chunk-overlap", type=int, default=ChunkSettings.overlap_tokens)
    parser.add_argument("--no-header", action="store_true")
    parser.add_argument("--set", action="append", default=[], dest="assignments")
    args = parser.parse_args()
    chunking = ChunkSettings(
        max_tokens=args.chunk_tokens,
        overlap_tokens=args.chunk_overlap,
        context_header=not args.no_header,
    )
    settings = load_settings()
    embedder = SentenceTransformerEmbedder(settings.model, cache_dir=settings.model_cache_dir)
    data_dir = prepare_data_dir(args.work_dir, args.data, chunking, embedder.name)
    questions = [q for q in load_questions(args.data, args.split) if not q.is_null]
    cache = args.work_dir / f"question-vectors-{args.split}-v3.pkl"
    if cache.exists():
        vectors = pickle.loads(cache.read_bytes())
    else:
        vectors = question_vectors(embedder, questions)
        cache.write_bytes(pickle.dumps(vectors))
    for search in grid(args.assignments) or [SearchSettings()]:
        scores, p95 = evaluate(Retriever(data_dir, embedder, search), questions, vectors)
        changed = {
            k: v for k, v in dataclasses.asdict(search).items() if v != getattr(SearchSettings(), k)
        }
        print(
            json.dumps(
                {
                    "settings": changed,
                    "scores": dataclasses.asdict(scores),
                    "rank_p95_ms": round(p95, 2),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
