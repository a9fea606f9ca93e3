"""The answer layer on hand-made passages: question analysis, evidence, short answers, yes/no,
multi-part questions and abstention. Every shown text is checked to be a verbatim span."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from bot.answer import Answer, AnswerSettings, compose_answer
from bot.answer.evidence import Weights, common_words, gather, score
from bot.answer.extract import candidates
from bot.answer.question import (
    Kind,
    Question,
    agreeing_option,
    analyse,
    cited_outlets,
    name_phrases,
    words_of,
)
from index.search import OutletMatcher, Passage
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


def article_text(p: Passage) -> str:
    return "x" * p.start + p.text


def ask(question: str, passages: list[Passage], settings: AnswerSettings = LOOSE) -> Answer:
    answer = compose_answer(question, passages, FakeEmbedder(), settings)
    texts = {p.article_id: article_text(p) for p in passages}
    titles = {p.article_id: p.title for p in passages}
    for s in answer.sources:  # every quote is a verbatim span of its article
        assert texts[s.article_id][s.snippet_start : s.snippet_end] == s.snippet
    short = answer.short
    if short is not None and short.kind == "span":  # and so is the short answer
        cited = answer.source(short.n)
        assert cited is not None
        where = titles[cited.article_id] if short.in_title else texts[cited.article_id]
        assert where[short.start : short.end] == short.text
    return answer


def fits_of(sentence: str, question: Question) -> dict[str, float]:
    """Each candidate of sentence, with how well it fits the kind question asks for."""
    return {c.text: c.fit for c in candidates(sentence, question)}


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
    ],
)
def test_the_kind_of_answer_asked_for(question: str, kind: Kind) -> None:
    assert analyse(question).kind is kind


def test_constraints_and_parts_of_a_question() -> None:
    q = analyse(
        "Does the Coast Courier article say the bridge reopened in 2023, while the Valley "
        "Times article reports that the museum opened its doors to visitors?"
    )
    assert q.kind is Kind.YES_NO
    assert q.years == {"2023"}
    assert len(q.parts) == 2
    assert {"coast", "courier", "valley", "time"} <= q.names
    assert not q.asks_difference
    assert analyse("Between the two reports, was there a change in the bridge's cost?")
    assert analyse("Was there a change in the bridge's cost between the reports?").asks_difference


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


def test_headings_and_questions_are_never_quoted() -> None:
    p = passage(
        "Who paid for the bridge?\nWho paid for the bridge\n"
        "The port authority paid for the bridge with a bond issue."
    )
    answer = ask("Who paid for the bridge?", [p])
    assert answer.found
    assert all("?" not in c.text for c in answer.claims)
    assert answer.claims[0].text.startswith("The port authority paid")


# ---------------------------------------------------------------------------------------------
# Short answers


def test_the_short_answer_comes_first_and_is_a_span_of_the_article() -> None:
    p = passage(
        "The harbor bridge opened on Monday. It cost $1.2 billion to build, officials said.",
        offset=40,
    )
    answer = ask("How much did the harbor bridge cost?", [p])
    assert answer.found and answer.short is not None
    assert answer.short.text == "$1.2 billion"
    assert answer.text.startswith("$1.2 billion [1]\n")
    assert answer.to_dict()["short_answer"]["start"] == answer.short.start
    assert Answer.from_dict(answer.to_dict()) == answer


def test_a_name_is_the_short_answer_only_when_two_articles_give_it() -> None:
    """One story naming a person may name the wrong one (the expert quoted, not the designer
    asked about); two reports naming the same person, even as "Dai Shan"/"Shan Dai", agree."""
    question = "Who designed the lighthouse museum?"
    quoted = passage(
        "The new lighthouse museum was designed to last, Director Mara Quint said on Monday.",
        chunk_id=1,
        title="Museum opens",
    )
    answer = ask(question, [quoted])
    assert answer.found and answer.short is None
    assert "Mara Quint" in answer.text  # the quote still shows whom it names
    one = passage(
        "The lighthouse museum, designed by architect Ivo Brandt, opened on Monday.",
        chunk_id=2,
        title="Museum opens",
    )
    other = passage(
        "Brandt Ivo, who designed the lighthouse museum, said the tower took two years.",
        chunk_id=3,
        title="The museum's designer",
    )
    answer = ask(question, [one, other])
    assert answer.short is not None and answer.short.text in ("Ivo Brandt", "Brandt Ivo")


def test_a_count_of_another_unit_is_no_answer_to_how_many() -> None:
    p = passage("In just 10 minutes, champion eater Ada Lowe ate 63 dumplings at the harbor fair.")
    answer = ask("How many dumplings did Ada Lowe eat at the harbor fair?", [p])
    assert answer.short is not None and answer.short.text == "63 dumplings"
    answer = ask("How many minutes did the dumpling contest at the harbor fair last?", [p])
    assert answer.short is not None and answer.short.text == "10 minutes"


def test_the_day_of_a_date_counts_nothing_and_an_age_is_written_as_one() -> None:
    sentence = "On March 23 the 17-year-old pilot landed after 9 stops, aged 17 and a half."
    fits = fits_of(sentence, analyse("How old is the pilot?"))
    assert "23" not in fits and fits["17"] == 1.0
    assert fits.get("9 stops", 0.0) < 1.0  # a count, not an age
    many = {c.text for c in candidates(sentence, analyse("How many stops did the pilot make?"))}
    assert "9 stops" in many and "23" not in many
    # A date written in figures ("news 08 18 22", "6/5/2024") counts nothing either.
    asked = analyse("How many stops did the pilot make?")
    for dated in ("Pilot news 08 18 22", "Landed 6/5/2024 after 9 stops"):
        assert {c.text for c in candidates(dated, asked)} <= {"9 stops"}


def test_a_change_does_not_answer_a_level_and_a_level_does_not_answer_a_change() -> None:
    sentence = "Milk cost $1.50 a litre on Monday, down $0.20 since the record high of $1.70."
    level = analyse("What was the record high price of a litre of milk?")
    fits = fits_of(sentence, level)
    assert fits["$0.20"] < 1.0 and fits["$1.70"] == 1.0
    change = analyse("Despite a dip, how much has the price of milk fallen since the record?")
    fits = fits_of(sentence, change)
    assert fits["$0.20"] == 1.0 and fits["$1.50"] < 1.0
    # A change may be given as a percentage.
    fits = fits_of("Prices are up 60% on last year.", change)
    assert fits["60%"] == 1.0


def test_the_reviewed_edge_cases_of_the_candidate_rules() -> None:
    """Found in review: each of these broke or lost a right candidate."""
    name = analyse("Which country is faster?")
    assert candidates("The chip is faster than the U.K.’s.", name) is not None  # no crash
    apollo = analyse("Which Apollo mission first landed on the Moon?")
    assert "Apollo 11" in [c.text for c in candidates("Apollo 11 landed in 1969.", apollo)]
    jobs = analyse("How many jobs did the company cut?")
    assert "2000 jobs" in [c.text for c in candidates("The company cut 2000 jobs.", jobs)]
    marines = analyse("How many Marines were killed?")
    assert "20" in [c.text for c in candidates("At least 20 Marines were killed.", marines)]
    old = analyse("How old is the pilot?")
    for sentence in (
        "The pilot was 17 years old.",
        "Aged 17, the pilot landed.",
        "Ivo Brandt, 17, landed on Monday.",
    ):
        assert max(c.fit for c in candidates(sentence, old)) == 1.0, sentence
    climb = analyse("How much did the shares climb?")
    fits = fits_of("Shares climbed $5 to $140.", climb)
    assert fits["$5"] == 1.0 and fits["$140"] < 1.0
    payment = analyse("How much was the down payment?")
    assert fits_of("It was $50,000.", payment)["$50,000"] == 1.0
    future = analyse("When will the store open?")
    fits = fits_of("The store will open on Friday.", future)
    assert fits["Friday"] == 1.0


def test_a_weekday_of_the_report_does_not_answer_when_something_will_happen() -> None:
    sentence = "Officials said on Tuesday that the bridge would reopen next month."
    fits = fits_of(sentence, analyse("When will the bridge reopen?"))
    assert fits["Tuesday"] < 1.0 and fits["next month"] == 1.0
    fits = fits_of(sentence, analyse("How soon could it reopen?"))
    assert fits["Tuesday"] < 1.0
    fits = fits_of(sentence, analyse("When did officials speak?"))
    assert fits["Tuesday"] == 1.0


def test_a_surname_answer_is_given_in_full_from_the_sentence_that_names_it() -> None:
    """The best sentence may name someone by surname only; the sentence of the same article
    naming them in full leads, so the reader sees who it is. Another article's namesake
    never does."""
    article = passage(
        "The harbor board thanked the architect Ivo Brandt on Monday for the new museum. "
        "Brandt designed the lighthouse museum, whose tower took two years to build.",
        chunk_id=1,
        title="Museum opens",
    )
    answer = ask("Who designed the lighthouse museum?", [article])
    assert answer.found and "Ivo Brandt" in answer.claims[0].text
    namesake = passage("Analyst Kevin Brandt said harbor shares could rise.", chunk_id=2)
    lone = passage(
        "Brandt designed the lighthouse museum, whose tower took two years to build.", chunk_id=3
    )
    answer = ask("Who designed the lighthouse museum?", [lone, namesake])
    assert "Kevin" not in answer.claims[0].text
    assert answer.short is None or "Kevin" not in answer.short.text


def test_a_company_named_short_is_given_its_full_name_from_the_same_article() -> None:
    """ "Gullwing" in the best sentence, "Gullwing Airways" in another sentence of its
    article: the full name leads."""
    article = passage(
        "Gullwing Airways, founded in 1998, flies from Harbor City to forty cities. "
        "Its planes are painted blue and white. "
        "Gullwing announced a deal on Thursday to buy Tern Air and add first class seats.",
        title="Airline deal",
    )
    question = "Which airline announced a deal to buy Tern Air and add first class seats?"
    answer = ask(question, [article])
    assert answer.found and "Gullwing Airways" in answer.text


def test_a_name_after_its_title_and_a_possessive() -> None:
    sentence = "Attendees include Tmall Commerce Group’s CEO Trudy Shan Dai and Wang Hai."
    q = analyse("Who heads Tmall?")
    texts = [c.text for c in candidates(sentence, q)]
    assert texts[0] == "Trudy Shan Dai"
    assert "Tmall" not in texts  # already asked about
    role = analyse("Which role did the actress bring to life?")
    texts = [c.text for c in candidates("Hollis’ Lantern was her best-known role.", role)]
    assert "Lantern" in texts and "Hollis’ Lantern" not in texts
    union = analyse("Which group called the strike?")
    texts = [c.text for c in candidates("The Writers' Guild of America called it.", union)]
    assert "Writers' Guild of America" in texts


def test_calendar_words_are_no_names_and_places_come_from_the_gazetteer() -> None:
    q = analyse("Which country announced the ban?")
    sentence = "On Tuesday Ruritania Ltd said Saudi Arabia acted."
    found = fits_of(sentence, q)
    assert "Tuesday" not in found
    assert found["Saudi Arabia"] == 1.0
    assert found.get("Ruritania Ltd", 0.0) < 1.0


def test_a_gazetteer_place_fits_only_a_question_about_such_places() -> None:
    """A state is a sure answer to "which state", not to "which national park" or "which
    city": those need a name of their own ("Glacier Bay National Park")."""
    sentence = "Floods closed roads near Glacier Bay National Park in Alaska on Monday."
    fits = fits_of(sentence, analyse("Which state saw floods?"))
    assert fits["Alaska"] == 1.0
    area = analyse("The minister flew to which area this week, angering a neighbour?")
    assert fits_of(sentence, area)["Alaska"] == 1.0
    park = analyse("Which national park was hit by floods this week?")
    fits = fits_of(sentence, park)
    assert fits["Alaska"] < 0.7
    assert fits["Glacier Bay National Park"] >= 0.8
    city = analyse("Which city saw the biggest rent increase?")
    sentence = "Rents rose most in Florida, then in Kyiv, and least in Hungary."
    fits = fits_of(sentence, city)
    assert fits["Florida"] < 0.8  # a state: not sure (New York and Berlin are states too)
    assert fits["Kyiv"] == 1.0  # the gazetteer calls it a city
    assert fits["Hungary"] < 0.5  # a country is no city
    # A bold answer needs the sure fit: the state is no short answer for the park.
    answer = ask(
        "Which national park was hit by floods this week?",
        [passage("Floods washed out roads in Alaska and closed bridges on Monday.")],
    )
    assert answer.short is None


def test_a_question_asking_for_several_things_gets_no_single_one_in_bold() -> None:
    two = analyse("Which two countries did the alliance invite to join?")
    assert two.count == 2 and analyse("Which country joined?").count == 1
    assert analyse("What three directions did he point out?").count == 3
    answer = ask(
        "Which two countries did the alliance invite to join this week?",
        [passage("The alliance invited two countries, Norway and Finland, to join on Wednesday.")],
    )
    assert answer.found and answer.short is None  # "Norway" alone would be half the answer


def test_a_name_only_numbering_what_was_asked_is_no_answer() -> None:
    """ "74th Harbor Awards" is the awards the question names, numbered: no answer."""
    q = analyse("Which show won the most Harbor Awards in 2024?")
    texts = [c.text for c in candidates("The 74th Harbor Awards went to Tide Line.", q)]
    assert "74th Harbor Awards" not in texts and "Tide Line" in texts


def test_another_name_of_a_country_the_question_names_is_no_answer() -> None:
    """The question says "US"; "the United States" in the sentence is the same country."""
    sentence = "Many are leaving the United States for Mexico City and Lisbon."
    texts = [c.text for c in candidates(sentence, analyse("Where are people in the US moving?"))]
    assert "United States" not in texts and "Mexico City" in texts
    uk = "Britain and the European Union agreed on a deal with the U.S. on Monday."
    texts = [c.text for c in candidates(uk, analyse("Which country did the UK and EU meet?"))]
    assert texts == ["U.S."]


def test_part_of_a_quoted_title_the_question_names_fits_less_than_another_name() -> None:
    """ "The Original Series" belongs to the title "Star Voyage: The Original Series" the
    question asks about; the role she played is the other name."""
    q = analyse("Which iconic role did 'Star Voyage' actress Ada Reyes bring to life?")
    sentence = "Ada Reyes played Lt. Mira Okafor in “Star Voyage: The Original Series,” in 1966."
    fits = fits_of(sentence, q)
    assert fits["Mira Okafor"] > fits["Original Series"]


def test_a_quote_that_says_he_brings_the_sentence_before() -> None:
    text = (
        "Mayor Elena Ruiz opened the harbor bridge on Monday. "
        "He said it cost 1.2 billion dollars and spans the whole bay."
    )
    answer = ask("How much did the harbor bridge cost, according to the mayor?", [passage(text)])
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
    answer = ask("Which hit show will return for a second season?", [show])
    assert answer.found and answer.claims[0].headline == "'Tide Line' renewed for season 2"
    assert "'Tide Line' renewed for season 2 — The streaming service said" in answer.text
    assert Answer.from_dict(answer.to_dict()) == answer
    it = passage("It opened to traffic on Thursday after five years of work.", title="Bay bridge")
    answer = ask("When did the bay bridge open to traffic?", [it])
    assert answer.claims[0].headline == "Bay bridge"
    # "the field of species" refers to no species.
    field = passage(
        "Its founders hope to advance the field of species revival, the company said.",
        title="Founders of a lab",
    )
    species = ask("Which extinct species does the lab hope to revive?", [field])
    assert species.claims[0].headline == "Founders of a lab"  # "Its": by reference
    field = passage(
        "The lab hopes to advance the field of species revival, the company said.",
        title="A lab and its founders",
    )
    species = ask("Which extinct species does the lab hope to revive?", [field])
    assert species.claims[0].headline == ""
    # A quote that names its subject gets no headline.
    named = passage("The Bay bridge opened to traffic on Thursday.", title="Bay bridge opens")
    assert ask("When did the bay bridge open to traffic?", [named]).claims[0].headline == ""
    # Up to four words may stand between "the" and the thing asked about.
    show = passage(
        "The streaming service said on Sunday that the wildly popular South Korean show will "
        "return for a second season next year.",
        title="'Tide Line' renewed for season 2",
    )
    answer = ask("Which wildly popular show will return for a second season?", [show])
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
    )
    assert answer.found
    assert answer.sources[0].snippet.startswith("Parents still find empty shelves")
    assert "baby formula" in answer.text


def test_a_short_answer_found_in_a_headline_brings_the_headline_into_the_quote() -> None:
    """When the best candidate answer stands in the headline of the quoted sentence's article,
    the quote is shown after that headline, so the reader sees the name the answer rests on."""
    final = passage(
        "Fans filled the streets on Sunday after the 2024 Coastal Cup final ended 2-1 in "
        "overtime, a first title in forty years.",
        title="Harbor City Gulls win the 2024 Coastal Cup",
    )
    answer = ask("Which team won the 2024 Coastal Cup final?", [final])
    assert answer.found
    assert answer.claims[0].headline == "Harbor City Gulls win the 2024 Coastal Cup"
    assert "Harbor City Gulls" in answer.text


# ---------------------------------------------------------------------------------------------
# Saying so


def test_a_year_the_evidence_contradicts_is_no_answer() -> None:
    p = passage(
        "The Harbor Hawks won the 2021 regional cup final, beating the Gulls 3-1.",
        published="2021-06-01",
    )
    assert ask("Which team won the 2021 regional cup final?", [p]).found
    answer = ask("Which team won the 2023 regional cup final?", [p])
    assert not answer.found
    assert answer.sources  # the nearest source is still shown, as such


def test_a_name_the_articles_never_mention_is_no_answer() -> None:
    p = passage("The harbor bridge cost 1.2 billion dollars, Mayor Elena Ruiz said.")
    assert not ask("How much did the Springfield tunnel cost?", [p]).found


def test_a_pick_by_absence_among_options_not_given_is_no_answer() -> None:
    p = passage("The council reopened the harbor bridge, the library and the museum on Monday.")
    assert ask("Which building did the council reopen on Monday?", [p]).found
    assert not ask("Which of these buildings did the council not reopen on Monday?", [p]).found


def test_a_report_of_an_outlet_that_is_not_indexed_is_not_answered() -> None:
    p = passage("The harbor bridge cost 1.2 billion dollars, officials said.")
    known = OutletMatcher(["Harbor City Herald", "The Independent - Life and Style"])
    question = "How much did the harbor bridge cost, according to a {} report?"
    indexed = compose_answer(
        question.format("Harbor City Herald"), [p], FakeEmbedder(), LOOSE, outlets=known
    )
    assert indexed.found
    answer = compose_answer(question.format("Bloomberg"), [p], FakeEmbedder(), LOOSE, outlets=known)
    assert not answer.found
    assert answer.missing == ["Bloomberg reports (none are indexed)"]
    # A name cut short at "and" is still the indexed outlet.
    assert known.knows("Independent - Life") and not known.knows("Bloomberg")
    # A quoted title before "article" is no outlet; a quoted outlet is one.
    assert cited_outlets("Did the 'Best Bridges of the Year' article praise it?") == []
    assert cited_outlets("Did the 'Valley Times' article praise it?") == ["Valley Times"]


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


# ---------------------------------------------------------------------------------------------
# Yes / no


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
    answer = ask(
        "Does the Coast Courier article say the harbor bridge reopened after repairs, while the "
        "Valley Times article reports that the lighthouse museum opened its doors to visitors?",
        _two_reports(),
    )
    assert answer.found and answer.short is not None
    assert answer.short.text == "Yes"
    assert "Coast Courier (2023-10-02) [" in answer.short.reasoning
    assert "Valley Times (2023-10-05) [" in answer.short.reasoning
    assert {s.source for s in answer.sources} == {"Coast Courier", "Valley Times"}


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

    def answer(question: str, passages: list[Passage]) -> Answer:
        return compose_answer(question, passages, FakeEmbedder(), LOOSE, weigh=weigh)

    assert not answer("Which golfer will miss this year's US Masters?", [golf]).found
    found = answer("Which US national park was hit by flooding that washed out roads?", [flood])
    assert found.found and "Pine Ridge National Park" in found.text


def test_no_answer_without_evidence_for_the_part_that_asks() -> None:
    """A clause around the question may match passages; what it asks for must too."""
    passages = [
        passage("The ferry timetable changes in March, when the spring tides begin.", chunk_id=1),
        passage("Harbor City's spring timetable change adds two late ferries.", chunk_id=2),
    ]
    question = (
        "After the spring timetable change, which celebrated local composer wrote the "
        "harbour anthem performed at the lighthouse festival?"
    )
    assert analyse(question).asking_part().startswith("which celebrated")
    # The fake embedder's bag-of-words cosines make the timetable sentences look close to the
    # whole question; how sure is sure enough is tuned on real vectors (eval realtimeqa).
    settings = replace(LOOSE, min_part_confidence=1.0)
    assert not ask(question, passages, settings).found
    # With evidence for the part that asks, it is answered.
    passages.append(
        passage(
            "The harbour anthem performed at the lighthouse festival was written by the "
            "celebrated local composer Ingrid Dahl.",
            chunk_id=3,
        )
    )
    assert "Ingrid Dahl" in ask(question, passages, settings).text


def test_a_sentence_naming_a_place_of_the_kind_asked_scores_higher() -> None:
    """For "which country", a sentence naming a country scores above one naming a place of no
    known kind, all else equal."""
    question = "A volcano eruption in which country prompted the alert?"
    passages = [
        passage("Officials in Kelmora said the volcano eruption prompted the alert.", chunk_id=1),
        passage("Officials in Portugal said the volcano eruption prompted the alert.", chunk_id=2),
    ]
    embedder = FakeEmbedder()
    scored = score(
        analyse(question),
        gather(passages),
        embedder,
        embedder.embed([question])[0],
        lambda _: 1.0,
        Weights(),
        common_words(passages),
    )
    assert "Portugal" in scored[0].text
    assert scored[0].score > scored[1].score


def test_a_question_about_several_reports_is_sure_from_their_sentences_together() -> None:
    """Naming two outlets, a question spreads its facts over their reports: no one sentence
    holds them all, and together they may answer it."""
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
        "Which ferry operator, reported by the Coast Courier and the Valley Times, doubled its "
        "winter fares and cancelled the night crossings to the lighthouse island?"
    )
    # A bar each sentence misses alone (with the fake embedder's cosines).
    settings = replace(LOOSE, min_confidence=1.0, min_several_confidence=1.0)
    outlets = OutletMatcher({"Coast Courier", "Valley Times"})
    answer = compose_answer(question, passages, FakeEmbedder(), settings, outlets=outlets)
    assert answer.found and answer.short is not None and answer.short.text == "Blue Tern"
    alone = compose_answer(question, passages, FakeEmbedder(), settings)  # outlets unknown
    assert not alone.found


def test_a_question_about_the_present_is_not_answered_from_old_articles() -> None:
    """Asked who won "this week", a report from years before the newest indexed article is
    another year's race, not the answer."""
    old = passage(
        "Rower Ada Lowe won the harbor race on Sunday, beating the favourite by two lengths.",
        published="2019-06-02",
    )
    question = "Who won the harbor race this week?"
    assert analyse(question).current
    stale = compose_answer(question, [old], FakeEmbedder(), LOOSE, newest="2024-03-14")
    assert not stale.found and stale.sources  # the nearest sources are still shown
    recent = compose_answer(question, [old], FakeEmbedder(), LOOSE, newest="2019-06-05")
    assert recent.found and "Ada Lowe" in recent.text
    # Half a year on, "this week" is another season's race; four months on it may be news.
    half_year = compose_answer(question, [old], FakeEmbedder(), LOOSE, newest="2020-01-03")
    assert not half_year.found
    months = compose_answer(question, [old], FakeEmbedder(), LOOSE, newest="2019-10-02")
    assert months.found
    # Without "this week" the year-old report may answer.
    timeless = compose_answer(
        "Who won the harbor race?", [old], FakeEmbedder(), LOOSE, newest="2024-03-14"
    )
    assert timeless.found


def test_edge_cases_of_the_question_readers() -> None:
    # A question naming its year is not about the present, whatever day it names.
    assert not analyse("Who won the election on Tuesday, November 3, 2020?").current
    # The verb is the agreeing option, not a noun that happens to be a match.
    q = analyse(
        "Did the Herald and the Times agree on the date of the match, or did they disagree?"
    )
    assert agreeing_option(q.options) == "agree"
    # The sections of one outlet are one outlet.
    sections = OutletMatcher(["The Independent - Sports", "The Independent - Life and Style"])
    assert sections.distinct(sections.find("Did The Independent report the final?")) == 1


def test_a_common_word_phrase_is_found_next_to_punctuation() -> None:
    corpus = [f"The US market stayed open in quarter {i}, officials said." for i in range(8)]
    winner = passage("Ada Lowe won the US Open, beating the favourite in three sets.")
    corpus.append(winner.text)
    held = [words_of(text) for text in corpus]

    def weigh(word: str) -> float:
        return math.log((len(held) + 1) / (sum(word in h for h in held) + 0.5))

    answer = compose_answer("Who won the US Open?", [winner], FakeEmbedder(), LOOSE, weigh=weigh)
    assert answer.found and "Ada Lowe" in answer.text


def test_a_short_answer_sure_to_be_of_the_kind_asked_lowers_the_bar() -> None:
    """A figure of the kind asked makes the sentence surer by the discount; a name only one
    article gives does not."""

    def highest_bar(question: str, article: Passage, discount: float) -> float:
        bars = [n / 100 for n in range(50, 250)]
        settings = replace(LOOSE, sure_answer_discount=discount)
        found = [
            b for b in bars if ask(question, [article], replace(settings, min_confidence=b)).found
        ]
        return max(found)

    cost = passage("The harbor bridge cost 1.2 billion dollars to build, the council said.")
    question = "How much did the harbor bridge cost?"
    assert highest_bar(question, cost, 0.05) - highest_bar(question, cost, 0.0) == pytest.approx(
        0.05
    )
    one_article = passage("Architect Ivo Brandt designed the harbor bridge, the council said.")
    question = "Who designed the harbor bridge?"
    assert highest_bar(question, one_article, 0.05) == highest_bar(question, one_article, 0.0)


def test_a_quote_restating_a_chosen_one_makes_room_for_another_fact() -> None:
    """Two reports of the same figures are one fact: the quotes give the reason too."""
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
    answer = ask(question, [first, again, reason], replace(LOOSE, max_claims=2, max_gap=1.0))
    texts = [c.text for c in answer.claims]
    assert answer.found and len(texts) == 2
    assert any("fire risks" in t for t in texts)
    assert sum("24,030" in t for t in texts) == 1


def test_the_best_article_that_may_answer_brings_its_lead() -> None:
    """The best passage is a report two years old, stale for "this week"; the next article's
    lead, not retrieved, names the winner in full."""
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

    answer = compose_answer(
        "Who won the harbor race this week?",
        [old, later],
        FakeEmbedder(),
        LOOSE,
        newest="2024-03-14",
        article_lead=article_lead,
    )
    assert asked == [later.article_id]
    assert answer.found and "Mia Lowe" in answer.text and "Ada" not in answer.text


def test_a_name_with_its_title_is_a_full_name() -> None:
    """ "Lowe" in the best sentence; the article's lead names "Harbor Board Chair Mia Lowe"."""
    article = passage(
        "Harbor Board Chair Mia Lowe faces her gravest crisis yet. "
        "Lowe announced her resignation on Monday after the ferry contract scandal.",
        title="Ferry scandal",
    )
    answer = ask("Which official announced her resignation?", [article])
    assert answer.found and answer.claims[0].text.startswith("Harbor Board Chair Mia Lowe")


# ---------------------------------------------------------------------------------------------
# Found on fresh questions written after the tuning (not from a benchmark): each gave a wrong
# short answer or answered what the articles do not hold.


def test_figures_that_count_nothing_asked() -> None:
    size = analyse("How big is the screen of the new handheld?")
    found = candidates("It sells for $549 at the store and has a 7.4 inch screen.", size)
    assert "7.4 inch" in [c.text for c in found]
    assert not any(c.text.startswith("549") for c in found)  # a price, and "at" counts nothing
    recall = analyse("How many trucks did the carmaker recall?")
    texts = [c.text for c in candidates("No five-star rating yet for its 3,878 trucks.", recall)]
    assert "3,878 trucks" in texts and "five" not in texts  # "five-star" rates
    # "two of its calendars" picks from a count, it is no count.
    texts = [c.text for c in candidates("Two of its 26 calendars sell out.", recall)]
    fits = fits_of("Two of its 26 calendars sell out.", recall)
    assert fits.get("Two", 0.0) < 1.0, texts
    runs = analyse("By how many runs did the home side win?")
    fits = fits_of("At the Cup 2023 they won by 302 runs.", runs)
    assert fits["302 runs"] == 1.0 and fits.get("2023", 0.0) < 1.0  # a year counts nothing


def test_a_name_ends_before_the_weekday_after_it() -> None:
    q = analyse("Who bought the harbor team?")
    found = candidates("Owners approved the sale of the Harbor Gulls Tuesday to Ada Lowe.", q)
    texts = [c.text for c in found]
    assert "Harbor Gulls" in texts and not any("Tuesday" in t for t in texts)


def test_a_person_is_no_place_acronym_title_or_organisation() -> None:
    q = analyse("Who designed the lighthouse museum?")
    sentence = (
        "Staff of the Harbor Trust of Coast County in New York said that NGEL and the architect "
        "Ivo Brandt, known for “Blue Harbor,” designed it."
    )
    fits = fits_of(sentence, q)
    others = ("New York", "NGEL", "Blue Harbor", "Harbor Trust of Coast County")
    assert all(fits.get(t, 0.0) < 0.5 for t in others), fits
    assert fits["Ivo Brandt"] >= 0.7
    # Nor an event: "74th Harbor Film Awards".
    fits = fits_of("The 74th Harbor Film Awards air on May 3.", q)
    assert all(fit < 0.5 for fit in fits.values()), fits
    # The initials of a name the question uses are that name ("HR" for Harbor Rugby).
    chief = analyse("Who was Harbor Rugby's chief executive before Ivo Brandt?")
    assert "HR" not in [c.text for c in candidates("HR said Ada Lowe would start in May.", chief)]


def test_a_date_asked_for_is_a_day_and_a_past_date_no_future_one() -> None:
    day = analyse("On what date will the museum reopen to visitors fully?")
    sentence = "Tours resumed earlier this year and will run fully from July 19."
    fits = fits_of(sentence, day)
    assert fits["July 19"] == 1.0 and fits["this year"] < 1.0
    when = analyse("When will the museum reopen to visitors?")
    fits = fits_of("Tours resumed earlier this year.", when)
    assert fits["this year"] < 1.0  # "earlier this year" is past
    # Beside a day, "next year" is the vaguer answer.
    sentence = "The museum reopens next year, on Jan. 21, with a new wing."
    fits = fits_of(sentence, when)
    assert fits["Jan. 21"] == 1.0 and fits["next year"] < 1.0
    fits = fits_of("The museum reopens next year.", when)
    assert fits["next year"] == 1.0
    record = analyse("When was the record price of milk set?")
    sentence = "Before prices rose earlier this year, the record had been set in July 2008."
    fits = fits_of(sentence, record)
    assert fits["July 2008"] == 1.0 and fits["this year"] < 1.0
    share = analyse("By what percentage did scam calls increase?")
    fits = fits_of("Warranty scams made up 51% of calls.", share)
    assert fits["51%"] < 1.0  # a share, not an increase
    fits = fits_of("Scam calls were up 116% on the year.", share)
    assert fits["116%"] == 1.0


def test_a_size_asked_for_has_a_unit() -> None:
    q = analyse("How big is the screen of the new handheld?")
    fits = fits_of("It is not the Deck 2 but has a 7.4 inch screen.", q)
    assert fits["7.4 inch"] == 1.0 and fits["2"] < 1.0
    assert fits_of("A 7.4-inch screen.", q)["7.4"] == 1.0


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


def test_a_question_asking_who_is_not_answered_without_a_person() -> None:
    p = passage(
        "The Harbor Trust of Coast County announced the lighthouse museum plan in New York.",
        title="Lighthouse museum plan unveiled",
    )
    assert not ask("Who designed the lighthouse museum plan?", [p]).found
    p = passage("The architect Ivo Brandt designed the lighthouse museum plan in New York.")
    answer = ask("Who designed the lighthouse museum plan?", [p])
    assert answer.found and "Ivo Brandt" in answer.text


def test_a_who_question_needs_a_quote_holding_what_it_asks() -> None:
    """A quote naming the subject and some person, but not what is asked about them ("hosted"),
    is no answer: the articles do not say who hosted."""
    question = "Who hosted the Harbor Film Awards this week?"
    nominees = passage(
        "The Harbor Film Awards air on May 3, with Ada Lowe among the nominees.",
        title="Harbor Film Awards nominations",
    )
    assert not ask(question, [nominees]).found
    host = passage("Ivo Brandt hosted the Harbor Film Awards on May 3.", title="Awards night")
    answer = ask(question, [host])
    assert answer.found and "Ivo Brandt" in answer.text


def test_more_candidates_that_cannot_answer() -> None:
    """Fresh questions, second round: a place after "at", the question's own title, a date
    the sentence puts ahead for a question about the past, a weekday for "what date"."""
    who = analyse("Which judge signed the harbor warrant?")
    sentence = "A judge signed the warrant to search at Gull-Rock."
    fits = fits_of(sentence, who)
    assert fits["Gull-Rock"] < 0.5
    fits = fits_of("A judge in Ada Lowe's trial signed it.", who)
    assert fits["Ada Lowe"] >= 0.7  # "in" before an owner's name
    sentence = "Epic sued over its Android app store, Ada Lowe said."
    fits = fits_of(sentence, who)
    assert fits["Android"] < 0.5 and fits["Ada Lowe"] >= 0.7  # "its Android": a thing
    publisher = analyse("Which publisher released Ada Lowe's memoir 'The Tide in Me'?")
    found = candidates("A press release for The Tide in Me called it brave.", publisher)
    assert "The Tide in Me" not in [c.text for c in found]
    past = analyse("On what date did the harbor bridge reopen?")
    sentence = "Work ends on October 18 and the bridge should reopen soon after."
    assert fits_of(sentence, past)["October 18"] < 1.0
    sentence = "Work ended on October 18 and the bridge reopened on Wednesday."
    fits = fits_of(sentence, past)
    assert fits["October 18"] == 1.0 and fits["Wednesday"] < 1.0
    day = analyse("On what day did the harbor bridge reopen?")
    assert fits_of(sentence, day)["Wednesday"] == 1.0


def test_a_month_and_year_is_not_a_day_and_a_comparison_is_answered_by_a_percentage() -> None:
    when = analyse("When did Ada Lowe marry Ivo Brandt?")
    texts = [c.text for c in candidates("Lowe filed for divorce in November 2006.", when)]
    assert "November 2006" in texts and "November 20" not in texts
    price = analyse("What price did the seller ask?")
    assert [c.text for c in candidates("The link was open since April 2021.", price)] == []
    assert analyse("By how much were consumer prices up over the year?").asks_change
    lower = analyse("How much lower was the risk of death among the harbor swimmers?")
    fits = fits_of("A 29% lower risk of death, the study found.", lower)
    assert fits["29%"] == 1.0


def test_no_reported_answers_no() -> None:
    question = "Were any injuries reported after the harbor storm?"
    calm = passage("No injuries were reported after the harbor storm, officials said.")
    answer = ask(question, [calm])
    assert answer.short is not None and answer.short.text == "No", answer.text


def test_who_holds_an_office_needs_a_quote_naming_the_office() -> None:
    """ "Who was the harbor board's chief executive when ...?" is not answered by a quote about
    the board that names no chief executive; one naming the office (or "CEO") answers."""
    q = analyse("Who was Harbor Board's chief executive when the ferry deal collapsed?")
    assert q.roles == ("chief executive",)
    assert analyse("Who is the new mayor of Gull Bay?").roles == ("mayor",)
    assert analyse("Which governor sent the buses?").roles == ()  # not asked by office
    deal = passage(
        "The ferry deal collapsed on Monday, Harbor Board member Ada Lowe said.",
        title="Ferry deal collapses",
    )
    assert not ask(q.text, [deal]).found
    ceo = passage(
        "The ferry deal collapsed on Monday, Harbor Board CEO Ada Lowe said.",
        title="Ferry deal collapses",
    )
    answer = ask(q.text, [ceo])
    assert answer.found and "Ada Lowe" in answer.text


def test_yes_needs_a_quote_stating_what_is_asked() -> None:
    question = "The harbor storm hit on Monday. Were any injuries reported?"
    storm = passage("The harbor storm hit the west pier on Monday, flooding the ferry terminal.")
    answer = ask(question, [storm])
    assert answer.found and answer.short is None  # the quote names no injuries: no verdict
    hurt = passage("Two injuries were reported after the harbor storm hit on Monday.")
    answer = ask(question, [hurt])
    assert answer.short is not None and answer.short.text == "Yes"


def test_a_lone_capitalised_word_is_no_sure_person() -> None:
    """Two reports naming "Gullwing" do not make it the bold answer to "who": a person is
    named in full or with a title; the quotes still show what the reports say."""
    question = "Who argued the harbor antitrust case for the ferry line?"
    first = passage(
        "The harbor antitrust case drew testimony from Gullwing executives.", chunk_id=1
    )
    second = passage(
        "Gullwing staff attended the harbor antitrust case for the ferry line.", chunk_id=2
    )
    answer = ask(question, [first, second])
    assert answer.short is None or answer.short.text != "Gullwing"
    named = passage(
        "Lawyer Ada Lowe argued the harbor antitrust case for the ferry line.", chunk_id=3
    )
    answer = ask(question, [named, second])
    assert answer.found and "Ada Lowe" in answer.text


def test_asked_on_what_date_a_weekday_is_no_answer() -> None:
    """Quotes that date the event only by a weekday or "this month" do not say on what date
    it happened: not found, rather than a quote that looks like an answer."""
    question = "On what date did the harbor museum reopen to visitors?"
    weekday = passage("The harbor museum reopened to visitors on Wednesday after a long repair.")
    assert not ask(question, [weekday]).found
    dated = passage("The harbor museum reopened to visitors on July 19 after a long repair.")
    answer = ask(question, [dated])
    assert answer.found and "July 19" in answer.text


def test_a_figure_or_weekday_is_no_person_and_bill_is_a_first_name() -> None:
    q = analyse("Which editor interviewed the harbor pilot?")
    fits = fits_of("On Wednesday 6 December, the magazine ranked the pilot No. 1.", q)
    assert all(fit < 0.5 for fit in fits.values()), fits
    fits = fits_of("The interview was led by Harbor Times editor-at-large Bill Nelson.", q)
    assert fits["Bill Nelson"] >= 0.7, fits
    fits = fits_of("Harbor Bill passed the Senate, said Lt. Ada Lowe.", q)
    assert fits.get("Harbor Bill", 0.0) < 0.5 and "Lt" not in fits, fits


def test_which_figure_asks_for_a_number_unless_it_is_a_public_one() -> None:
    assert analyse("Harbor debt passed which massive figure this week?").kind is Kind.NUMBER
    assert analyse("Which political figure opened the harbor museum?").kind is Kind.PERSON


def test_a_title_case_headline_run_is_no_person() -> None:
    q = analyse("Who scored the harbor team's winning goal?")
    fits = fits_of("Lowe fired Coast to a win over Harbor In Bay Women’s League.", q)
    assert fits.get("Harbor In Bay Women", 0.0) < 0.5, fits
    fits = fits_of("What To Know About Harbor Gulls Tonight", q)
    assert all(fit < 0.5 for fit in fits.values()), fits


def test_a_possessive_before_the_head_noun_keeps_its_kind() -> None:
    q = analyse("The harbor pilot retired on Friday. What was her date of birth?")
    assert q.kind is Kind.DATE and q.focus == "date"
    assert analyse("What was his role in the harbor film?").focus == "role"
    assert analyse("What is her name?").kind is Kind.PERSON


def test_the_decimals_of_a_figure_are_no_figure_of_their_own() -> None:
    q = analyse("How large was the harbor budget?")
    fits = fits_of("Councillors approved the P5.768-trillion harbor budget on Friday.", q)
    assert "768" not in fits, fits


def test_an_event_is_no_place() -> None:
    q = analyse("In which stadium did the harbor team play its qualifier?")
    sentence = "The team won its Harbor World Cup qualifier at Coast Arena."
    fits = fits_of(sentence, q)
    assert fits.get("Harbor World Cup", 0.0) < 0.5 and fits["Coast Arena"] > 0.5, fits
    fits = fits_of("The final was played at the Rose Bowl.", q)
    assert fits["Rose Bowl"] >= 0.5, fits


def test_a_bare_figure_is_no_sure_count_of_other_things() -> None:
    """Asked how many transistors, "two" of "two chips" may count anything: it is still quoted,
    never the bold answer; a figure followed by the things asked about is."""
    q = analyse("How many transistors does the harbor chip have?")
    assert fits_of("Harbor glued two Coast chips together.", q)["two"] < 1.0
    assert fits_of("The harbor chip packs 92 billion transistors.", q) == {
        "92 billion transistors": 1.0
    }
    answer = ask(q.text, [passage("The harbor chip is two Coast chips glued together.")])
    assert answer.short is None


def test_two_answers_that_fit_alike_leave_the_quote_without_a_bold_answer() -> None:
    """One sentence gives two figures the question could mean: picking one would be a coin
    toss shown in bold, so the quote speaks for itself."""
    question = "By how much did harbor ferry fares rise?"
    both = passage("Harbor ferry fares rose 5% on the north line and rose 7% on the south line.")
    answer = ask(question, [both])
    assert answer.found and answer.short is None and "7%" in answer.text
    one = passage("Harbor ferry fares rose 5% on every line this spring.")
    answer = ask(question, [one])
    assert answer.short is not None and answer.short.text == "5%"


def test_names_with_an_arabic_article_are_whole_and_a_leader_is_a_person() -> None:
    q = analyse("Which group claimed the harbor attack?")
    fits = fits_of("Harbor police blamed al Qaeda leader Ayman al-Zawahiri for the attack.", q)
    assert fits["al Qaeda"] > fits["Ayman al-Zawahiri"], fits
    q = analyse("Who met the harbor pilots?")
    fits = fits_of("President Abdel Fattah el-Sisi met the harbor pilots.", q)
    assert fits.get("Abdel Fattah el-Sisi", 0.0) >= 0.7, fits


def test_asked_what_year_next_year_is_no_bold_answer() -> None:
    question = "In what year will the harbor bridge reopen?"
    answer = ask(question, [passage("The harbor bridge will reopen to traffic next year.")])
    assert answer.short is None
    answer = ask(question, [passage("The harbor bridge will reopen to traffic in 2027.")])
    assert answer.short is not None and answer.short.text == "2027"


def test_amounts_in_other_currencies_are_money() -> None:
    q = analyse("How much did the harbor wall cost?")
    for sentence, amount in (
        ("The harbor wall cost NIS 3.5 billion to build.", "NIS 3.5 billion"),
        ("The harbor wall cost 40 million shekels.", "40 million shekels"),
        ("The harbor wall cost Rs 500 crore.", "Rs 500 crore"),
        ("The harbor wall cost S$2 million.", "S$2 million"),
    ):
        assert fits_of(sentence, q).get(amount) == 1.0, (sentence, fits_of(sentence, q))
