"""Fit or measure the passage reranker (index/rerank.py) on an index built by `footnote eval
multihop --work-dir`.

    # fit its weights on the dev split (prints them, with 3-fold cross-validated MAP@10, the
    # folds drawn once by question and once by article)
    python -m benchmarks.rerank --data ../shared/eval/multihop-rag --work-dir /tmp/mh/work --fit
    # measure the shipped weights: MAP@10 etc. of fusion alone and reranked, and the time taken
    python -m benchmarks.rerank --data ../shared/eval/multihop-rag --work-dir /tmp/mh/work \
        --split test

A passage is relevant when it holds one of the question's gold facts. Fit on dev only.

MultiHop-RAG's questions share articles, so folds drawn by question let a model learn about the
articles it is then tested on. The article-disjoint check splits the articles in three instead:
a fold is tested on the questions whose evidence lies wholly in its third and fitted on those
whose evidence lies wholly outside it, so what it measures holds for articles never fitted on.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np

from bot.config import load_settings
from bot.eval import (
    RETRIEVE_K,
    RetrievalScores,
    aggregate,
    index_key,
    load_questions,
    prepare_data_dir,
    score_query,
    squash,
)
from bot.service import make_embedder
from index.articles import load_corpus
from index.chunk import ChunkSettings
from index.rerank import FEATURES, MODEL, RerankModel
from index.search import Passage, Retriever, SearchSettings, clean_question, reorder

# fusion's passages, their features, the gold facts, ms, whether Retriever.rank reranks them,
# and the outlets the question names
Sample = tuple[list[Passage], np.ndarray, list[str], float, bool, list[str]]


def collect(retriever: Retriever, data: Path, split: str, limit: int | None) -> list[Sample]:
    """Per question with evidence: fusion's first passages, their features, the gold facts, the
    ms computing the features took, and whether rank() reranks them (multi-part questions)."""
    snapshot = retriever.snapshot()
    depth = retriever.settings.rerank_depth
    out = []
    for q in load_questions(data, split, limit):
        if q.is_null:
            continue
        query = retriever.read(snapshot, clean_question(q.text))
        vectors = retriever.embed_question(query)
        passages = retriever.fused(snapshot, query, vectors, max(depth, RETRIEVE_K))
        started = time.perf_counter()
        rows = retriever.rerank_features(snapshot, query, vectors, passages[:depth])
        ms = (time.perf_counter() - started) * 1000
        multi_part = retriever.multi_part(query)
        outlets = sorted(query.sources)
        out.append((passages, rows, list(q.facts), ms, multi_part, outlets))
    return out


def relevant(passages: list[Passage], facts: list[str]) -> np.ndarray:
    squashed = [squash(f) for f in facts]
    return np.array([any(f in squash(p.text) for f in squashed) for p in passages], dtype=float)


def evidence_articles(samples: list[Sample], corpus_dir: Path) -> list[frozenset[str]]:
    """The ids of the articles holding each sample's gold facts."""
    bodies = [(a.id, squash(a.text)) for a in load_corpus(corpus_dir).articles]
    return [
        frozenset(aid for fact in map(squash, s[2]) for aid, body in bodies if fact in body)
        for s in samples
    ]


def cross_validated(
    samples: list[Sample], folds: list[tuple[list[int], list[int]]]
) -> tuple[RetrievalScores, RetrievalScores]:
    """Fusion's and the refit reranker's scores on each fold's test questions, pooled; each
    fold is (fit on, test on)."""
    plain, held = [], []
    for train, test in folds:
        model = fit([samples[i] for i in train])
        plain += [score_query(ranked(samples[i], None), samples[i][2]) for i in test]
        held += [score_query(ranked(samples[i], model), samples[i][2]) for i in test]
    return aggregate(plain), aggregate(held)


def by_question(n: int, k: int = 3) -> list[tuple[list[int], list[int]]]:
    shuffled = list(range(n))
    random.Random(0).shuffle(shuffled)
    tests = [shuffled[i::k] for i in range(k)]
    return [
        ([i for j, t in enumerate(tests) if j != part for i in t], tests[part]) for part in range(k)
    ]


def by_article(evidence: list[frozenset[str]], k: int = 3) -> list[tuple[list[int], list[int]]]:
    """Folds over thirds of the articles: test on the questions whose evidence lies wholly in
    one third, fit on those whose evidence lies wholly outside it (the rest sit out)."""
    articles = sorted(frozenset().union(*evidence))
    random.Random(0).shuffle(articles)
    third = {a: n % k for n, a in enumerate(articles)}
    groups = [{third[a] for a in e} for e in evidence]
    return [
        (
            [i for i, g in enumerate(groups) if g and part not in g],
            [i for i, g in enumerate(groups) if g == {part}],
        )
        for part in range(k)
    ]


def fit(samples: list[Sample]) -> RerankModel:
    """A logistic model over standardised features (passage holds a fact or not)."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([s[1] for s in samples])
    y = np.concatenate([relevant(s[0][: len(s[1])], s[2]) for s in samples])
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)  # constant: weight 0
    model = LogisticRegression(C=1.0, max_iter=5000).fit((x - mean) / scale, y)
    return RerankModel(
        mean=tuple(float(round(v, 6)) for v in mean),
        scale=tuple(float(round(v, 6)) for v in scale),
        coef=tuple(float(round(v, 6)) for v in model.coef_[0]),
    )


def ranked(sample: Sample, model: RerankModel | None) -> list[str]:
    """The first texts as Retriever.rank orders them: reranked when it reranks that question."""
    passages, rows, _, _, multi_part, outlets = sample
    if model is not None and multi_part:
        passages = reorder(passages, model.score(rows), outlets)
    return [p.text for p in passages][:RETRIEVE_K]


def scores(samples: list[Sample], model: RerankModel | None) -> RetrievalScores:
    return aggregate([score_query(ranked(s, model), s[2]) for s in samples])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--depth", type=int, default=SearchSettings.rerank_depth)
    parser.add_argument("--fit", action="store_true", help="fit the weights (dev split only)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    args = parser.parse_args()
    if args.fit and args.split != "dev":
        raise SystemExit("fit on the dev split only")
    settings = load_settings()
    embedder = make_embedder(settings)
    # The index `footnote eval multihop --work-dir` built with this backend.
    key = index_key(embedder.name, embedder.backend)
    data_dir = prepare_data_dir(args.work_dir, args.data, ChunkSettings(), key)
    retriever = Retriever(data_dir, embedder, SearchSettings(rerank_depth=args.depth))
    samples = collect(retriever, args.data, args.split, args.limit)
    times = [s[3] for s in samples if s[4]]
    before = scores(samples, None)
    multi = sum(s[4] for s in samples)
    print(
        f"{args.split}: {len(samples)} questions ({multi} multi-part, reranked), rerank depth "
        f"{args.depth}, {embedder.name}@{embedder.backend}"
    )
    print(
        f"  fusion alone  MAP@10 {before.map_at_10:.4f}  MRR@10 {before.mrr_at_10:.4f}  "
        f"Hits@4 {before.hits_at_4:.4f}  Hits@10 {before.hits_at_10:.4f}"
    )
    if args.fit:
        _, cv = cross_validated(samples, by_question(len(samples)))
        print(
            f"  reranked, 3-fold cross-validated: MAP@10 {cv.map_at_10:.4f}  "
            f"MRR@10 {cv.mrr_at_10:.4f}  Hits@4 {cv.hits_at_4:.4f}  Hits@10 {cv.hits_at_10:.4f}"
        )
        evidence = evidence_articles(samples, data_dir.parent / "corpus")
        plain, cv = cross_validated(samples, by_article(evidence))
        print(
            f"  article-disjoint, 3-fold ({plain.questions} questions): fusion MAP@10 "
            f"{plain.map_at_10:.4f} -> reranked {cv.map_at_10:.4f}, MRR@10 {plain.mrr_at_10:.4f}"
            f" -> {cv.mrr_at_10:.4f}"
        )
        model = fit(samples)
        after = scores(samples, model)
        print(f"  refit on all: MAP@10 {after.map_at_10:.4f} (on its own training data)")
        print("MODEL = RerankModel(")
        for name in ("mean", "scale", "coef"):
            print(f"    {name}={getattr(model, name)},")
        print(")")
        print(
            "  features:",
            ", ".join(f"{f} {c:+.2f}" for f, c in zip(FEATURES, model.coef, strict=True)),
        )
        return
    after = scores(samples, MODEL)
    print(
        f"  reranked      MAP@10 {after.map_at_10:.4f}  MRR@10 {after.mrr_at_10:.4f}  "
        f"Hits@4 {after.hits_at_4:.4f}  Hits@10 {after.hits_at_10:.4f}"
    )
    print(
        f"  reranker features (sentence vectors included): p50 {np.percentile(times, 50):.0f} ms,"
        f" p95 {np.percentile(times, 95):.0f} ms"
    )


if __name__ == "__main__":
    main()
