"""The MultiHop-RAG metrics on hand-made cases, and the eval runner on a tiny invented benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.eval import (
    EvalOptions,
    QueryScores,
    aggregate,
    contains_answer,
    load_questions,
    percentile,
    run_multihop,
    score_query,
    squash,
    summary,
)
from index.chunk import ChunkSettings
from index.errors import ConfigError
from index.search import (
    OutletMatcher,
    SearchSettings,
    _diverse,
    mentioned_dates,
    question_clauses,
)
from index.store import ChunkRecord
from tests.fakes import FakeEmbedder

FACT_A = "The harbour bridge reopened on Monday after repairs."
FACT_B = "Engineers replaced 40 cables on the bridge."


def test_squash_removes_only_spaces_and_newlines() -> None:
    assert squash("a b\nc\td") == "abc\td"


def test_first_rank_hit_scores_one_everywhere() -> None:
    s = score_query([f"Intro. {FACT_A} More.", "other"], [FACT_A])
    assert s == QueryScores(hit4=True, hit10=True, reciprocal_rank=1.0, average_precision=1.0)


def test_hit_at_rank_five_is_a_hit_at_ten_not_at_four() -> None:
    retrieved = ["x"] * 4 + [FACT_A]
    s = score_query(retrieved, [FACT_A])
    assert (s.hit4, s.hit10) == (False, True)
    assert s.reciprocal_rank == pytest.approx(1 / 5)
    assert s.average_precision == pytest.approx(1 / 5)


def test_hit_after_rank_ten_does_not_count() -> None:
    s = score_query(["x"] * 10 + [FACT_A], [FACT_A])
    assert s == QueryScores(False, False, 0.0, 0.0)


def test_spacing_and_line_breaks_do_not_matter_but_case_does() -> None:
    broken = FACT_A.replace(" ", "\n", 2).replace("bridge", "  bridge")
    assert score_query([broken], [FACT_A]).hit4
    assert not score_query([FACT_A.upper()], [FACT_A]).hit10


def test_a_chunk_holding_part_of_a_fact_is_no_hit() -> None:
    assert not score_query([FACT_A[:20]], [FACT_A]).hit10


def test_average_precision_counts_each_fact_once_at_its_first_rank() -> None:
    # A at rank 1, A again at 2 (not new), B at 3: (1/1 + 1/3) / min(2, 10).
    s = score_query([FACT_A, FACT_A, "x " + FACT_B], [FACT_A, FACT_B])
    assert s.average_precision == pytest.approx((1 + 1 / 3) / 2)
    assert s.reciprocal_rank == 1.0


def test_two_facts_in_one_chunk_both_count_at_that_rank() -> None:
    s = score_query(["x", FACT_A + " " + FACT_B], [FACT_A, FACT_B])
    assert s.average_precision == pytest.approx((2 / 2) / 2)


def test_average_precision_divides_by_at_most_ten() -> None:
    # The paper adds (new facts at r) / r, so one new fact per rank gives sum(1/r) / 10.
    gold = [f"fact number {i} is here" for i in range(12)]
    s = score_query(gold[:10], gold)
    assert s.average_precision == pytest.approx(sum(1 / r for r in range(1, 11)) / 10)


def test_aggregate_means_and_empty() -> None:
    scores = [QueryScores(True, True, 1.0, 0.5), QueryScores(False, True, 0.2, 0.1)]
    agg = aggregate(scores)
    assert (agg.questions, agg.hits_at_4, agg.hits_at_10) == (2, 0.5, 1.0)
    assert agg.mrr_at_10 == pytest.approx(0.6)
    assert agg.map_at_10 == pytest.approx(0.3)
    assert aggregate([]).questions == 0


def test_contains_answer_ignores_case_and_spacing() -> None:
    assert contains_answer("It was  Sam\nBankman-Fried [1]", "sam bankman-fried")
    assert not contains_answer("It was Sam [1]", "Sam Bankman-Fried")
    assert contains_answer("No: The Verge (2023-10-03) [1] ...", "no")
    assert not contains_answer("I know nothing", "No")  # words, not letters
    assert contains_answer("“Squid Game” — renewed", '"Squid Game" - renewed')  # quotes, dashes


def test_percentile() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0, 100.0], 50) == 3.0
    assert percentile([], 95) == 0.0


def test_mentioned_dates() -> None:
    q = "Between the report published on October 5, 2023 and the one on 7 Nov 2023 (2023-12-01)?"
    assert mentioned_dates(q) == {"2023-10-05", "2023-11-07", "2023-12-01"}
    assert mentioned_dates("In 2023, who won?") == frozenset()
    assert mentioned_dates("the report published at '2023-10-20T21:02:00+00:00'") == {"2023-10-20"}


def test_outlets_by_full_or_short_name_on_word_boundaries() -> None:
    outlets = OutletMatcher(
        [
            "The Verge",
            "Rivals",
            "Cnbc | World Business News Leader",
            "The Independent - Sports",
            "The Independent - Travel",
            "Fortune",
        ]
    )
    assert outlets.find("as reported by The Verge and CNBC") == {
        "The Verge",
        "Cnbc | World Business News Leader",
    }
    assert outlets.find("Which model rivals GPT-4, worth a fortune?") == frozenset()
    assert outlets.find("did The Independent - Sports say") == {"The Independent - Sports"}
    assert outlets.find("did The Independent say") == {
        "The Independent - Sports",
        "The Independent - Travel",
    }
    # In quotes too ("'The Verge' article"); not inside a word ("O'Fortune").
    assert outlets.find("Does the 'The Verge' article agree with ‘Fortune’?") == {
        "The Verge",
        "Fortune",
    }
    assert outlets.find("Does O'Fortune agree?") == frozenset()


def _record(chunk_id: int, article: str) -> ChunkRecord:
    return ChunkRecord(chunk_id, article, 0, 0, 1, "t", "title", "src", "", "")


def test_diverse_takes_other_articles_before_a_third_chunk_of_one() -> None:
    records = {i: _record(i, a) for i, a in enumerate("aaabc", 1)}
    assert _diverse([1, 2, 3, 4, 5], records, 4, per_article=2) == [1, 2, 4, 5]
    assert _diverse([1, 2, 3, 4, 5], records, 4, per_article=0) == [1, 2, 3, 4]
    assert _diverse([1, 2, 3], records, 3, per_article=1) == [1, 2, 3]


def test_question_clauses_split_a_comparison_and_leave_short_questions_whole() -> None:
    q = (
        "Does the Coast Courier article say the bridge reopened on Monday, while the Valley "
        "Times article reports that the museum opened its doors to visitors?"
    )
    clauses = question_clauses(q)
    assert len(clauses) == 2
    assert any(c.startswith("while the Valley Times") for c in clauses)
    assert question_clauses("Who heads Taobao and Tmall?") == []


# ---------------------------------------------------------------------------------------------
# The runner, on an invented three-article benchmark

ARTICLES = [
    {
        "title": "Harbour bridge reopens",
        "source": "Coast Courier",
        "published_at": "2023-10-02T08:00:00+00:00",
        "url": "https://example.test/bridge",
        "body": f"{FACT_A} Traffic was light in the morning. {FACT_B}",
    },
    {
        "title": "Lighthouse museum opens",
        "source": "Valley Times",
        "published_at": "2023-10-03T08:00:00+00:00",
        "url": "https://example.test/museum",
        "body": "The lighthouse museum opened its doors to visitors. Curator Ada Lind led tours.",
    },
    {
        "title": "Orchard harvest",
        "source": "Valley Times",
        "published_at": "2023-10-04T08:00:00+00:00",
        "url": "https://example.test/orchard",
        "body": "Apple growers reported a record harvest this autumn. Prices fell sharply.",
    },
]
QUESTIONS = [
    {
        "query": "According to Coast Courier, when did the harbour bridge reopen after repairs?",
        "answer": "Monday",
        "question_type": "temporal_query",
        "evidence_list": [{"fact": FACT_A}],
    },
    {
        "query": "Who led tours of the lighthouse museum, as the Valley Times reported?",
        "answer": "Ada Lind",
        "question_type": "inference_query",
        "evidence_list": [{"fact": "Curator Ada Lind led tours."}],
    },
    {
        "query": "What did the volcano observatory announce about the eruption?",
        "answer": "Insufficient information.",
        "question_type": "null_query",
        "evidence_list": [],
    },
]


@pytest.fixture
def benchmark(tmp_path: Path) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "corpus.json").write_text(json.dumps(ARTICLES), "utf-8")
    (folder / "MultiHopRAG.json").write_text(json.dumps(QUESTIONS), "utf-8")
    (folder / "split.json").write_text(json.dumps({"dev": [0, 2], "test": [1]}), "utf-8")
    return folder


def test_load_questions_by_split_and_limit(benchmark: Path) -> None:
    assert [q.index for q in load_questions(benchmark, "dev")] == [0, 2]
    assert [q.index for q in load_questions(benchmark, "all", limit=2)] == [0, 1]
    assert load_questions(benchmark, "dev")[1].is_null
    with pytest.raises(ConfigError):
        load_questions(benchmark, "train")


def test_run_finds_the_evidence_answers_and_abstains(benchmark: Path, tmp_path: Path) -> None:
    options = EvalOptions(
        data=benchmark,
        split="all",
        work_dir=tmp_path / "work",
        chunking=ChunkSettings(max_tokens=24, overlap_tokens=0),
        search=SearchSettings(source_boost=0.05, per_article=1),
        encode_sample=0,
        min_similarity=0.3,
    )
    result = run_multihop(options, FakeEmbedder())
    assert result.questions == 3
    assert result.retrieval.questions == 2
    assert result.retrieval.hits_at_4 == 1.0
    assert result.retrieval.mrr_at_10 == 1.0
    assert result.by_type["inference_query"].hits_at_10 == 1.0
    assert (result.inference_questions, result.answer_containment) == (1, 1.0)
    assert (result.null_questions, result.abstention) == (1, 1.0)
    # The short answer alone is scored for the questions with evidence, not the null one.
    assert set(result.short_by_type) == {q["question_type"] for q in QUESTIONS} - {"null_query"}
    assert all("short_correct" in o for o in result.outcomes)
    assert "short answer alone right: " in summary(result)
    assert result.speed.chunks >= 3 and result.speed.chunks_embedded == result.speed.chunks
    assert result.speed.build_chunks_per_s > 0 and result.speed.model_chunks_per_s > 0
    assert result.speed.peak_rss_mb > 0
    assert json.loads(result.to_json())["retrieval"]["hits_at_4"] == 1.0
    assert "Hits@10 1.0000" in summary(result)
    # The second run reuses the index: nothing is embedded again.
    again = run_multihop(options, FakeEmbedder())
    assert again.speed.chunks_embedded == 0
    assert again.retrieval == result.retrieval


def test_run_in_a_throwaway_directory(benchmark: Path) -> None:
    options = EvalOptions(data=benchmark, split="test", answers=False, encode_sample=0)
    result = run_multihop(options, FakeEmbedder())
    assert result.retrieval.questions == 1
    assert result.null_questions == 0


def test_a_flat_index_outgrowing_exact_search_becomes_ivf_with_the_same_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import faiss
    import numpy as np

    from index import ann

    rng = np.random.default_rng(0)
    data = rng.standard_normal((400, 16)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(16))
    flat.add_with_ids(data, np.arange(100, 500, dtype=np.int64))
    assert ann.fit_index(flat) is flat  # small: stays exact
    monkeypatch.setattr(ann, "EXACT_MAX_CHUNKS", 100)
    ivf = ann.fit_index(flat)
    assert isinstance(ivf, faiss.IndexIVFFlat) and ivf.ntotal == 400
    assert np.allclose(ivf.reconstruct(107), data[7])
    _, ids = ivf.search(data[7:8], 1)
    assert ids[0][0] == 107
    ivf.remove_ids(np.array([107], dtype=np.int64))
    assert ivf.ntotal == 399
