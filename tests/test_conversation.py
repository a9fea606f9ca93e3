"""Follow-up questions read in the context of the conversation, and where conversations live."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation import ConversationStore, Turn, name_phrases, resolve
from bot.service import Footnote


def turn(question: str, answer: str = "", kind: str = "description") -> Turn:
    return Turn(question=question, read_as=question, answer=answer, kind=kind)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Who heads Taobao and Tmall?", ["Taobao", "Tmall"]),
        ("What did Mayor Elena Ruiz say?", ["Mayor Elena Ruiz"]),
        ("The Bank of England raised rates", ["The Bank of England"]),
        ("When did Alibaba's CEO step down?", ["Alibaba", "CEO"]),
        ("what is happening", []),
    ],
)
def test_name_phrases(text: str, names: list[str]) -> None:
    assert name_phrases(text) == names


def test_a_question_without_history_is_read_as_asked() -> None:
    assert resolve("When did she take over?", []).text == "When did she take over?"


def test_a_person_pronoun_is_the_previous_who_answer() -> None:
    history = [turn("Who heads Taobao and Tmall?", "Trudy Dai", kind="person")]
    assert resolve("When did she take over?", history).text == "When did Trudy Dai take over?"


def test_possessives_take_the_name_with_s() -> None:
    history = [turn("Who won the chess championship?", "Priya Nandakumar", kind="person")]
    assert (
        resolve("What opening did she play in her final game?", history).text
        == "What opening did Priya Nandakumar play in Priya Nandakumar's final game?"
    )


def test_it_is_the_previous_question_topic() -> None:
    history = [turn("What is the news about Northwind Airways?", "twelve aircraft")]
    assert (
        resolve("How many planes did it order?", history).text
        == "How many planes did Northwind Airways order?"
    )


def test_what_about_swaps_the_main_name() -> None:
    history = [turn("Who heads Taobao?", "Trudy Dai", kind="person")]
    assert resolve("What about Tmall?", history).text == "Who heads Tmall?"
    assert resolve("and Tmall?", history).text == "Who heads Tmall?"


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        ("Who heads Taobao and Tmall?", "Who heads Cainiao?"),
        ("Who heads Taobao, Tmall and Ele.me?", "Who heads Cainiao?"),
        ("Who heads Taobao or Tmall today?", "Who heads Cainiao today?"),
        ("What did Taobao & Tmall announce in June?", "What did Cainiao announce in June?"),
    ],
)
def test_what_about_replaces_the_whole_subject(previous: str, expected: str) -> None:
    # Swapping one name of two ("Who heads Cainiao and Tmall?") asks about the wrong unit.
    history = [turn(previous, "Trudy Dai", kind="person")]
    assert resolve("What about Cainiao?", history).text == expected
    assert resolve("And Cainiao?", history).text == expected


def test_what_about_keeps_names_outside_the_subject() -> None:
    history = [turn("What did Alibaba say about Tencent in June?", kind="description")]
    assert (
        resolve("What about Baidu?", history).text == "What did Baidu say about Tencent in June?"
    )


def test_that_noun_is_the_previous_answer_of_that_kind() -> None:
    history = [
        turn("Which airline ordered electric aircraft?", "Northwind Airways", "organisation")
    ]
    assert (
        resolve("When will that airline fly them?", history).text
        == "When will Northwind Airways fly them?"
    )


def test_the_deal_gets_the_previous_names() -> None:
    history = [turn("Did Alibaba buy a stake in Sun Art?", "Yes", kind="yes/no")]
    assert (
        resolve("How much was the deal worth?", history).text
        == "How much was the deal worth? (Alibaba, Sun Art)"
    )


def test_a_new_topic_stays_as_asked() -> None:
    history = [turn("Who heads Taobao?", "Trudy Dai", kind="person")]
    question = "What did Mayor Elena Ruiz open in Harbor City?"
    assert resolve(question, history).text == question


def test_resolution_reaches_retrieval(service: Footnote) -> None:
    first = service.ask("Which teenager won the national chess championship?")
    assert first.found
    history = [Turn.of(first)]
    follow = service.ask("How many moves did her deciding game take?", history=history)
    assert follow.question == "How many moves did her deciding game take?"
    assert "Nandakumar" in follow.read_as
    assert follow.found and "41 moves" in follow.text


def test_conversations_survive_a_restart_and_expire(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    now = [1000.0]
    store = ConversationStore(path, ttl_seconds=60, clock=lambda: now[0])
    store.add("thread:1", turn("Who heads Taobao?", "Trudy Dai", "person"))
    store.add("thread:1", turn("When did she take over?"))
    store.add("thread:2", turn("Other"))
    again = ConversationStore(path, ttl_seconds=60, clock=lambda: now[0])
    assert [t.question for t in again.turns("thread:1")] == [
        "Who heads Taobao?",
        "When did she take over?",
    ]
    now[0] += 61
    assert again.turns("thread:1") == []
    assert again.turns("thread:2") == []


def test_aliases_join_a_conversation(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3", ttl_seconds=60)
    store.add("thread:1", turn("Who heads Taobao?"))
    store.alias("message:99", "thread:1")
    assert store.find("message:99") == "thread:1"
    assert store.find("message:98") is None
    assert [t.question for t in store.turns(store.find("message:99") or "")] == [
        "Who heads Taobao?"
    ]


def test_only_the_last_turns_are_kept(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3", ttl_seconds=60, max_turns=3)
    for i in range(5):
        store.add("k", turn(f"q{i}"))
    assert [t.question for t in store.turns("k")] == ["q2", "q3", "q4"]


def test_without_a_short_answer_the_quote_names_the_person() -> None:
    prev = Turn(
        "Who heads Taobao?",
        "Who heads Taobao?",
        "",
        "person",
        "Taobao's CEO Trudy Dai met Jack Ma on Monday.",
    )
    assert resolve("When did she start?", [prev]).text == "When did CEO Trudy Dai start?"


def test_a_possessive_can_point_inside_the_question() -> None:
    history = [turn("What happened on Tuesday?")]
    assert (
        resolve("What star announced his retirement on it?", history).text
        == "What star announced his retirement on Tuesday?"
    )


def test_a_closing_it_after_a_copula_is_no_reference() -> None:
    history = [turn("What is the latest news about Florida?")]
    assert (
        resolve("A python was caught in it. Which animal was it?", history).text
        == "A python was caught in Florida. Which animal was it?"
    )
