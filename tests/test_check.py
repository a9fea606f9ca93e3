"""Generated sentences: split with their citations, and checked against what they cite."""

from __future__ import annotations

import pytest

from bot.answer.check import Sentence, check, complete_sentences, split_sentences
from tests.fakes import FakeEmbedder

PASSAGES = {
    1: "Harbor City opens new suspension bridge — Harbor City Herald, 2024-03-14\n"
    "Mayor Elena Ruiz cut the ribbon at a ceremony attended by about 3,000 residents. "
    "The bridge cost 1.2 billion dollars and spans 1,400 metres across the bay.",
    2: "Regional airline orders twelve electric aircraft — Aero Weekly\n"
    "Northwind Airways has ordered twelve battery-electric aircraft for its short island "
    "routes, the airline said on Wednesday.",
}


def verdict(text: str, min_similarity: float = 0.3) -> tuple[bool, str]:
    (sentence,) = split_sentences(text)
    result = check(sentence, PASSAGES, FakeEmbedder(), min_similarity)
    return result.ok, result.reason


def test_sentences_keep_their_citations_wherever_they_stand() -> None:
    text = (
        "The bridge cost 1.2 billion dollars [1]. Northwind Airways ordered twelve [2][1]. "
        "It spans 1,400 metres. [1] No source here."
    )
    assert split_sentences(text) == [
        Sentence("The bridge cost 1.2 billion dollars.", (1,)),
        Sentence("Northwind Airways ordered twelve.", (2, 1)),
        Sentence("It spans 1,400 metres.", (1,)),
        Sentence("No source here.", ()),
    ]


def test_a_streamed_sentence_is_complete_once_the_next_begins() -> None:
    done, rest = complete_sentences("The bridge cost 1.2 billion dollars. [1")
    assert done == [] and rest == "The bridge cost 1.2 billion dollars. [1"
    done, rest = complete_sentences("The bridge cost 1.2 billion dollars. [1] It sp")
    assert done == [Sentence("The bridge cost 1.2 billion dollars.", (1,))]
    assert rest == " It sp"


def test_a_supported_sentence_passes() -> None:
    assert verdict("Mayor Elena Ruiz opened the bridge, which cost 1.2 billion dollars [1].")[0]
    assert verdict("Northwind Airways ordered 12 battery-electric aircraft on Wednesday [2].")[0]
    assert verdict("About 3000 residents attended the ceremony with Mayor Ruiz [1].")[0]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The bridge cost 1.2 billion dollars.", "cites no passage"),
        ("The bridge cost 1.2 billion dollars [3].", "cites [3]"),
        ("Mayor John Smith opened the bridge [1].", "'John'"),
        ("The bridge cost 1.5 billion dollars [1].", "'1.5'"),
        ("The bridge cost 1.2 million dollars [1].", "'million'"),
        ("Mayor Elena Ruiz opened the bridge on Friday [1].", "'Friday'"),
        ("Northwind Airways ordered thirteen aircraft [2].", "'13'"),
        ("The bridge opened in 2019 [1].", "'2019'"),
        # Names of one passage do not back a sentence that cites another.
        ("Northwind Airways built the bridge [1].", "'Northwind'"),
    ],
)
def test_invented_or_uncited_facts_fail(text: str, reason: str) -> None:
    ok, why = verdict(text)
    assert not ok and reason in why


def test_a_sentence_about_something_else_fails_on_meaning() -> None:
    ok, why = verdict("Residents were delighted by the weather and the music [1].", 0.5)
    assert not ok and "do not" in why
