"""Relative time in a question, resolved against the date it is asked on."""

from __future__ import annotations

from datetime import date

import pytest

from bot.answer.when import Window, describe, window

FRI = date(2022, 6, 17)  # realtimeqa asks on Fridays
SAT = date(2022, 6, 18)
SUN = date(2022, 6, 19)
MON = date(2022, 6, 20)
FIRST = date(2022, 6, 1)  # a Wednesday, the 1st of a month
NEW_YEAR = date(2023, 1, 1)  # a Sunday, 1 January
LEAP = date(2024, 3, 1)  # the month before has 29 days


def d(text: str) -> date:
    return date.fromisoformat(text)


STRICT = [
    # this week: the 7 days ending on the day asked (a Friday's quiz covers Saturday..Friday)
    ("Which show was green lit this week?", FRI, "2022-06-11", "2022-06-17", "this week"),
    ("What happened this week?", MON, "2022-06-14", "2022-06-20", "this week"),
    ("What happened this week?", SUN, "2022-06-13", "2022-06-19", "this week"),
    ("What happened this week?", FIRST, "2022-05-26", "2022-06-01", "this week"),
    ("What happened this week?", NEW_YEAR, "2022-12-26", "2023-01-01", "this week"),
    ("Who resigned in the past week?", FRI, "2022-06-11", "2022-06-17", "the past week"),
    ("What was this week's top story?", FRI, "2022-06-11", "2022-06-17", "this week"),
    ("Which team won last week?", FRI, "2022-06-04", "2022-06-10", "last week"),
    ("Which team won last week?", MON, "2022-06-07", "2022-06-13", "last week"),
    ("Which team won last week?", FIRST, "2022-05-19", "2022-05-25", "last week"),
    ("Who spoke earlier this week?", FRI, "2022-06-11", "2022-06-16", "earlier this week"),
    ("Who spoke earlier this week?", MON, "2022-06-14", "2022-06-19", "earlier this week"),
    # single days
    ("Who won yesterday?", FRI, "2022-06-16", "2022-06-16", "yesterday"),
    ("Who won yesterday?", FIRST, "2022-05-31", "2022-05-31", "yesterday"),
    ("Who won yesterday?", NEW_YEAR, "2022-12-31", "2022-12-31", "yesterday"),
    ("Who won the game last night?", MON, "2022-06-19", "2022-06-19", "last night"),
    ("What did the court rule today?", FRI, "2022-06-17", "2022-06-17", "today"),
    ("Who plays tonight?", SUN, "2022-06-19", "2022-06-19", "tonight"),
    ("What fell this morning?", MON, "2022-06-20", "2022-06-20", "this morning"),
    ("What was announced earlier today?", FRI, "2022-06-17", "2022-06-17", "earlier today"),
    # weekdays: the most recent such day on or before the day asked
    ("What did the Fed say on Monday?", FRI, "2022-06-13", "2022-06-13", "on Monday"),
    ("What did the Fed say on Friday?", FRI, "2022-06-17", "2022-06-17", "on Friday"),
    ("What did the Fed say on Saturday?", FRI, "2022-06-11", "2022-06-11", "on Saturday"),
    ("What did the Fed say on Monday?", MON, "2022-06-20", "2022-06-20", "on Monday"),
    ("What did the Fed say on Sunday?", MON, "2022-06-19", "2022-06-19", "on Sunday"),
    ("What did the Fed say on Tuesday?", MON, "2022-06-14", "2022-06-14", "on Tuesday"),
    ("What did the Fed say on Sunday?", SUN, "2022-06-19", "2022-06-19", "on Sunday"),
    ("What did the Fed say on Monday?", NEW_YEAR, "2022-12-26", "2022-12-26", "on Monday"),
    ("Who was elected on Wednesday?", FIRST, "2022-06-01", "2022-06-01", "on Wednesday"),
    ("Who was elected on Thursday?", FIRST, "2022-05-26", "2022-05-26", "on Thursday"),
    ("What happened this Tuesday?", FRI, "2022-06-14", "2022-06-14", "this Tuesday"),
    ("What happened this Friday?", FRI, "2022-06-17", "2022-06-17", "this Friday"),
    ("What happened last Thursday?", FRI, "2022-06-16", "2022-06-16", "last Thursday"),
    # "last Friday" said on a Friday is a week ago, not today
    ("What happened last Friday?", FRI, "2022-06-10", "2022-06-10", "last Friday"),
    ("What happened last Monday?", MON, "2022-06-13", "2022-06-13", "last Monday"),
    ("What happened this past Sunday?", SUN, "2022-06-12", "2022-06-12", "this past Sunday"),
    ("What did the company announce Tuesday?", FRI, "2022-06-14", "2022-06-14", "Tuesday"),
    ("What was in Tuesday's budget?", FRI, "2022-06-14", "2022-06-14", "Tuesday"),
    # weekends: the one in progress, or the last one when asked on a weekday
    (
        "Which film topped the box office this weekend?",
        MON,
        "2022-06-18",
        "2022-06-19",
        "this weekend",
    ),
    (
        "Which film topped the box office this weekend?",
        FRI,
        "2022-06-11",
        "2022-06-12",
        "this weekend",
    ),
    (
        "Which film topped the box office this weekend?",
        SUN,
        "2022-06-18",
        "2022-06-19",
        "this weekend",
    ),
    (
        "Which film topped the box office this weekend?",
        SAT,
        "2022-06-18",
        "2022-06-18",
        "this weekend",
    ),
    ("What happened last weekend?", MON, "2022-06-18", "2022-06-19", "last weekend"),
    ("What happened last weekend?", FRI, "2022-06-11", "2022-06-12", "last weekend"),
    ("What happened last weekend?", SUN, "2022-06-11", "2022-06-12", "last weekend"),
    ("What happened last weekend?", SAT, "2022-06-11", "2022-06-12", "last weekend"),
    ("What happened this past weekend?", MON, "2022-06-18", "2022-06-19", "this past weekend"),
    ("What happened this weekend?", NEW_YEAR, "2022-12-31", "2023-01-01", "this weekend"),
    # months: calendar months
    ("What rose this month?", FRI, "2022-06-01", "2022-06-17", "this month"),
    ("What rose this month?", FIRST, "2022-06-01", "2022-06-01", "this month"),
    ("What rose last month?", FRI, "2022-05-01", "2022-05-31", "last month"),
    ("What rose last month?", FIRST, "2022-05-01", "2022-05-31", "last month"),
    ("What rose last month?", NEW_YEAR, "2022-12-01", "2022-12-31", "last month"),
    ("What rose last month?", LEAP, "2024-02-01", "2024-02-29", "last month"),
    ("Who quit earlier this month?", FRI, "2022-06-01", "2022-06-16", "earlier this month"),
    ("Who quit earlier this month?", FIRST, "2022-06-01", "2022-06-01", "earlier this month"),
    # years: calendar years
    ("Who has won the most this year?", FRI, "2022-01-01", "2022-06-17", "this year"),
    ("Who has won the most this year?", NEW_YEAR, "2023-01-01", "2023-01-01", "this year"),
    ("Who won last year?", FRI, "2021-01-01", "2021-12-31", "last year"),
    ("Who won last year?", NEW_YEAR, "2022-01-01", "2022-12-31", "last year"),
    ("Who left earlier this year?", FRI, "2022-01-01", "2022-06-16", "earlier this year"),
    ("Who left earlier this year?", NEW_YEAR, "2023-01-01", "2023-01-01", "earlier this year"),
]


@pytest.mark.parametrize(("question", "as_of", "start", "end", "phrase"), STRICT)
def test_a_strict_expression_sets_its_window(
    question: str, as_of: date, start: str, end: str, phrase: str
) -> None:
    assert window(question, as_of) == Window(d(start), d(end), phrase, strict=True)


RECENT = [
    ("Who recently bought the team?", "recently"),
    ("What is the most recent figure?", "recent"),
    ("Who is currently the chief executive?", "currently"),
    ("Who is the current prime minister?", "current"),
    ("Is the bridge still closed?", "still"),
    ("Who leads the party now?", "now"),
    ("Who leads the party right now?", "now"),
    ("What is the latest on the strike?", "latest"),
    ("Which is the newest phone?", "newest"),
    ("How many have died so far?", "so far"),
    ("How much has been raised to date?", "to date"),
    ("Which 1990s band reunited recently?", "recently"),  # a decade is not a date
]


@pytest.mark.parametrize(("question", "phrase"), RECENT)
@pytest.mark.parametrize(
    ("as_of", "start"),
    [(FRI, "2022-05-19"), (FIRST, "2022-05-03"), (NEW_YEAR, "2022-12-03"), (LEAP, "2024-02-01")],
)
def test_a_recency_word_prefers_the_last_thirty_days_without_insisting(
    question: str, phrase: str, as_of: date, start: str
) -> None:
    assert window(question, as_of) == Window(d(start), as_of, phrase, strict=False)


@pytest.mark.parametrize(
    "question",
    [
        "Who owns the Stillwater mine?",
        "The talks went nowhere: why?",
        "Is the author well known?",
        "What is the weekly rate?",
        "Which weekend festival sold out?",
        "Which ocean currents are warming?",
        "Which shops open on Tuesdays?",
        "How much did shoppers spend on Black Friday?",
        "Who won Super Tuesday?",
        "What happens on Good Friday?",
        "What is planned for next week?",
        "What happens next Tuesday?",
        "What did USA Today report about the bridge?",
        "Who won the election?",
        "",
    ],
)
def test_words_that_only_look_like_time_set_no_window(question: str) -> None:
    assert window(question, FRI) is None


@pytest.mark.parametrize(
    "question",
    [
        "Who won the cup in 2019?",
        "What happened on June 3, 2022?",
        "What happened on 3 June?",
        "What did the mayor say on June 3rd?",
        "Who was the latest champion in 2019?",
        "Which film opened this week in 2021?",
        "What was reported on 2022-06-13?",
        "What happened on 6/13?",
        "Which bill passed yesterday, March 4?",
    ],
)
def test_an_explicit_year_or_date_is_left_to_the_date_rule(question: str) -> None:
    assert window(question, FRI) is None


@pytest.mark.parametrize(
    ("question", "start", "end", "phrase", "strict"),
    [
        ("What happened today, this week?", "2022-06-17", "2022-06-17", "today", True),
        ("Which of this week's games on Tuesday?", "2022-06-14", "2022-06-14", "on Tuesday", True),
        ("What rose last month and last week?", "2022-06-04", "2022-06-10", "last week", True),
        (
            "Who is still mayor after yesterday's vote?",
            "2022-06-16",
            "2022-06-16",
            "yesterday",
            True,
        ),
        ("Who spoke earlier this week?", "2022-06-11", "2022-06-16", "earlier this week", True),
        # a strict window bounds the question; a recency word inside it only prefers
        ("What is the latest figure this year?", "2022-01-01", "2022-06-17", "this year", True),
        ("How many so far this year?", "2022-01-01", "2022-06-17", "this year", True),
        (
            "Who is currently leading, and who was recently fired?",
            "2022-05-19",
            "2022-06-17",
            "currently",
            False,
        ),
    ],
)
def test_the_narrowest_expression_wins(
    question: str, start: str, end: str, phrase: str, strict: bool
) -> None:
    assert window(question, FRI) == Window(d(start), d(end), phrase, strict)


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("WHICH SHOW WAS GREEN LIT THIS WEEK?", "THIS WEEK"),
        ("which show was green lit this  week?", "this  week"),
        ("What did they say On tuesday?", "On tuesday"),
        ("Yesterday, who won?", "Yesterday"),
    ],
)
def test_matching_ignores_case_and_keeps_the_words_verbatim(question: str, phrase: str) -> None:
    found = window(question, FRI)
    assert found is not None and found.phrase == phrase


def test_no_window_ends_after_the_day_asked() -> None:
    for question, as_of, *_ in STRICT:
        found = window(question, as_of)
        assert found is not None and found.start <= found.end <= as_of


@pytest.mark.parametrize(
    ("question", "as_of", "described"),
    [
        ("What happened this week?", MON, "the week of 14 June 2022"),
        ("What happened last week?", FRI, "the week of 4 June 2022"),
        ("What happened this week?", NEW_YEAR, "the week of 26 December 2022"),
        ("Who won yesterday?", MON, "19 June 2022"),
        ("What happened today?", FIRST, "1 June 2022"),
        ("What happened on Tuesday?", FRI, "14 June 2022"),
        ("What happened this weekend?", MON, "the weekend of 18 June 2022"),
        ("What rose last month?", FRI, "May 2022"),
        ("What rose this month?", FIRST, "June 2022"),
        ("What rose last month?", NEW_YEAR, "December 2022"),
        ("Who won this year?", NEW_YEAR, "2023"),
        ("Who won last year?", FRI, "2021"),
        ("Who left earlier this year?", FRI, "2022"),
        ("Who spoke earlier this week?", FRI, "11 to 16 June 2022"),
        ("Who spoke earlier this week?", FIRST, "26 to 31 May 2022"),
        ("Who spoke earlier this week?", date(2022, 6, 3), "28 May to 2 June 2022"),
        ("Who spoke earlier this week?", date(2023, 1, 3), "28 December 2022 to 2 January 2023"),
        ("Who recently bought the team?", MON, "the 30 days to 20 June 2022"),
        ("Is it still closed?", NEW_YEAR, "the 30 days to 1 January 2023"),
    ],
)
def test_describe_says_the_window_in_plain_words(
    question: str, as_of: date, described: str
) -> None:
    found = window(question, as_of)
    assert found is not None and describe(found) == described
