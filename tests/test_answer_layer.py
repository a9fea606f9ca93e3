"""The answer layer on hand-made passages: question analysis, evidence, the reader's short
answer, quotes, yes/no, multi-part questions and abstention. Every shown text is checked to be
a verbatim span of its article.

Most tests read with FakeRead, a deterministic stand-in for the trained reader, so that they
test what compose.py does with a reading; a few read with the real shipped reader."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pytest

from bot.answer import Answer, AnswerSettings, compose_answer, when
from bot.answer.evidence import gather
from bot.answer.question import (
    Kind,
    agreeing_option,
    analyse,
    cited_outlets,
    name_phrases,
    part_questions,
    words_of,
)
from bot.answer.read import Read, Reading, passage_reader
from bot.reader.model import Reader
from index.search import OutletMatcher, Passage, read_question
from index.sentences import segments
from tests.fakes import FakeEmbedder

# The fake embedder's cosines run lower than a real model's.
LOOSE = AnswerSettings(min_similarity=0.1, min_confidence=0.5, min_part_coverage=0.3)


def passage(
    text: str,
    *,
    chunk_id: int = 1,
    title: str = "Untitled",
    source: str = "Harbor City Herald",
    published: str = "2024-03-14",
    offset: int = 0,
) -> Passage:
    """A passage that is text[offset:] of an article whose text is ('x' * offset) + text."""
    return Passage(
        chunk_id=chunk_id,
        article_id=f"article-{chunk_id}",
        title=title,
        source=source,
        url=f"https://example.test/{chunk_id}",
        published=published,
        text=text,
        start=offset,
        end=offset + len(text),
        score=1.0,
        similarity=0.5,
        dense_rank=1,
        keyword_rank=1,
    )


def article_texts(passages: list[Passage]) -> dict[str, str]:
    """Each article's text: its passages at their offsets, 'x' between them."""
    chars: dict[str, list[str]] = {}
    for p in passages:
        text = chars.setdefault(p.article_id, [])
        text.extend("x" * (p.end - len(text)))
        text[p.start : p.end] = p.text
    return {article: "".join(text) for article, text in chars.items()}


@dataclass
class FakeRead:
    """A reader that knows one answer: each passage holding answer verbatim gives it, with these
    scores; passages without it give no reading at all. Records what it was asked."""

    answer: str = ""
    score: float = 6.0
    no_answer: float = 1.0
    asked: list[tuple[str, list[Passage]]] = field(default_factory=list)

    def __call__(self, question: str, passages: list[Passage]) -> list[Reading]:
        self.asked.append((question, list(passages)))
        out = []
        for p in passages:
            at = p.text.find(self.answer) if self.answer else -1
            if at >= 0:
                start = p.start + at
                end = start + len(self.answer)
                out.append(Reading(p, start, end, self.answer, self.score, self.no_answer))
        return out


def ask(
    question: str,
    passages: list[Passage],
    reader: Read | None = None,
    settings: AnswerSettings = LOOSE,
    **options: Any,
) -> Answer:
    """compose_answer with the fake embedder, checking that every shown text is verbatim."""
    leads: list[Passage] = []
    lead_of = options.get("article_lead")
    if lead_of is not None:

        def article_lead(article_id: str) -> Passage | None:
            lead = lead_of(article_id)
            leads.extend([lead] if lead is not None else [])
            return lead

        options["article_lead"] = article_lead
    query = read_question(question, options.get("outlets") or OutletMatcher(()))
    answer = compose_answer(
        query, passages, FakeEmbedder(), reader or FakeRead(), settings, **options
    )
    texts = article_texts([*passages, *leads])
    titles = {p.article_id: p.title for p in passages}
    for s in answer.sources:  # every quote is a verbatim span of its article
        assert texts[s.article_id][s.snippet_start : s.snippet_end] == s.snippet
    short = answer.short
    if short is not None and short.kind == "span":  # and so is the short answer
        cited = answer.source(short.n)
        assert cited is not None
        where = titles[cited.article_id] if short.in_title else texts[cited.article_id]
        assert where[short.start : short.end] == short.text
        # The first quote is the sentence that holds it.
        assert short.n == answer.sources[0].n
        assert cited.snippet_start <= short.start < short.end <= cited.snippet_end
    return answer


# ---------------------------------------------------------------------------------------------
# Reading the question


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who runs the harbor authority?", Kind.PERSON),
        ("Which country hosted the summit?", Kind.PLACE),
        ("Which company bought the airline?", Kind.ORGANISATION),
        ("How much did the bridge cost?", Kind.MONEY),
        ("How many people attended?", Kind.NUMBER),
        ("What percentage of voters approved?", Kind.PERCENT),
        ("When does the trial start?", Kind.DATE),
        ("In what year did the museum open?", Kind.DATE),
        ("Where did the storm make landfall?", Kind.PLACE),
        ("Which show was renewed for a second season?", Kind.NAME),
        ("Why did the council close the schools?", Kind.DESCRIPTION),
        ("Did the Herald report the bridge opening?", Kind.YES_NO),
        ("After the report by the Herald on March 3, was the bridge open?", Kind.YES_NO),
        # The head noun ends at a preposition or determiner: not "years" or "week".
        ("The fossil may come from which mammal over 900 years ago?", Kind.NAME),
        ("The mayor toured which district this week, angering the council?", Kind.PLACE),
        ("Which head of state resigned on Monday?", Kind.PERSON),
        ("He starred in which iconic TV series?", Kind.NAME),
        ("What was the magnitude of the earthquake?", Kind.NUMBER),
        ("What was the highest average price for a litre of milk in May?", Kind.MONEY),
        ("How soon could the new ferry be running?", Kind.DATE),
        # The question is the sentence that asks; a relative "who" or "what" is no question.
        (
            "Police detained a man who had planned a protest at the fair. Where was the fair?",
            Kind.PLACE,
        ),
        (
            "Millions saw their records exposed in what may be the largest leak ever. Where did "
            "the leak happen?",
            Kind.PLACE,
        ),
        (
            "The army said it had captured the rebel commander, who led which militia?",
            Kind.ORGANISATION,
        ),
        ("The novelist, who died this week, was best known for which book?", Kind.NAME),
        # "What is her name?" asks for a person, not any name.
        ("A critic of the mayor lost her seat this week. What is her name?", Kind.PERSON),
        # Found on fresh questions: people named by their job or party; a code name is a name.
        ("Which Time editor interviewed the singer?", Kind.PERSON),
        ("Which House Republican did the party nominate after the vote?", Kind.PERSON),
        ("What is the codename of the new chip?", Kind.NAME),
        ("Which former Harbor City Gulls wide receiver retired this week?", Kind.PERSON),
        ("When the harbor flooded in 2013, who was the mayor of Gull Bay?", Kind.PERSON),
        ("When the harbor flooded, which bridge closed?", Kind.NAME),
        ("When did the harbor flood, and where?", Kind.DATE),
        ("When did the harbor flood, which closed the bridge?", Kind.DATE),
        # A scene-setting sentence's relative "which" asks nothing.
        (
            "Scientists fed cavefish, which avoid each other, a new diet. Did the fish become "
            "more social?",
            Kind.YES_NO,
        ),
        # "Which figure" asks for a number, unless it is a public one.
        ("Harbor debt passed which massive figure this week?", Kind.NUMBER),
        ("Which political figure opened the harbor museum?", Kind.PERSON),
    ],
)
def test_the_kind_of_answer_asked_for(question: str, kind: Kind) -> None:
    assert analyse(question).kind is kind


def test_a_possessive_before_the_head_noun_keeps_its_kind() -> None:
    q = analyse("The harbor pilot retired on Friday. What was her date of birth?")
    assert q.kind is Kind.DATE and q.focus == "date"
    assert analyse("What was his role in the harbor film?").focus == "role"
    assert analyse("What is her name?").kind is Kind.PERSON


_YES_NO_TWO_PARTS = (
    "Does the Coast Courier article say the bridge reopened in 2023, while the Valley "
    "Times article reports that the museum opened its doors to visitors?"
)


def test_constraints_and_parts_of_a_question() -> None:
    q = analyse(_YES_NO_TWO_PARTS)
    assert q.kind is Kind.YES_NO
    assert q.years == {"2023"}
    assert len(q.parts) == 2
    assert {"coast", "courier", "valley", "time"} <= q.names
    assert not q.asks_difference
    assert not analyse("Between the two reports, was the bridge's cost given?").asks_difference
    assert analyse("Was there a change in the bridge's cost between the reports?").asks_difference


def test_name_phrases_of_a_question() -> None:
    assert name_phrases("Which golfer will miss this year's US Masters?") == ["US Masters"]
    assert name_phrases(
        "Rockets flew outside the US. Where did Smith, Jones and Dr. Lee Park go?"
    ) == [
        "US",
        "Where",
        "Smith",
        "Jones",
        "Dr Lee Park",
    ]
    assert name_phrases("Did the U.S. Senate vote in 2022 with three days left?") == [
        "U.S Senate",
        "2022",
        "three",
    ]


def test_edge_cases_of_the_question_readers() -> None:
    # A question naming its year is not about the present, whatever day it names.
    assert not analyse("Who won the election on Tuesday, November 3, 2020?").current
    assert analyse("Who won the harbor race this week?").current
    # The verb is the agreeing option, not a noun that happens to be a match.
    q = analyse(
        "Did the Herald and the Times agree on the date of the match, or did they disagree?"
    )
    assert agreeing_option(q.options) == "agree"
    # The sections of one outlet are one outlet.
    sections = OutletMatcher(["The Independent - Sports", "The Independent - Life and Style"])
    assert sections.distinct(sections.find("Did The Independent report the final?")) == 1
    # A pick among options the question does not give, by what is absent.
    assert analyse("Which of these buildings did the council not reopen?").negated_choice
    assert not analyse("Which building did the council not reopen?").negated_choice


# ---------------------------------------------------------------------------------------------
# Sentences that are evidence


def test_labels_are_joined_and_headings_questions_bylines_are_no_evidence() -> None:
    text = (
        "Harbor Bridge Opens\nBy Ana Ruiz\nThe festival's artistic\nDirector.\n"
        "Jane Smith said the bridge would open. Why did it take so long?\n"
        "Work stopped in 2020 because of the U.S. rules."
    )
    found = [(text[s.start : s.end], s.statement) for s in segments(text)]
    assert ("Harbor Bridge Opens", False) in found
    assert ("By Ana Ruiz", False) in found
    assert ("Why did it take so long?", False) in found
    assert ("Director.\nJane Smith said the bridge would open.", True) in found
    assert ("Work stopped in 2020 because of the U.S. rules.", True) in found
    assert [e.text for e in gather([passage(text)])] == [
        "Director.\nJane Smith said the bridge would open.",
        "Work stopped in 2020 because of the U.S. rules.",
    ]


def test_headings_and_questions_are_never_quoted() -> None:
    p = passage(
        "Who paid for the bridge?\nWho paid for the bridge\n"
        "The port authority paid for the bridge with a bond issue, officials said."
    )
    question = "Who paid for the bridge?"
    answer = ask(question, [p], FakeRead("The port authority"))
    assert answer.found
    assert all("?" not in c.text and "bridge\n" not in c.text for c in answer.claims)
    assert answer.claims[0].text.startswith("The port authority paid")
    # Nor are they the nearest sentence shown when nothing answers.
    missing = ask(question, [p], FakeRead())
    assert not missing.found
    assert [s.snippet for s in missing.sources] == [
        "The port authority paid for the bridge with a bond issue, officials said."
    ]


# ---------------------------------------------------------------------------------------------
# The reader's short answer


def test_the_short_answer_comes_first_and_is_a_span_of_the_article() -> None:
    p = passage(
        "The harbor bridge opened on Monday. It cost $1.2 billion to build, officials said.",
        offset=40,
    )
    answer = ask("How much did the harbor bridge cost?", [p], FakeRead("$1.2 billion", 6.25, 1.5))
    assert answer.found and answer.short is not None
    assert answer.short.text == "$1.2 billion"
    assert answer.short.kind == "span" and answer.short.n == 1
    assert answer.short.start == 40 + p.text.index("$1.2 billion")
    assert answer.text.startswith("$1.2 billion [1] (as of 14 March 2024 [1])\n")
    short = answer.to_dict()["short_answer"]
    assert short["start"] == answer.short.start and short["end"] == answer.short.end
    assert short["score"] == 6.25 and short["no_answer"] == 1.5
    assert Answer.from_dict(answer.to_dict()) == answer


def test_the_reader_must_be_surer_of_its_span_than_of_no_answer() -> None:
    """The bar is the span's score over the no-answer score: at or below min_margin it is not
    found (the nearest sentence still shown), above it the span is the bold answer."""
    p = passage("The harbor bridge cost $1.2 billion to build, officials said on Monday.")
    question = "How much did the harbor bridge cost?"
    bar = AnswerSettings().min_margin
    even = ask(question, [p], FakeRead("$1.2 billion", score=2.0 + bar, no_answer=2.0))
    assert not even.found and even.short is None
    assert even.sources and even.sources[0].snippet.startswith("The harbor bridge cost")
    over = ask(question, [p], FakeRead("$1.2 billion", score=2.5 + bar, no_answer=2.0))
    assert over.found and over.short is not None and over.short.text == "$1.2 billion"
    stricter = replace(LOOSE, min_margin=1.0)
    assert not ask(question, [p], FakeRead("$1.2 billion", 2.5, 2.0), stricter).found
    assert ask(question, [p], FakeRead("$1.2 billion", 3.5, 2.0), stricter).found
    # No reading at all is no answer either.
    assert not ask(question, [p], FakeRead("$3 billion")).found


def test_the_first_quote_is_the_sentence_holding_the_span() -> None:
    p = passage(
        "The harbor bridge opened to traffic on Monday after five years of work. "
        "Architect Ivo Brandt designed its twin towers, the council said. "
        "The ferry service across the bay will end in May.",
        offset=12,
    )
    answer = ask("Who designed the harbor bridge?", [p], FakeRead("Ivo Brandt"))
    assert answer.found and answer.short is not None
    assert (
        answer.claims[0].text == "Architect Ivo Brandt designed its twin towers, the council said."
    )
    assert answer.text.startswith(
        "Ivo Brandt [1] (as of 14 March 2024 [1])\nArchitect Ivo Brandt designed"
    )


def test_a_span_the_segmenter_cuts_is_quoted_through_its_end() -> None:
    """The segmenter may end a sentence inside the span ("Yahoo! Inc."): the quote runs on to
    the span's end, so it holds the whole short answer."""
    p = passage("The harbor pilot Ada Lowe now works at Yahoo! Inc. in the valley, she said.")
    answer = ask("Which company does the harbor pilot work for?", [p], FakeRead("Yahoo! Inc"))
    assert answer.short is not None and answer.short.text == "Yahoo! Inc"
    assert answer.claims[0].text == "The harbor pilot Ada Lowe now works at Yahoo! Inc"


def test_a_span_in_a_heading_line_is_quoted_with_its_line() -> None:
    """Headings are never evidence, but the reader may find the answer in one: its line is the
    quote, verbatim."""
    final = passage(
        "Harbor City Gulls win the 2024 Coastal Cup\n"
        "Fans filled the streets on Sunday after the 2024 Coastal Cup final ended 2-1 in "
        "overtime, a first title in forty years.",
        title="Coastal Cup final",
        offset=30,
    )
    answer = ask(
        "Which team won the 2024 Coastal Cup final?", [final], FakeRead("Harbor City Gulls")
    )
    assert answer.found and answer.short is not None
    assert answer.short.text == "Harbor City Gulls"
    assert answer.claims[0].text == "Harbor City Gulls win the 2024 Coastal Cup"
    assert answer.sources[0].snippet_start == 30


def test_the_reader_reads_the_best_passages_and_not_yes_no_questions() -> None:
    passages = [
        passage(f"Ferry line {n} carried {n} thousand riders to the harbor.", chunk_id=n)
        for n in range(1, 9)
    ]
    reader = FakeRead("7 thousand riders")
    answer = ask("How many riders did ferry line 7 carry?", passages, reader)
    assert [p.chunk_id for p in reader.asked[0][1]] == [1, 2, 3, 4, 5, 6]
    assert reader.asked[0][0] == "How many riders did ferry line 7 carry?"
    assert not answer.found  # read_passages leaves the seventh unread
    wider = ask(
        "How many riders did ferry line 7 carry?", passages, reader, replace(LOOSE, read_passages=8)
    )
    assert wider.short is not None and wider.short.text == "7 thousand riders"
    yes_no = FakeRead("riders")
    assert ask("Did ferry line 7 carry riders to the harbor?", passages, yes_no).found
    assert yes_no.asked == []


# ---------------------------------------------------------------------------------------------
# Quotes


def test_a_quote_that_says_he_brings_the_sentence_before() -> None:
    text = (
        "Mayor Elena Ruiz opened the harbor bridge on Monday. "
        "He said it cost 1.2 billion dollars and spans the whole bay."
    )
    answer = ask(
        "How much did the harbor bridge cost, according to the mayor?",
        [passage(text)],
        FakeRead("1.2 billion dollars"),
    )
    assert answer.found
    first = answer.sources[0]
    assert first.snippet.startswith("Mayor Elena Ruiz opened")
    assert first.snippet.endswith("spans the whole bay.")


def test_a_quote_naming_its_subject_only_by_reference_brings_the_headline() -> None:
    """With no sentence before it in the passage, a quote that says "the show" or "It" is
    shown after its article's headline, which names what it is about."""
    show = passage(
        "The streaming service said on Sunday that the hit Korean show will return for a "
        "second season next year.",
        title="'Tide Line' renewed for season 2",
    )
    question = "Which hit show will return for a second season?"
    answer = ask(question, [show], FakeRead("the hit Korean show"))
    assert answer.found and answer.claims[0].headline == "'Tide Line' renewed for season 2"
    assert "'Tide Line' renewed for season 2 — The streaming service said" in answer.text
    assert Answer.from_dict(answer.to_dict()) == answer
    it = passage("It opened to traffic on Thursday after five years of work.", title="Bay bridge")
    answer = ask("When did the bay bridge open to traffic?", [it], FakeRead("Thursday"))
    assert answer.claims[0].headline == "Bay bridge"
    # "the field of species" refers to no species.
    revive = FakeRead("species revival")
    question = "Which extinct species does the lab hope to revive?"
    field = passage(
        "Its founders hope to advance the field of species revival, the company said.",
        title="Founders of a lab",
    )
    assert ask(question, [field], revive).claims[0].headline == "Founders of a lab"  # "Its"
    field = passage(
        "The lab hopes to advance the field of species revival, the company said.",
        title="A lab and its founders",
    )
    assert ask(question, [field], revive).claims[0].headline == ""
    # A quote that names its subject gets no headline.
    named = passage("The Bay bridge opened to traffic on Thursday.", title="Bay bridge opens")
    answer = ask("When did the bay bridge open to traffic?", [named], FakeRead("Thursday"))
    assert answer.claims[0].headline == ""
    # Up to four words may stand between "the" and the thing asked about.
    show = passage(
        "The streaming service said on Sunday that the wildly popular South Korean show will "
        "return for a second season next year.",
        title="'Tide Line' renewed for season 2",
    )
    question = "Which wildly popular show will return for a second season?"
    answer = ask(question, [show], FakeRead("South Korean show"))
    assert answer.claims[0].headline == "'Tide Line' renewed for season 2"


def test_a_quote_calling_the_thing_asked_about_the_product_brings_the_sentence_before() -> None:
    """'the product' in the middle of a quote refers to what the sentence before names: that
    sentence is quoted with it, as for a quote opening with "He"."""
    text = (
        "Parents still find empty shelves where baby formula once stood in Harbor City. "
        "Despite dozens of flights loaded with supplies, stores say the product has not been "
        "replenished because of a nationwide shortage."
    )
    answer = ask(
        "Which product remains hard to find in stores due to a nationwide shortage?",
        [passage(text)],
        FakeRead("the product"),
    )
    assert answer.found
    assert answer.sources[0].snippet.startswith("Parents still find empty shelves")
    assert "baby formula" in answer.text


def test_a_quote_restating_a_chosen_one_makes_room_for_another_fact() -> None:
    """Two reports of the same figures are one fact: one of them is quoted, beside the reason."""
    first = passage(
        "Gullwing and Tern recalled 24,030 Gullwing Swift vans and 3,417 Tern Vega vans of "
        "model year 2021, the regulator said.",
        chunk_id=1,
        title="Van recall",
    )
    again = passage(
        "Gullwing and Tern recalled 24,030 Gullwing Swift and 3,417 Tern Vega vans, it added.",
        chunk_id=2,
        title="Vans recalled",
        source="Valley Gazette",
    )
    reason = passage(
        "Owners should park the vans outside over fire risks, the agency said.",
        chunk_id=3,
        title="Park recalled vans outside",
        source="Coast Courier",
    )
    question = "Why were some Gullwing and Tern vans recalled?"
    settings = replace(LOOSE, max_claims=3, max_gap=1.0)
    answer = ask(question, [first, again, reason], FakeRead("fire risks"), settings)
    texts = [c.text for c in answer.claims]
    assert answer.found and "fire risks" in texts[0]
    assert sum("24,030" in t for t in texts) == 1


def test_the_best_article_that_may_answer_brings_its_lead() -> None:
    """The best passage is a report two years old, stale for "this week"; the next article's
    lead, not retrieved, names the winner in full, and the reader reads it."""
    old = passage(
        "Rower Ada Lowe won the harbor race on Sunday.", chunk_id=1, published="2022-03-01"
    )
    later = passage(
        "Lowe crossed the line first in the harbor race on Sunday, ahead of the favourite.",
        chunk_id=2,
        offset=200,
    )
    lead = replace(
        passage("Rower Mia Lowe won the harbor race this week, her first title.", chunk_id=3),
        article_id=later.article_id,
    )
    asked: list[str] = []

    def article_lead(article_id: str) -> Passage | None:
        asked.append(article_id)
        return lead if article_id == later.article_id else None

    reader = FakeRead("Mia Lowe")
    answer = ask(
        "Who won the harbor race this week?",
        [old, later],
        reader,
        newest="2024-03-14",
        article_lead=article_lead,
    )
    assert asked == [later.article_id]
    assert [p.chunk_id for p in reader.asked[0][1]] == [2, 3]  # not the stale one
    assert answer.found and "Mia Lowe" in answer.text and "Ada" not in answer.text


# ---------------------------------------------------------------------------------------------
# Saying so: whatever the reader reads, these are not answered


def test_a_year_the_evidence_contradicts_is_no_answer() -> None:
    """A sentence naming another year, or none in an article published before the year asked,
    is no evidence for it (years are common words here: the names rule says nothing)."""

    def weigh(word: str) -> float:
        return 0.1 if word.isdigit() else 3.0

    reader = FakeRead("The Harbor Hawks")
    for text in (
        "The Harbor Hawks won the 2021 regional cup final, beating the Gulls 3-1.",
        "The Harbor Hawks won the regional cup final, beating the Gulls 3-1.",
    ):
        p = passage(text, published="2021-06-01")
        assert ask("Which team won the 2021 regional cup final?", [p], reader, weigh=weigh).found
        answer = ask("Which team won the 2023 regional cup final?", [p], reader, weigh=weigh)
        assert not answer.found
        assert answer.sources  # the nearest source is still shown, as such


def test_a_name_the_articles_never_mention_is_no_answer() -> None:
    p = passage("The harbor bridge cost 1.2 billion dollars, Mayor Elena Ruiz said.")
    reader = FakeRead("1.2 billion dollars")
    assert ask("How much did the harbor bridge cost?", [p], reader).found
    assert not ask("How much did the Springfield tunnel cost?", [p], reader).found


def test_a_name_most_articles_hold_counts_only_as_part_of_its_phrase() -> None:
    """'US' in American news says nothing; 'US Masters' does. A question about the US Masters
    over passages that never name it is not answered, while one whose only name is 'US' is."""
    corpus = [f"The US economy grew in quarter {i}, officials said." for i in range(8)]
    golf = passage(
        "Golfer Alan Birch said on Monday that he will miss the Open Championship in July "
        "because of a wrist injury.",
        chunk_id=1,
    )
    flood = passage(
        "Severe flooding washed out roads and bridges in Pine Ridge National Park on Monday, "
        "officials said.",
        chunk_id=2,
    )
    corpus += [golf.text, flood.text]
    held = [words_of(text) for text in corpus]

    def weigh(word: str) -> float:  # inverse document frequency, as the index gives it
        return math.log((len(held) + 1) / (sum(word in h for h in held) + 0.5))

    golfer = FakeRead("Alan Birch")
    question = "Which golfer will miss this year's US Masters?"
    assert not ask(question, [golf], golfer, weigh=weigh).found
    park = FakeRead("Pine Ridge National Park")
    question = "Which US national park was hit by flooding that washed out roads?"
    found = ask(question, [flood], park, weigh=weigh)
    assert found.found and found.short is not None
    assert found.short.text == "Pine Ridge National Park"


def test_a_common_word_phrase_is_found_next_to_punctuation() -> None:
    corpus = [f"The US market stayed open in quarter {i}, officials said." for i in range(8)]
    winner = passage("Ada Lowe won the US Open, beating the favourite in three sets.")
    corpus.append(winner.text)
    held = [words_of(text) for text in corpus]

    def weigh(word: str) -> float:
        return math.log((len(held) + 1) / (sum(word in h for h in held) + 0.5))

    answer = ask("Who won the US Open?", [winner], FakeRead("Ada Lowe"), weigh=weigh)
    assert answer.found and "Ada Lowe" in answer.text


def test_a_pick_by_absence_among_options_not_given_is_no_answer() -> None:
    p = passage("The council reopened the harbor bridge, the library and the museum on Monday.")
    reader = FakeRead("the library")
    assert ask("Which building did the council reopen on Monday?", [p], reader).found
    question = "Which of these buildings did the council not reopen on Monday?"
    assert not ask(question, [p], reader).found


def test_a_report_of_an_outlet_that_is_not_indexed_is_not_answered() -> None:
    p = passage("The harbor bridge cost 1.2 billion dollars, officials said.")
    known = OutletMatcher(["Harbor City Herald", "The Independent - Life and Style"])
    question = "How much did the harbor bridge cost, according to a {} report?"
    reader = FakeRead("1.2 billion dollars")
    indexed = ask(question.format("Harbor City Herald"), [p], reader, outlets=known)
    assert indexed.found
    answer = ask(question.format("Bloomberg"), [p], reader, outlets=known)
    assert not answer.found
    assert answer.missing == ["Bloomberg reports (none are indexed)"]
    # A name cut short at "and" is still the indexed outlet.
    assert known.knows("Independent - Life") and not known.knows("Bloomberg")
    # A quoted title before "article" is no outlet; a quoted outlet is one.
    assert cited_outlets("Did the 'Best Bridges of the Year' article praise it?") == []
    assert cited_outlets("Did the 'Valley Times' article praise it?") == ["Valley Times"]


def test_a_question_about_the_present_is_not_answered_from_old_articles() -> None:
    """Asked who won "this week", a report from years before the newest indexed article is
    another year's race, not the answer."""
    old = passage(
        "Rower Ada Lowe won the harbor race on Sunday, beating the favourite by two lengths.",
        published="2019-06-02",
    )
    reader = FakeRead("Ada Lowe")

    def answer(question: str, newest: str) -> Answer:
        return ask(question, [old], reader, newest=newest)

    question = "Who won the harbor race this week?"
    stale = answer(question, "2024-03-14")
    assert not stale.found and stale.sources  # the nearest sources are still shown
    recent = answer(question, "2019-06-05")
    assert recent.found and recent.short is not None and recent.short.text == "Ada Lowe"
    # Half a year on, "this week" is another season's race; four months on it may be news.
    assert not answer(question, "2020-01-03").found
    assert answer(question, "2019-10-02").found
    # Without "this week" the year-old report may answer.
    assert answer("Who won the harbor race?", "2024-03-14").found


def test_a_part_with_no_evidence_is_named() -> None:
    courier = passage(
        "The harbor bridge reopened on Monday after repairs to its cables.",
        chunk_id=1,
        source="Coast Courier",
    )
    answer = ask(
        "Does the Coast Courier article say the harbor bridge reopened after repairs, while the "
        "Valley Times article reports that the lighthouse museum welcomed visitors?",
        [courier],
    )
    assert not answer.found
    assert answer.missing and "Valley Times" in answer.missing[0]
    assert "Nothing found on:" in answer.text


def test_a_question_most_of_whose_parts_have_no_evidence_is_not_answered() -> None:
    """Whatever the reader makes of them, passages bearing on one part of three do not answer
    the question; they name the parts nothing was found on."""
    question = (
        "Which harbor festival drew record crowds, which band headlined the closing night, and "
        "which sponsor paid for the fireworks?"
    )
    crowds = passage("The Gull Bay festival drew record crowds on Saturday, organisers said.")
    reader = FakeRead("Gull Bay festival")
    answer = ask(question, [crowds], reader)
    assert not answer.found
    assert len(answer.missing) == 2
    assert any("band" in part for part in answer.missing)
    assert any("sponsor" in part for part in answer.missing)
    band = passage(
        "The band Tide Line headlined the closing night of the harbor festival.", chunk_id=2
    )
    assert ask(question, [crowds, band], reader).found


def test_each_part_of_a_multi_part_question_is_asked_on_its_own() -> None:
    q = analyse(
        "Who is the harbor master that the Coast Courier says reopened the bridge after "
        "repairs, and who is praised by the Valley Times for rescuing two sailors in March?"
    )
    assert part_questions(q) == [
        "Who is the harbor master that the Coast Courier says reopened the bridge after repairs?",
        "Who is praised by the Valley Times for rescuing two sailors in March?",
    ]
    # Clauses that set the scene before the asking phrase are not parts of what it asks.
    scene = analyse(
        "After the storm closed the port for a week, which company will build the new ferry "
        "terminal on the north shore?"
    )
    assert len(scene.parts) == 2 and part_questions(scene) == []
    # A question for an amount, a date or a place is not described by its clauses: this one
    # is about the deal.
    amount = analyse(
        "How much will the Coast Courier pay each year under the harbor's new ferry deal, which "
        "puts crossings on the north shore every hour?"
    )
    assert len(amount.parts) == 2 and part_questions(amount) == []
    # Nor are a yes/no question's claims, or a simple question's words.
    assert part_questions(analyse(_YES_NO_TWO_PARTS)) == []
    assert part_questions(analyse("Who reopened the harbor bridge?")) == []


@dataclass
class PartRead:
    """A reader that finds answer only when asked exactly the question it answers."""

    question: str
    answer: str
    asked: list[str] = field(default_factory=list)
    read: dict[str, list[int]] = field(default_factory=dict)  # question -> chunk ids read

    def __call__(self, question: str, passages: list[Passage]) -> list[Reading]:
        self.asked.append(question)
        self.read[question] = [p.chunk_id for p in passages]
        out = []
        for p in passages:
            at = p.text.find(self.answer)
            score = 6.0 if question == self.question else -3.0
            if at >= 0:
                start = p.start + at
                out.append(Reading(p, start, start + len(self.answer), self.answer, score, 1.0))
        return out


def test_a_part_the_reader_answers_answers_the_multi_part_question() -> None:
    """No span clears the bar for the whole question; asked on its own, the part a report
    states is answered, and the answer shows that report."""
    question = (
        "Who is the harbor master that the Coast Courier says reopened the bridge after "
        "repairs, and who is praised by the Valley Times for rescuing two sailors in March?"
    )
    reports = [
        passage(
            "Harbor master Ada Lowe reopened the bridge on Monday after repairs to its cables.",
            chunk_id=1,
            source="Coast Courier",
        ),
        passage(
            "Ada Lowe was praised for rescuing two sailors from the bay in March.",
            chunk_id=2,
            source="Valley Times",
        ),
    ]
    others = [
        passage(f"The Valley Times said ferry {n} sailed on time in March.", chunk_id=n)
        for n in range(3, 6)
    ]
    part = "Who is praised by the Valley Times for rescuing two sailors in March?"
    reader = PartRead(part, "Ada Lowe")
    answer = ask(question, [*reports, *others], reader)
    assert reader.asked[0] == question and part in reader.asked
    # The whole question reads every passage; a part, the two holding most of its words.
    assert reader.read[question] == [1, 2, 3, 4, 5]
    assert len(reader.read[part]) == 2 and 2 in reader.read[part]
    assert answer.found and answer.short is not None and answer.short.text == "Ada Lowe"
    assert answer.evidence["margin"] == 5.0
    # The whole question answered clears the bar: its parts are not asked.
    whole = PartRead(question, "Ada Lowe")
    assert ask(question, reports, whole).found and whole.asked == [question]
    # Nothing any part asks is in the reports: not found.
    none = PartRead(part, "Tide Line")
    assert not ask(question, reports, none).found


# ---------------------------------------------------------------------------------------------
# Yes / no: answered from the evidence for each part, never read


def _two_reports() -> list[Passage]:
    return [
        passage(
            "The harbor bridge reopened on Monday after repairs to its cables.",
            chunk_id=1,
            source="Coast Courier",
            published="2023-10-02",
        ),
        passage(
            "The lighthouse museum opened its doors to visitors on Tuesday.",
            chunk_id=2,
            source="Valley Times",
            published="2023-10-05",
        ),
    ]


def test_yes_when_every_part_has_evidence_with_the_reasoning_shown() -> None:
    reader = FakeRead("harbor bridge")
    answer = ask(
        "Does the Coast Courier article say the harbor bridge reopened after repairs, while the "
        "Valley Times article reports that the lighthouse museum opened its doors to visitors?",
        _two_reports(),
        reader,
    )
    assert answer.found and answer.short is not None
    assert answer.short.text == "Yes" and answer.short.kind == "yes/no"
    assert "Coast Courier (2023-10-02) [" in answer.short.reasoning
    assert "Valley Times (2023-10-05) [" in answer.short.reasoning
    assert {s.source for s in answer.sources} == {"Coast Courier", "Valley Times"}
    assert reader.asked == []  # yes/no questions are not read


def test_the_order_of_reports_comes_from_their_dates() -> None:
    before = ask(
        "Did the Coast Courier report that the harbor bridge reopened after repairs before "
        "the Valley Times reported that the lighthouse museum opened its doors to visitors?",
        _two_reports(),
    )
    assert before.short is not None and before.short.text == "Yes"
    assert "published before" in before.short.reasoning
    after = ask(
        "Did the Coast Courier report that the harbor bridge reopened after repairs after "
        "the Valley Times reported that the lighthouse museum opened its doors to visitors?",
        _two_reports(),
    )
    assert after.short is not None and after.short.text == "No"
    # An opening "After ... reported" sets the scene; it does not ask about the order.
    scene = analyse(
        "After the Coast Courier reported that the harbor bridge reopened after repairs, did "
        "the Valley Times report that the lighthouse museum opened its doors to visitors?"
    )
    assert scene.kind is Kind.YES_NO and not scene.order


def test_an_either_or_question_is_answered_with_one_of_its_options() -> None:
    """Never "Yes" to "A or B?": the option the evidence supports, or no verdict at all."""
    q = analyse(
        "Did the Coast Courier and the Valley Times give a consistent or inconsistent account "
        "of the harbor bridge reopening after repairs?"
    )
    assert q.kind is Kind.YES_NO and q.options == ("consistent", "inconsistent")
    passages = [
        _two_reports()[0],
        passage(
            "After repairs, the harbor bridge reopened to traffic on Monday.",
            chunk_id=2,
            source="Valley Times",
            published="2023-10-03",
        ),
    ]
    answer = ask(q.text, passages)
    # Footnote can show what each report says, not judge that they disagree: none shown.
    assert answer.short is not None and answer.short.text == "Consistent"
    assert "no difference shown" in answer.short.reasoning
    agree = ask(
        "Do the Coast Courier and the Valley Times agree that the harbor bridge reopened after "
        "repairs, or do they give different reasons for the reopening?",
        passages,
    )
    assert agree.short is not None and agree.short.text == "Agree"
    successful = analyse("Did the Herald report a successful or unsuccessful bridge repair?")
    assert successful.options and not agreeing_option(successful.options)
    larger = ask(
        "Did the Coast Courier report a larger or smaller repair bill for the harbor bridge "
        "than the Valley Times?",
        passages,
    )
    assert larger.found and larger.short is None  # the quotes speak for themselves


def test_a_report_that_says_it_did_not_happen_answers_no() -> None:
    question = "Has the harbor board announced a closure of the west pier?"
    denied = passage(
        "The harbor board has not announced a closure of the west pier, a spokesperson said."
    )
    answer = ask(question, [denied])
    assert answer.short is not None and answer.short.text == "No", answer.text
    assert "not so" in answer.short.reasoning
    stated = passage("The harbor board announced a closure of the west pier on Monday.")
    answer = ask(question, [stated])
    assert answer.short is not None and answer.short.text == "Yes"


def test_no_reported_answers_no() -> None:
    question = "Were any injuries reported after the harbor storm?"
    calm = passage("No injuries were reported after the harbor storm, officials said.")
    answer = ask(question, [calm])
    assert answer.short is not None and answer.short.text == "No", answer.text


def test_yes_needs_a_quote_stating_what_is_asked() -> None:
    question = "The harbor storm hit on Monday. Were any injuries reported?"
    storm = passage("The harbor storm hit the west pier on Monday, flooding the ferry terminal.")
    answer = ask(question, [storm])
    assert answer.found and answer.short is None  # the quote names no injuries: no verdict
    hurt = passage("Two injuries were reported after the harbor storm hit on Monday.")
    answer = ask(question, [hurt])
    assert answer.short is not None and answer.short.text == "Yes"


def test_a_question_about_several_reports_is_sure_from_their_sentences_together() -> None:
    """Naming two indexed outlets, a yes/no question spreads its facts over their reports: no
    one sentence holds them all, and together they may answer it."""
    passages = [
        passage(
            "The ferry operator Blue Tern doubled its fares for the winter season.",
            chunk_id=1,
            source="Coast Courier",
        ),
        passage(
            "Blue Tern also cancelled the night crossings to the lighthouse island.",
            chunk_id=2,
            source="Valley Times",
        ),
    ]
    question = (
        "Did the Coast Courier and the Valley Times report that Blue Tern doubled its winter "
        "fares and cancelled the night crossings to the lighthouse island?"
    )
    # A bar each sentence misses alone (with the fake embedder's cosines).
    settings = replace(LOOSE, min_confidence=1.3, min_several_confidence=1.3)
    outlets = OutletMatcher({"Coast Courier", "Valley Times"})
    answer = ask(question, passages, settings=settings, outlets=outlets)
    assert answer.found and answer.short is not None and answer.short.text == "Yes"
    assert not ask(question, passages, settings=settings).found  # outlets unknown


# ---------------------------------------------------------------------------------------------
# The real reader: meaning-based checks of the shipped model on tiny news passages


@pytest.fixture(scope="module")
def real_reader() -> Read:
    """The shipped reader (bot/reader/model/), loaded once for this module."""
    return passage_reader(Reader())


@pytest.mark.model
def test_the_reader_names_who_heads_a_company(real_reader: Read) -> None:
    p = passage(
        "Alibaba reshuffled its leadership on Tuesday. Trudy Dai heads Taobao and Tmall Group, "
        "the company's domestic shopping business, the company said.",
        title="Alibaba names new leaders",
        offset=25,
    )
    answer = ask("Who heads Taobao and Tmall?", [p], real_reader, AnswerSettings())
    assert answer.found and answer.short is not None
    assert "Trudy" in answer.short.text or "Dai" in answer.short.text  # her name, in part or whole
    assert answer.short.score is not None and answer.short.no_answer is not None
    assert answer.short.score - answer.short.no_answer > AnswerSettings().min_margin


@pytest.mark.model
def test_the_reader_finds_the_passage_that_holds_the_answer(real_reader: Read) -> None:
    weather = passage(
        "Heavy rain is expected in Harbor City on Sunday, with winds along the coast.",
        chunk_id=1,
        title="Weekend weather",
    )
    bridge = passage(
        "The harbor bridge opened to traffic on Monday. It cost $1.2 billion to build, "
        "officials said.",
        chunk_id=2,
        title="Harbor bridge opens",
    )
    answer = ask(
        "How much did the harbor bridge cost?", [weather, bridge], real_reader, AnswerSettings()
    )
    assert answer.found and answer.short is not None
    assert "1.2 billion" in answer.short.text
    assert answer.sources[0].article_id == bridge.article_id


@pytest.mark.model
def test_the_reader_does_not_name_someone_the_passage_does_not_hold(real_reader: Read) -> None:
    """Asked who designed the museum, a passage naming only the trust that announced it holds no
    answer: the reader is surer of "no answer"."""
    p = passage(
        "The Harbor Trust of Coast County announced the lighthouse museum plan in New York on "
        "Monday, and said building would start next year.",
        title="Lighthouse museum plan unveiled",
    )
    answer = ask("Who designed the lighthouse museum?", [p], real_reader, AnswerSettings())
    assert not answer.found and answer.short is None
    assert answer.sources  # the nearest passage is still shown


@pytest.mark.model
@pytest.mark.xfail(
    strict=True,
    reason="the shipped reader names the chief executive when asked for the chief financial "
    "officer: span 11.5 over no-answer 8.2 (margin 3.3; 5.2 when asked for the chief executive, "
    "and 24,000 training windows gave 6.8 and 8.7): closer, but above the bar",
)
def test_the_reader_does_not_answer_for_another_office(real_reader: Read) -> None:
    """The passage names the chief executive; asked for the chief financial officer, the
    reader is surer of "no answer" (no rule checks the office any more: the model must)."""
    p = passage(
        "Gullwing Airways chief executive Ada Lowe said on Monday that the airline would add "
        "ten routes from Harbor City next spring.",
        title="Gullwing adds routes",
    )
    answer = ask(
        "Who is the chief financial officer of Gullwing Airways?",
        [p],
        real_reader,
        AnswerSettings(),
    )
    assert not answer.found and answer.short is None


# ---------------------------------------------------------------------------------------------
# Questions with a date: "this week" read against the day asked, never a later article


def _mayors() -> list[Passage]:
    return [
        passage(
            "The city council said the mayor is Ada Lowe, who took office after the vote.",
            chunk_id=1,
            published="2022-01-10",
        ),
        passage(
            "The city council said the mayor is Ben Ode, who took office after the vote.",
            chunk_id=2,
            published="2022-06-14",
        ),
        passage(
            "The city council said the mayor is Cy Park, who took office after the vote.",
            chunk_id=3,
            published="2022-07-30",
        ),
    ]


def _every_name(question: str, passages: list[Passage]) -> list[Reading]:
    """A reader reading each passage's mayor, all equally sure."""
    out = []
    for p in passages:
        at = p.text.index("is ") + 3
        end = p.text.index(",", at)
        out.append(Reading(p, p.start + at, p.start + end, p.text[at:end], 6.0, 1.0))
    return out


def test_no_article_published_after_the_question_date_answers() -> None:
    answer = ask(
        "Who is the mayor?", _mayors()[2:] + _mayors()[:1], _every_name, as_of=date(2022, 7, 1)
    )
    assert answer.found and answer.short is not None
    assert answer.short.text == "Ada Lowe"
    assert all(s.published <= "2022-07-01" for s in answer.sources)


def test_this_week_is_answered_from_that_week_with_its_date_shown() -> None:
    as_of = date(2022, 6, 17)
    question = "Who became mayor this week?"
    answer = ask(question, _mayors(), _every_name, as_of=as_of, window=when.window(question, as_of))
    assert answer.short is not None and answer.short.text == "Ben Ode"
    assert answer.dated == "as of 14 June 2022 [1]"
    assert "(as of 14 June 2022 [1])" in answer.text


def test_the_latest_prefers_its_window_but_older_news_may_answer() -> None:
    as_of = date(2022, 6, 20)
    question = "Who is the latest mayor?"
    window = when.window(question, as_of)
    assert window is not None and not window.strict
    answer = ask(question, _mayors(), _every_name, as_of=as_of, window=window)
    assert answer.short is not None and answer.short.text == "Ben Ode"
    older = ask(question, _mayors()[:1], _every_name, as_of=as_of, window=window)
    assert older.short is not None and older.short.text == "Ada Lowe"


def test_a_week_the_index_has_nothing_from_is_said_plainly_with_the_nearest_dates() -> None:
    as_of = date(2022, 3, 4)
    question = "Who became mayor this week?"
    answer = ask(question, _mayors(), _every_name, as_of=as_of, window=when.window(question, as_of))
    assert not answer.found and answer.short is None
    assert answer.text.startswith("Nothing from the week of 26 February 2022")
    assert "the nearest reports are from 10 January 2022 [1]" in answer.text
    assert [s.published for s in answer.sources] == ["2022-01-10"]


def test_a_span_in_a_sentence_about_another_year_is_no_answer() -> None:
    p = passage(
        "The Harbor Hawks won the 2021 regional cup final, beating the Gulls 3-1. "
        "The 2023 final will be played in Gull Bay in June, the league said.",
        published="2023-03-01",
    )
    answer = ask("Which team won the 2023 regional cup final?", [p], FakeRead("Harbor Hawks"))
    assert not answer.found


def test_a_span_in_a_short_sentence_quotes_that_sentence_not_its_paragraph() -> None:
    text = (
        "The harbor race ended on Sunday after a long day on the water, officials said. "
        "Ada Lowe won. "
        + "Crowds lined the quay from early morning to watch the boats come in, and stayed late. "
        * 8
    )
    answer = ask("Who won the harbor race?", [passage(text)], FakeRead("Ada Lowe"))
    assert answer.found and answer.claims[0].text == "Ada Lowe won."


def test_reports_that_disagree_give_the_newest_first_and_the_older_beside_it() -> None:
    answer = ask("Who is the mayor?", _mayors(), _every_name)
    assert answer.short is not None and answer.short.text == "Cy Park"
    assert answer.dated.startswith("as of 30 July 2022 [1]; earlier reported: Ben Ode [")
    assert answer.dated.endswith(", 14 June 2022")
    earlier = next(s for s in answer.sources if s.published == "2022-06-14")
    assert f"Ben Ode [{earlier.n}]" in answer.dated
    assert "Ben Ode" in earlier.snippet


def test_one_answer_told_by_several_reports_is_no_disagreement() -> None:
    same = [
        replace(p, text=p.text.replace(name, "Ada Lowe"))
        for p, name in zip(_mayors(), ("Ada Lowe", "Ben Ode", "Cy Park"), strict=True)
    ]
    answer = ask("Who is the mayor?", same, _every_name)
    assert answer.short is not None and answer.short.text == "Ada Lowe"
    assert "earlier reported" not in answer.dated
