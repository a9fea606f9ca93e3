"""Relative time in a question ("this week", "yesterday", "the latest") as a date window.

Resolved against the date the question is asked on; pure, no clock and no I/O. A question that
names a year or a date ("in 2019", "on June 3") gets no window here: explicit dates are read
by their own rule.

Choices, each one a reading of how news questions use the words:
- "this week" is the 7 days ending on the day asked, not the calendar week: a news quiz asked
  on a Friday is about Saturday..Friday. "last week" is the 7 days before those.
- "on Tuesday", "this Tuesday" and a bare "Tuesday" ("announced Tuesday") are the most recent
  Tuesday on or before the day asked; "last Tuesday" and "this past Tuesday" are strictly before
  it (said on a Tuesday they mean a week ago). "next Tuesday" is the future: no window.
- "this weekend" is the weekend in progress, or the last one when asked on a weekday; "last
  weekend" is the same on a weekday and the one before when asked on a weekend.
- Months and years are calendar ones. "earlier this week/month/year" stop the day before.
- "recently", "currently", "still", "now", "latest", "newest", "so far", "to date" are the 30
  days up to the day asked, not strict: recent evidence is preferred, older may answer.
- No window ends after the day asked: the question date never admits later news.
- When several expressions appear, a strict one wins over a recency word (it bounds the
  question: "the latest figure this year" is about this year), then the narrowest, then the
  first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

RECENT_DAYS = 30
MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()
WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()

# Words that make a weekday a named day or a future one: "Black Friday", "next Tuesday".
NOT_A_PAST_WEEKDAY = frozenset(
    "next every coming following super black good cyber ash holy maundy giving blue easter "
    "palm bloody".split()
)

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_MONTH_ABBREVIATIONS = f"{_MONTHS}|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec"
# A year (not "$2000", "1990s" or "2000%"), "June 3(rd)", "3 June", "6/13".
EXPLICIT_DATE = re.compile(
    rf"(?<![\d$£€.,])\b(?:1[89]|20)\d\d\b(?!%|[.,]\d)"
    rf"|\b(?:{_MONTH_ABBREVIATIONS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\b"
    r"|\b\d{1,2}/\d{1,2}\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Window:
    """The dates a question is about, start..end inclusive, never after the day it was asked.

    phrase is the question's own words that set it. strict: the question is only about the
    window ("this week", "yesterday"); not strict: recent evidence is preferred but older may
    answer ("recently", "still", "latest").
    """

    start: date
    end: date
    phrase: str
    strict: bool

    @property
    def last_report(self) -> date:
        """The last day its news is published on: the day after the window (news of
        "yesterday" is in today's paper)."""
        return self.end + timedelta(days=1)

    def reported_on(self) -> list[date]:
        """The days its news is published on, start..last_report."""
        days = (self.last_report - self.start).days + 1
        return [self.start + timedelta(days=n) for n in range(days)]


# (the day asked, the matched words in lower case) -> (start, end)
Resolve = Callable[[date, str], tuple[date, date]]


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    resolve: Resolve
    strict: bool = True
    vetoed_after: frozenset[str] = frozenset()  # a word just before the match that cancels it


def _rule(
    pattern: str, resolve: Resolve, strict: bool = True, vetoed_after: frozenset[str] = frozenset()
) -> _Rule:
    return _Rule(re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE), resolve, strict, vetoed_after)


def _days(n: int, ago: int = 0) -> Resolve:
    """The n days ending ago days before the day asked."""
    return lambda as_of, _: (as_of - timedelta(days=ago + n - 1), as_of - timedelta(days=ago))


def _earlier(start_of: Callable[[date], date]) -> Resolve:
    """From the start of the period to the day before the day asked (the start, if that is it)."""

    def resolve(as_of: date, _: str) -> tuple[date, date]:
        start = start_of(as_of)
        return start, max(start, as_of - timedelta(days=1))

    return resolve


def _week_start(as_of: date) -> date:
    return as_of - timedelta(days=6)


def _month_start(as_of: date) -> date:
    return as_of.replace(day=1)


def _year_start(as_of: date) -> date:
    return as_of.replace(month=1, day=1)


def _this_month(as_of: date, _: str) -> tuple[date, date]:
    return _month_start(as_of), as_of


def _last_month(as_of: date, _: str) -> tuple[date, date]:
    end = _month_start(as_of) - timedelta(days=1)
    return end.replace(day=1), end


def _this_year(as_of: date, _: str) -> tuple[date, date]:
    return _year_start(as_of), as_of


def _last_year(as_of: date, _: str) -> tuple[date, date]:
    return date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31)


def _weekday(as_of: date, words: str) -> tuple[date, date]:
    *before, name = words.split()
    back = (as_of.weekday() - WEEKDAYS.index(name)) % 7
    if back == 0 and ("last" in before or "past" in before):
        back = 7
    day = as_of - timedelta(days=back)
    return day, day


def _weekend(as_of: date, words: str) -> tuple[date, date]:
    saturday = as_of - timedelta(days=(as_of.weekday() - 5) % 7)
    if words.startswith("last") and as_of.weekday() >= 5:
        saturday -= timedelta(days=7)
    return saturday, min(saturday + timedelta(days=1), as_of)


_RULES = (
    _rule(r"(?<!usa\s)(?:earlier\s+)?today(?!\s+show)|tonight", _days(1)),
    _rule(r"this\s+(?:morning|afternoon|evening)", _days(1)),
    _rule(r"yesterday|last\s+night", _days(1, ago=1)),
    _rule(r"(?:this|the)\s+past\s+week|past\s+week|this\s+week", _days(7)),
    _rule(r"last\s+week", _days(7, ago=7)),
    _rule(r"earlier\s+this\s+week", _earlier(_week_start)),
    _rule(r"(?:this\s+past|this|last|past)\s+weekend", _weekend),
    _rule(
        rf"(?:(?:on|this\s+past|this|last|past)\s+)?(?:{'|'.join(WEEKDAYS)})",
        _weekday,
        vetoed_after=NOT_A_PAST_WEEKDAY,
    ),
    _rule(r"this\s+month", _this_month),
    _rule(r"last\s+month", _last_month),
    _rule(r"earlier\s+this\s+month", _earlier(_month_start)),
    _rule(r"this\s+year", _this_year),
    _rule(r"last\s+year", _last_year),
    _rule(r"earlier\s+this\s+year", _earlier(_year_start)),
    _rule(
        r"recently|recent|currently|current|still|now|nowadays|these\s+days|latest|newest"
        r"|so\s+far|thus\s+far|to\s+date",
        _days(RECENT_DAYS),
        strict=False,
    ),
)


def window(question: str, as_of: date) -> Window | None:
    """The date window a question's relative time words set, or None.

    Args:
        question: the question as asked.
        as_of: the date it was asked on.

    Returns:
        The window of the narrowest expression (a strict one before a recency word), or None
        when the question has none or names an explicit year or date.
    """
    if EXPLICIT_DATE.search(question):
        return None
    found = list(_matches(question, as_of))
    if not found:
        return None
    _, best = min(found, key=lambda f: (not f[1].strict, (f[1].end - f[1].start).days, f[0]))
    return best


def _matches(question: str, as_of: date) -> Iterator[tuple[int, Window]]:
    """Each expression found, with where it starts."""
    for rule in _RULES:
        for match in rule.pattern.finditer(question):
            before = question[: match.start()].split()
            if before and before[-1].lower() in rule.vetoed_after:
                continue
            phrase = match.group()
            start, end = rule.resolve(as_of, " ".join(phrase.lower().split()))
            yield match.start(), Window(start, end, phrase, rule.strict)


def describe(w: Window) -> str:
    """The window in plain words: "the week of 13 June 2022", "20 June 2022", "June 2022"."""
    if not w.strict:
        return f"the {(w.end - w.start).days + 1} days to {day(w.end)}"
    words = w.phrase.lower().split()
    if "year" in words:
        return str(w.start.year)
    if "month" in words:
        return f"{MONTH_NAMES[w.start.month - 1]} {w.start.year}"
    if "weekend" in words:
        return f"the weekend of {day(w.start)}"
    if "week" in words and (w.end - w.start).days == 6:
        return f"the week of {day(w.start)}"
    if w.start == w.end:
        return day(w.start)
    if (w.start.year, w.start.month) == (w.end.year, w.end.month):
        return f"{w.start.day} to {day(w.end)}"
    if w.start.year == w.end.year:
        return f"{w.start.day} {MONTH_NAMES[w.start.month - 1]} to {day(w.end)}"
    return f"{day(w.start)} to {day(w.end)}"


def day(d: date) -> str:
    """'13 June 2022', with no locale."""
    return f"{d.day} {MONTH_NAMES[d.month - 1]} {d.year}"
