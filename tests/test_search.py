from __future__ import annotations

from pathlib import Path

import pytest

import bot.answer.question
import index.search
from bot.config import Settings
from bot.service import Footnote
from index.errors import QuestionError
from index.search import (
    MAX_QUESTION_CHARS,
    Hints,
    OutletMatcher,
    _better_ranks,
    clean_question,
    question_clauses,
    read_question,
)
from tests.fakes import FakeEmbedder


def test_hybrid_retrieval_ranks_the_right_article_first(service: Footnote) -> None:
    cases = {
        "How much did the new bridge in Harbor City cost?": "harbor-bridge.md",
        "Why are coffee prices rising?": "coffee-prices.html",
        "Who won the chess championship?": "chess-final.md",
        "How many electric planes did Northwind order?": "wire.json#https://aeroweekly.example/electric-aircraft",
    }
    for question, article_id in cases.items():
        passages = service.search(question, 3)
        assert passages[0].article_id == article_id, question


def test_keyword_side_finds_rare_names(service: Footnote) -> None:
    passages = service.search("Nandakumar", 3)
    assert passages[0].article_id == "chess-final.md"
    assert passages[0].keyword_rank == 1


def test_passages_are_exact_spans_with_metadata(service: Footnote) -> None:
    for passage in service.search("library telescopes astronomy grant", 5):
        article = service.article(passage.article_id)
        assert article.text[passage.start : passage.end] == passage.text
        assert passage.title == article.title and passage.source == article.source
        assert -1.0 <= passage.similarity <= 1.0001


def test_k_limits_results_and_scores_descend(service: Footnote) -> None:
    passages = service.search("city council harbor", 4)
    assert len(passages) == 4
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question(question: str) -> None:
    with pytest.raises(QuestionError, match="empty"):
        clean_question(question)


def test_huge_question() -> None:
    with pytest.raises(QuestionError, match="limited to 1,000 characters; yours has 5,000"):
        clean_question("x" * 5000)
    assert clean_question("  a   b ") == "a b"
    assert len(clean_question("y" * MAX_QUESTION_CHARS)) == MAX_QUESTION_CHARS


def test_the_newest_date_ignores_what_is_no_real_past_date() -> None:
    from index.search import _newest
    from index.store import ArticleRecord

    def article(published: str) -> ArticleRecord:
        return ArticleRecord("a", "a.md", "A", "Herald", "", published, "", "h")

    dates = ["2024-03-14T09:00:00+00:00", "2024-13-45", "2999-01-01", "", "last week"]
    assert _newest([article(d) for d in dates]) == "2024-03-14"
    assert _newest([article("undated")]) == ""


def test_each_outlet_a_question_names_reaches_the_top(tmp_path: Path) -> None:
    """One outlet's reports match the question's words best; the other named outlet's report
    still reaches the top ranks, though the question has no parts of its own."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(3):
        (corpus / f"herald-{n}.md").write_text(
            f"---\ntitle: Ferry fares {n}\nsource: Harbor City Herald\n---\n"
            f"Ferry fares to the valley rose again on route {n}, the ferry board told the "
            "Valley Gazette and the Herald, as ferry fares climbed.\n"
        )
    (corpus / "gazette.md").write_text(
        "---\ntitle: Valley news\nsource: Valley Gazette\n---\n"
        "Commuters said the crossing now costs more than the bus.\n"
    )
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    service = Footnote(settings, embedder=FakeEmbedder())
    service.index()
    question = "What did the Harbor City Herald and the Valley Gazette report about ferry fares?"
    top = service.search(question, 2)
    assert {p.source for p in top} == {"Harbor City Herald", "Valley Gazette"}


def test_a_query_holds_every_clause_and_searches_the_longest_in_question_order() -> None:
    fares = "Did the Harbor City Herald say ferry fares rose on June 5, 2024"
    schools = "while the Valley Gazette says schools across the region closed in the record heat"
    text = f"{fares}, {schools}, and also who paid for the terminal?"
    query = read_question(text, OutletMatcher(["Harbor City Herald", "Valley Gazette"]), parts=2)
    assert query.clauses == (schools, fares, "and also who paid for the terminal")
    assert query.parts == (fares, schools)
    assert query.sources == {"Harbor City Herald", "Valley Gazette"}
    assert query.dates == {"2024-06-05"}
    assert query.part_hints == (
        Hints(frozenset({"Harbor City Herald"}), frozenset({"2024-06-05"})),
        Hints(frozenset({"Valley Gazette"})),
    )
    assert read_question(text, OutletMatcher([]), parts=0).parts == ()


def test_an_ask_reads_the_question_once(service: Footnote, monkeypatch: pytest.MonkeyPatch) -> None:
    """Retrieval and the answer layer share one reading of the question: its clauses, the
    outlets and the dates it names."""
    read: list[str] = []

    def clauses(text: str) -> list[str]:
        read.append(f"clauses: {text}")
        return question_clauses(text)

    def find(self: OutletMatcher, text: str) -> frozenset[str]:
        read.append(f"outlets: {text}")
        return outlets(self, text)

    def dates(text: str) -> frozenset[str]:
        read.append(f"dates: {text}")
        return mentioned_dates(text)

    outlets, mentioned_dates = OutletMatcher.find, index.search.mentioned_dates
    monkeypatch.setattr(index.search, "question_clauses", clauses)
    monkeypatch.setattr(bot.answer.question, "question_clauses", clauses)
    monkeypatch.setattr(OutletMatcher, "find", find)
    monkeypatch.setattr(index.search, "mentioned_dates", dates)
    question = (
        "Does the Harbor City Herald say the bridge cost rose, while the Valley Gazette "
        "reports schools closed in the heatwave?"
    )
    assert len(question_clauses(question)) == 2
    service.ask(question)
    for what in ("clauses", "outlets", "dates"):
        assert read.count(f"{what}: {question}") == 1, what
    assert sum(r.startswith("clauses: ") for r in read) == 1


def test_tied_scores_rank_alike_whichever_order_a_backend_lists_them() -> None:
    """Two backends may list equal scores in any order (and differ below float32's precision);
    the ranks, and so the fused order and the passages the reader reads, must not."""
    files = [(9, 0.9), (5, 0.5), (3, 0.5), (4, 0.5), (1, 0.1)]
    milvus = [(9, 0.9000001), (4, 0.5000004), (5, 0.5), (3, 0.4999998), (1, 0.1)]
    a: dict[int, int] = {}
    b: dict[int, int] = {}
    _better_ranks(a, files)
    _better_ranks(b, milvus)
    assert a == b == {9: 1, 3: 2, 4: 3, 5: 4, 1: 5}
