from __future__ import annotations

from pathlib import Path

from bot.answer import NOT_FOUND, Answer
from bot.config import Settings
from bot.service import Footnote
from tests.fakes import FakeEmbedder


def _check_citations(service: Footnote, answer: Answer) -> None:
    short = answer.short
    if short is not None and short.kind == "span":  # the short answer is a span too
        cited = answer.source(short.n)
        assert cited is not None
        article = service.article(cited.article_id)
        where = article.title if short.in_title else article.text
        assert where[short.start : short.end] == short.text
    for source in answer.sources:
        article = service.article(source.article_id)
        assert article.text[source.snippet_start : source.snippet_end] == source.snippet
        assert article.text[source.passage_start : source.passage_end] == source.passage
        assert source.snippet in source.passage
        assert (source.title, source.source, source.url) == (
            article.title,
            article.source,
            article.url,
        )


def test_answer_quotes_the_right_sentence_with_a_citation(service: Footnote) -> None:
    answer = service.ask("How much did the bridge cost?")
    assert answer.found
    assert "1.2 billion dollars" in answer.text
    assert "[1]" in answer.text
    assert answer.short is not None and answer.short.text == "1.2 billion dollars"
    assert answer.text.startswith("1.2 billion dollars [1] (as of 14 March 2024 [1])\n")
    first = answer.source(1)
    assert first is not None and first.url == "https://herald.example/harbor-bridge"
    assert first.date == "2024-03-14"
    _check_citations(service, answer)


def test_every_snippet_is_verbatim_for_many_questions(service: Footnote) -> None:
    questions = [
        "Who is the chief executive of Northwind Airways?",
        "What temperature closed the schools?",
        "How long can you keep a library telescope?",
        "When does the four-day week trial start?",
        "How much did arabica coffee cost per pound?",
        "Which opening did the champion play in the deciding game?",
    ]
    found = 0
    for question in questions:
        answer = service.ask(question)
        _check_citations(service, answer)
        if not answer.found:
            continue
        found += 1
        assert len(answer.claims) == len(answer.sources) >= 1
        assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))
        for claim in answer.claims:
            assert f"{claim.text} [{claim.n}]" in answer.text
            assert answer.source(claim.n).snippet == claim.text  # type: ignore[union-attr]
    # The reader may miss one; the fake embedder's retrieval is crude.
    assert found >= len(questions) - 1


def test_abstains_when_the_articles_do_not_hold_the_answer(service: Footnote) -> None:
    answer = service.ask("What is the airspeed velocity of an unladen swallow?")
    assert not answer.found
    assert answer.text == NOT_FOUND
    assert answer.claims == []
    assert 1 <= len(answer.sources) <= 3  # the nearest sources, shown as such
    _check_citations(service, answer)


def test_answer_round_trips_through_json(service: Footnote) -> None:
    answer = service.ask("What did Mayor Elena Ruiz do?")
    again = Answer.from_dict(answer.to_dict())
    assert again == answer
    assert answer.to_dict()["answer"] == answer.text


def test_abstains_when_the_names_asked_about_appear_nowhere(service: Footnote) -> None:
    # "mayor" matches the bridge article well; "Springfield" is in no article.
    assert service.ask("Who is the mayor of Harbor City?").found
    answer = service.ask("Who is the mayor of Springfield?")
    assert not answer.found and answer.sources


def test_the_newest_indexed_article_dates_the_present(service: Footnote) -> None:
    """The index's newest article is its "now": a question about "this week" is answered only
    from articles of the year before it."""
    retriever = service.retriever
    assert retriever.newest(retriever.snapshot()) == "2024-07-18"
    answer = service.ask("How much did the bridge cost this week?")
    assert answer.found and "1.2 billion dollars" in answer.text  # four months before


def test_a_late_paragraph_naming_the_company_short_answers_with_the_lead_read_too(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    """The question's words match a late paragraph that names the company short; the
    article's first paragraph, not retrieved, is read too (tests/test_answer_layer.py checks
    that the lead is read); the reader answers from the paragraph that says it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    filler = " ".join(
        f"Travel agents in port town {n} said summer bookings were steady." for n in range(8)
    )
    (corpus / "deal.md").write_text(
        "---\ntitle: Airline deal\nsource: Test Wire\npublished: 2024-06-06\n---\n"
        "Gullwing Airways on Thursday agreed to buy Tern Air for 3.8 billion dollars.\n\n"
        f"{filler}\n\n"
        "Gullwing plans to refit the Tern planes with first class seats if the deal closes.\n"
    )
    settings = Settings(
        data_dir=tmp_path / "data",
        corpus_dir=corpus,
        chunk_tokens=40,
        chunk_overlap=0,
        top_k=1,
        min_similarity=0.2,
        min_confidence=0.6,
    )
    service = Footnote(settings, embedder=fake_embedder)
    service.index()
    question = "Which airline plans to refit the Tern planes with first class seats?"
    (best,) = service.search(question, 1)
    assert "Gullwing Airways" not in best.text  # the lead is not what retrieval ranks first
    answer = service.ask(question)
    assert answer.found and answer.short is not None and "Gullwing" in answer.short.text
    _check_citations(service, answer)
