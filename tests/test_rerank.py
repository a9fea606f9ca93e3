"""The passage reranker: its features, the order it gives, and when retrieval uses it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import index.search
from bot.config import Settings
from bot.service import Footnote
from index.embed import Remembering
from index.rerank import FEATURES, MODEL, RerankModel, features
from index.search import Passage, Retriever, SearchSettings
from tests.fakes import FakeEmbedder

# Prefers the last of fusion's passages: the reverse of fusion's order.
_LAST_FIRST = RerankModel(
    mean=(0.0,) * len(FEATURES),
    scale=(1.0,) * len(FEATURES),
    coef=(-1.0,) + (0.0,) * (len(FEATURES) - 1),
)


def _candidate(n: int, text: str, article: str = "a", source: str = "Herald") -> Passage:
    return Passage(
        n, article, "Harbor news", source, "", "2023-10-05", text, 0, len(text), 0.1, 0.0, n, None
    )


def test_features_read_the_best_sentence_and_the_articles_repeats() -> None:
    embedder = FakeEmbedder()
    question = "Did the ferry board raise fares, and did the Gazette report the bridge toll?"
    parts = ["Did the ferry board raise fares", "did the Gazette report the bridge toll"]
    vectors = embedder.embed([question, *parts])
    fares = "Weather was mild. The ferry board raised fares on Monday."
    other = "Weather was mild. Gardens opened early this spring."
    candidates = [_candidate(1, other), _candidate(2, fares), _candidate(3, other, article="b")]
    chunk_vectors = embedder.embed([c.text for c in candidates])
    rows = features(
        candidates,
        vectors,
        chunk_vectors,
        embedder,
        lambda w: 1.0,
        question,
        parts,
        frozenset({"Herald"}),
        frozenset(),
    )
    assert rows.shape == (3, len(FEATURES)) == (3, len(MODEL.coef))
    column = {name: rows[:, i] for i, name in enumerate(FEATURES)}
    # The fares chunk's best sentence matches a part better than the other chunks' do.
    assert column["part_sentence_max"][1] > column["part_sentence_max"][0]
    assert column["coverage"][1] > column["coverage"][0]
    assert list(column["article_repeat"]) == [1.0, 2.0, 1.0]
    assert list(column["inverse_rank"]) == [1.0, 0.5, 1.0 / 3]
    assert list(column["outlet_named"]) == [1.0, 1.0, 1.0]


def test_a_model_orders_the_first_passages_and_only_multi_part_questions(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(4):
        (corpus / f"fares-{n}.md").write_text(
            f"---\ntitle: Ferry fares {n}\nsource: Harbor Herald\n---\n"
            f"Ferry fares rose on route {n}, the ferry board said.\n\n" + "More news. " * 40
        )
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    service = Footnote(settings, embedder=FakeEmbedder())
    service.index()
    retriever = service.retriever
    snapshot = retriever.snapshot()
    multi = "Did ferry fares rise on route 1, and what did the ferry board say about route 2?"
    query = retriever.read(snapshot, multi)
    assert retriever.multi_part(query)
    assert not retriever.multi_part(retriever.read(snapshot, "Did ferry fares rise?"))
    vectors = retriever.embed_question(query)
    fused = retriever.fused(snapshot, query, vectors, 6)
    # A model preferring the lowest fused rank reverses the first rerank_depth passages.
    retriever.settings = SearchSettings(rerank_depth=4)
    reordered = retriever.rerank(snapshot, query, vectors, fused, _LAST_FIRST)
    assert [p.chunk_id for p in reordered] == [p.chunk_id for p in fused[:4][::-1] + fused[4:]]


def test_rank_reranks_multi_part_questions_and_keeps_single_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(6):
        (corpus / f"fares-{n}.md").write_text(
            f"---\ntitle: Ferry fares {n}\nsource: Harbor Herald\n---\n"
            f"Ferry fares rose on route {n}, the ferry board said on day {n}.\n"
        )
    embedder = FakeEmbedder()
    data = tmp_path / "data"
    Footnote(Settings(data_dir=data, corpus_dir=corpus), embedder=embedder).index()
    plain = Retriever(data, embedder, SearchSettings(rerank_depth=0))
    reranking = Retriever(data, embedder, SearchSettings(rerank_depth=6))
    monkeypatch.setattr(index.search, "MODEL", _LAST_FIRST)
    single = "Did ferry fares rise on route 3?"
    assert [p.chunk_id for p in reranking.search(single, 3)] == [
        p.chunk_id for p in plain.search(single, 3)
    ]
    multi = "Did ferry fares rise on route 3, and what did the board say on day 5?"
    fused = [p.chunk_id for p in plain.search(multi, 6)]
    assert [p.chunk_id for p in reranking.search(multi, 3)] == fused[::-1][:3]


def test_remembering_embeds_a_text_once_and_forgets_the_oldest() -> None:
    inner = FakeEmbedder()
    memo = Remembering(inner, size=3)
    first = memo.embed(["ferry fares", "bridge toll"])
    again = memo.embed(["bridge toll", "ferry fares", "harbor board"])
    assert inner.embedded == ["ferry fares", "bridge toll", "harbor board"]
    assert np.allclose(again[0], first[1]) and np.allclose(again[1], first[0])
    memo.embed(["city hall"])  # a fourth text: the least recently used, "bridge toll", goes
    memo.embed(["harbor board"])
    assert inner.embedded[-1] == "city hall"
    memo.embed(["bridge toll", "bridge toll"])
    assert inner.embedded[-2:] == ["city hall", "bridge toll"]
    assert memo.embed([]).shape == (0, inner.dimensions)


def test_article_disjoint_folds_never_test_on_articles_they_fit_on() -> None:
    from benchmarks.rerank import by_article, by_question

    evidence = [frozenset(e) for e in ("ab", "bc", "cd", "de", "ea", "a", "c", "e", "bd", "f")]
    folds = by_article(evidence)
    assert len(folds) == 3
    tested: set[int] = set()
    for train, test in folds:
        seen = frozenset().union(*(evidence[i] for i in test))
        fitted = frozenset().union(*(evidence[i] for i in train))
        assert test and not seen & fitted
        assert not tested & set(test)
        tested |= set(test)
    # Every question is tested once when folds are drawn by question.
    assert sorted(i for _, test in by_question(10) for i in test) == list(range(10))
    assert all(not set(train) & set(test) for train, test in by_question(10))
