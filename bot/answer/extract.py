"""Short-answer candidates in a sentence: names, amounts, percentages, dates, numbers.

Rules, not a model (no NER model ships in a package we could vouch for): a name is a run of
capitalised words (with "of", "&", "de" ... between them), an amount a currency figure, and so
on. Each candidate is an exact span of the sentence, typed loosely; the answer layer scores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import pycountry

from bot.answer.question import CHANGE, Kind, Question, stem, words_of

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)(?![A-Za-z])\.?"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_SCALES = tuple("hundred thousand million billion trillion bn mn m k crore lakh".split())
_SCALE = rf"(?:{'|'.join(_SCALES)})\b"
_FIGURE = r"\d+(?:[.,]\d+)*"
_WORD_NUMBER = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|"
    r"thousands?|millions?)"
)
# The word after a figure is what it counts ("63 dumplings"), unless it is a function word
# ("$549 at the store").
_COUNTED = (
    r"(?:\s(?!(?:at|in|on|of|to|for|and|or|the|a|an|from|by|with|per|as|than|that|this|"
    r"it|its|they|their|he|she|his|her|we|who|which|is|was|are|were|be|been|has|have|had|"
    r"will|would|can|could|after|before|since|while|when|if|but|also|only|just|into|over|"
    r"under|about|some|more|most|many|other|all|both|each|no|not|so|too|up|down|out|off)\b)"
    r"[a-z]+)?"
)

_DAY_AND_MONTH = (
    rf"\b{_MONTH}\s\d{{1,2}}(?:st|nd|rd|th)?(?!\d)(?:,?\s\d{{4}})?"  # not "November 20|06"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s(?:of\s)?{_MONTH}(?:,?\s\d{{4}})?"
)
_DATE = re.compile(
    rf"{_DAY_AND_MONTH}|\b{_MONTH}\s\d{{4}}\b|\b{_WEEKDAY}\b|\b(?:19|20)\d\d\b"
    r"|\b(?:next|last|this)\s(?:week|month|year|spring|summer|fall|autumn|winter)\b"
)
# Dates whose figures count nothing: "March 23", "April 2021", "08 18 22", "6/5/2024",
# "2024-06-05".
_DAY_IN_DATE = re.compile(
    rf"{_DAY_AND_MONTH}|\b{_MONTH}\s\d{{4}}\b"
    r"|\b\d{1,2}(?P<sep>[ /.-])\d{1,2}(?P=sep)\d{2,4}\b|\b\d{4}-\d\d-\d\d\b"
)
# Currencies written before a figure by their code ("NIS 3.5 billion", "Rs 500 crore") or
# after it by their name ("40 million shekels").
_CURRENCY_CODES = (
    r"(?:USD|EUR|GBP|JPY|CNY|RMB|CHF|CAD|AUD|NZD|HKD|SGD|INR|Rs\.?|NIS|ILS|KRW|ZAR|BRL|MXN|SEK|"
    r"NOK|DKK|PLN|TRY|AED|SAR|NGN|KES|EGP|RUB)"
)
_CURRENCY_NAMES = (
    r"(?:dollars|euros|pounds|yuan|renminbi|yen|rupees|shekels|pesos|won|rand|francs|reais|"
    r"rubles|roubles|lira|dirhams|riyals|naira|baht|ringgit|rupiah|kronor|kroner|zloty)"
)
_PATTERNS: list[tuple[Kind, re.Pattern[str]]] = [
    (
        Kind.MONEY,
        re.compile(
            rf"(?:US|A|C|HK|NZ|S|R)?[$€£¥₹₩₪]\s?{_FIGURE}(?:\s?{_SCALE})?"
            rf"|\b{_CURRENCY_CODES}\s?{_FIGURE}(?:\s?{_SCALE})?"
            rf"|{_FIGURE}(?:\s?{_SCALE})?\s{_CURRENCY_NAMES}\b"
        ),
    ),
    (Kind.PERCENT, re.compile(rf"{_FIGURE}\s?(?:%|percent\b|per cent\b|percentage points\b)")),
    (Kind.DATE, _DATE),
    (
        Kind.NUMBER,
        re.compile(
            # Not the figure of a price ("$549"), nor the decimals of another figure ("768" of
            # "P5.768-trillion"), nor a word number that rates ("five-star").
            rf"(?<![$€£¥₹])(?<!\d[.,])\b{_FIGURE}(?:\s{_SCALE})?{_COUNTED}"
            rf"|\b{_WORD_NUMBER}\b(?!-(?!years?-old))(?:\s{_SCALE})?{_COUNTED}",
        ),
    ),
]

# A name: capitalised words, with short lower-case joiners between two of them; an Arabic
# article may open it or join it ("al Qaeda", "Ayman al-Zawahiri").
_NAME = re.compile(
    r"(?:\b(?:al|el)[\s-](?=[A-Z]))?(?:[A-Z][\w'’.&-]*|\d+[A-Za-z]+)"
    r"(?:\s(?:(?:of|the|and|&|de|da|del|der|van|von|du|la|le|al|for|on|in|y|bin|ibn)\s"
    r"|(?:al|el)-)?"
    r"(?:[A-Z][\w'’.&-]*|\d+[A-Za-z]*))*"
)
_OPENERS = frozenset(
    (
        "a an the this that these those it its he she his her they their we our i you there here "
        "but and or so yet if when while after before since as at in on for from by with without "
        "however meanwhile still also now then today yesterday tomorrow last next according "
        "despite although though because some many most more several other another each every "
        "what which who where why how one two three four five mr mrs ms dr"
    ).split()
)
ORG_WORDS = frozenset(
    (
        "inc corp corporation co company group bank university college school institute "
        "association council committee agency department ministry party union league club fc "
        "foundation society airlines airways motors technologies labs studios records network "
        "news times post journal court house senate congress parliament commission service fund "
        "administration authority bureau office board trust conservancy alliance federation "
        "guild research capital partners ventures holdings industries enterprises systems"
    ).split()
)
_TITLES = frozenset(
    "CEO CFO COO CTO Chairman Chairwoman Chair President Vice Prime Minister Secretary Senator "
    "Sen Rep Gov Governor Mayor Judge Justice Coach Director Head Chief Executive Founder "
    "King Queen Prince Princess Pope Dr Mr Mrs Ms Sir Dame Lord Lady General Gen Officer "
    "Actor Actress Singer Rapper Star Superstar Quarterback Lt Captain Capt Sgt".split()
)
_PERSON_CUES = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|Sir|Dame|President|Prime Minister|CEO|Senator|Sen|Rep|Gov|Governor|"
    r"Judge|Justice|Coach|King|Queen|Prince|Princess|Pope|star|actor|actress|singer|chief "
    r"executive|founder|minister|secretary|CFO|COO|Director|Chairman|Head|Executive|leader)\.?\s$"
)
_SAYS = re.compile(r"^,?\s(?:said|says|told|wrote|added|announced|who)\b")
_PLACE_CUES = re.compile(r"\b(?:in|at|from|to|across|near|of)\s$")
# "the search at Mar-a-Lago", "its Android app store": no person after these.
_NO_PERSON_BEFORE = re.compile(r"\b(?:in|at|across|near|its|their|our|your|the|a|an)\s$", re.I)
_CONTINENTS = "Africa Antarctica Asia Australia Europe Oceania"
# Calendar words and lone titles are never the name asked for.
_NOT_NAMES = re.compile(
    rf"^(?:{_WEEKDAY}|{_MONTH}(?:\s\d+)?|President|Prime|Minister|Mr|Mrs|Ms|Dr|Sir|CEO|"
    r"Chief|Senator|Governor|Officials?|Police|Photo|Getty Images|AP|AFP|Reuters)\.?$"
)


@cache
def _places() -> frozenset[str]:
    """Lower-cased names of countries (ISO 3166 names and common names), their subdivisions
    (states, provinces) and the continents: a place answer that is one of them fits surely."""
    subdivisions = {sub.name.lower() for sub in pycountry.subdivisions}
    # "North", "Central", "Western" name regions of some countries, but in news they are
    # directions: "the authoritarian North" is no sure answer to "which country".
    return _countries() | {name for name in subdivisions if not _DIRECTION.fullmatch(name)}


_DIRECTION = re.compile(
    r"(?:(?:north|south)(?:-?(?:east|west))?|east|west|central|cent(?:re|er))(?:ern)?"
)


@cache
def _countries() -> frozenset[str]:
    """Lower-cased names of countries and continents: never a city, park or river."""
    names = {"north america", "south america"} | {w.lower() for w in _CONTINENTS.split()}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                names.add(value.lower())
    return frozenset(names)


@cache
def _cities() -> frozenset[str]:
    """Lower-cased names of the subdivisions the gazetteer types as cities ("Kyiv": City,
    "Budapest": Capital city)."""
    city = re.compile(r"city|capital|municipal|metropolitan", re.I)
    return frozenset(sub.name.lower() for sub in pycountry.subdivisions if city.search(sub.type))


_CITY_NOUNS = frozenset("city cities capital capitals town towns".split())


@dataclass(frozen=True)
class Candidate:
    """A possible short answer: sentence[start:end], with how well it fits the asked kind."""

    text: str
    start: int  # in the sentence
    end: int
    kind: Kind
    fit: float  # 0..1: how surely it is of the kind asked for


def candidates(
    sentence: str, question: Question, common: Callable[[str], bool] = lambda _: False
) -> list[Candidate]:
    """Spans of sentence that could answer question, best fitting first; none already asked.

    A candidate made only of words the question already uses ("Apple" for "Which company
    did Apple buy?") is no answer. common(word) tells a capitalised word that the articles
    also write in lower case ("Earlier", "Following"): no name on its own.
    """
    kind = question.kind
    if not question.wants_entity:
        return []
    found: list[Candidate] = []
    if kind in (Kind.MONEY, Kind.PERCENT, Kind.DATE, Kind.NUMBER):
        dates = [m.span() for m in _DAY_IN_DATE.finditer(sentence)]
        for pattern_kind, pattern in _PATTERNS:
            for m in pattern.finditer(sentence):
                fit = _number_fit(kind, pattern_kind)
                if kind in (Kind.MONEY, Kind.PERCENT) and pattern_kind in (
                    Kind.MONEY,
                    Kind.PERCENT,
                ):
                    fit = _change_fit(fit, sentence[: m.start()], kind, pattern_kind, question)
                if pattern_kind is Kind.DATE and _not_the_date_asked(
                    m.group(0), sentence[: m.start()], sentence, question
                ):
                    fit = min(fit, 0.5)
                if pattern_kind is Kind.NUMBER:
                    if any(s <= m.start() < e for s, e in dates):
                        continue  # the day of "March 23" or "6/5/2024" counts nothing
                    if (
                        _counts_something_else(m.group(0), question)
                        or sentence.startswith(" of ", m.end())  # "two of its calendars"
                        or _not_an_age(sentence, m.start(), m.end(), question)
                        or (kind is Kind.NUMBER and _VAGUE.fullmatch(m.group(0)))
                        or (
                            question.asks_size
                            and " " not in m.group(0)
                            and not sentence.startswith("-", m.end())  # "7.4-inch"
                        )
                    ):
                        # a bare year or "millions" counts nothing; a size has a unit
                        fit = min(fit, 0.5)
                    elif _counts_nothing_asked(sentence, m.end(), m.group(0), question):
                        fit = min(fit, 0.9)  # "two M2 Max chips" for "how many transistors"
                if fit and _is_new(m.group(0), question):
                    found.append(Candidate(m.group(0), m.start(), m.end(), pattern_kind, fit))
    else:
        for start, end in _name_runs(sentence):
            span = _trim_name(sentence, start, end, common)
            if span is None:
                continue
            start, end = span
            text = sentence[start:end]
            if " " not in text and common(text) and text.lower() not in _places():
                continue
            pieces = _AND.split(text)
            if any(_NOT_NAMES.match(piece) for piece in pieces):
                continue  # "Ivo Brandt on Monday": the name alone is a candidate too
            if any(_asked_by_another_name(piece, question) for piece in pieces):
                continue  # "United States" for a question about the US
            if _initials_asked(text, question):
                continue  # "RA" for a question about Rugby Australia
            # "74th Harbor Awards" for a question about the Harbor Awards only numbers them
            # ("Apollo 11" still names something new).
            if _is_new(text, question, numbers=False):
                fit = _name_fit(sentence, start, end, kind, question.focus)
                if _in_asked_title(sentence, start, end, question):
                    fit = min(fit, 0.3)
                found.append(Candidate(text, start, end, kind, fit))
    # "next year, on Jan. 21", "earlier this year ... set in July 2008": the date is the answer.
    if kind is Kind.DATE and any(_ABSOLUTE.fullmatch(c.text) for c in found):
        found = [replace(c, fit=min(c.fit, 0.9)) if _RELATIVE.match(c.text) else c for c in found]
    # Overlapping spans: keep the better fitting, then the longer.
    found.sort(key=lambda c: (-c.fit, -(c.end - c.start), c.start))
    kept: list[Candidate] = []
    for c in found:
        if not any(c.start < k.end and k.start < c.end for k in kept):
            kept.append(c)
    return kept


# Names of the form "Writers' Guild", "Presidents' Day": the possessive is part of the name.
_NAMED_BY_OWNERS = ORG_WORDS | {"day", "cup"}
_POSSESSIVE = re.compile(r"['’]s\s+|(?<=s)['’]\s+")  # "Tmall's CEO", "Nichols' Uhura"
# Where a run of capitalised words may be two names: "Trudy Shan Dai and Wang Hai",
# "Officials in Portugal" (a capitalised opener, then the place).
_AND = re.compile(r"\s(?:and|&|in|on|for)\s")
_TITLE_INSIDE = re.compile(
    r"\s(?:CEO|CFO|COO|CTO|Chairman|Chairwoman|Chair|President|Director|Founder|Chief)\s"
)


def _name_runs(sentence: str) -> list[tuple[int, int]]:
    """Runs of capitalised words, cut after a possessive: "Tmall Group's CEO Trudy Shan Dai"
    is the group's name, then the CEO's."""
    runs = []
    for m in _NAME.finditer(sentence):
        start = m.start()
        for cut in _POSSESSIVE.finditer(sentence, m.start(), m.end()):
            plural = cut.group(0)[1:2] != "s"
            rest = {w.lower().strip(".,") for w in sentence[cut.end() : m.end()].split()}
            if plural and rest & _NAMED_BY_OWNERS:
                continue  # "Writers' Guild of America", "Farmers' Union": one name
            owner_end = cut.start() + (1 if plural else 2)
            runs.append((start, owner_end))
            start = cut.end()
        runs.append((start, m.end()))
    # "Harbor Board CEO Ada Lowe": the board, and the person after the title.
    titled = []
    for a, b in runs:
        for m in _TITLE_INSIDE.finditer(sentence, a, b):
            titled += [(a, m.start()), (m.end(), b)]
    runs += titled
    # "Trudy Shan Dai and Wang Hai" is two names, "Food and Drug Administration" one, and so
    # are "Police in Idaho" and "Bank of America": both readings are candidates, and fit and
    # length choose.
    split = []
    for a, b in runs:
        cuts = [m for m in _AND.finditer(sentence, a, b)]
        edges = [a, *[x for m in cuts for x in (m.start(), m.end())], b]
        split += [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)] if cuts else []
    return [(a, b) for a, b in runs + split if b > a]


_HOW_MANY = re.compile(r"\bhow many\s+((?:[\w'’-]+\s+){0,2}[\w'’-]+)", re.I)


def _things_counted(question: Question) -> frozenset[str] | None:
    """The stemmed words after "how many" ("hot dogs"), None when the question does not ask
    how many."""
    asked = _HOW_MANY.search(question.text)
    return None if asked is None else frozenset(stem(w) for w in asked.group(1).lower().split())


def _counts_something_else(figure: str, question: Question) -> bool:
    """A figure counting something other than what "how many ..." asks about: "10 minutes"
    for "how many hot dogs", "6,600 probable" for "how many positive cases"; "12 years"
    still answers "how many years" and a bare "63" anything."""
    words = figure.lower().split()
    things = _things_counted(question)
    if len(words) < 2 or things is None or words[-1] in _SCALES:
        return False
    return stem(words[-1]) not in things


def _counts_nothing_asked(sentence: str, end: int, figure: str, question: Question) -> bool:
    """A bare figure ("two", "63") for "how many <things>" with none of those things in the
    few words after it: it may count something else, so it is no sure answer."""
    things = _things_counted(question)
    if things is None or len(figure.split()) > 1:
        return False
    after = re.findall(r"[\w'’-]+", sentence[end : end + 40].lower())[:4]
    return not things & {stem(w) for w in after}


_PAST_DAY = re.compile(rf"^(?:{_WEEKDAY}|last\s\w+)$")
_VAGUE = re.compile(r"(?:19|20)\d\d|dozens|hundreds|thousands|millions")
# Dates without a day: "this year", "next month", "2023", "June 2023".
_NO_DAY = re.compile(rf"^(?:(?:next|last|this)\s\w+|(?:19|20)\d\d|{_MONTH}\s\d{{4}})$")
_ABSOLUTE = re.compile(rf"{_DAY_AND_MONTH}|\b{_MONTH}\s\d{{4}}|(?:19|20)\d\d")
_RELATIVE = re.compile(r"(?:next|last|this)\s\w+$")
_AHEAD = re.compile(
    r"\b(?:will|should|(?:expected|set|scheduled|due|poised|on track) to|plans? to)\b", re.I
)
_PAST_BEFORE = re.compile(r"\b(?:earlier|since|ago|previously)\s$", re.I)


def _not_the_date_asked(date: str, before: str, sentence: str, question: Question) -> bool:
    """A date that cannot answer: no day (or only a weekday) for "on what date", a date in a
    sentence that looks ahead for a question about the past, or a past date for a question
    asking when something will happen."""
    if question.focus in ("date", "day") and _NO_DAY.match(date):
        return True
    if question.focus == "date" and re.fullmatch(_WEEKDAY, date):
        return True  # "on Wednesday" is a day, not a date
    if question.asks_past and _AHEAD.search(sentence):
        return True  # "should be on track by October 18" for "when did ..."
    if question.asks_future and _PAST_BEFORE.search(before[-12:]):
        return True  # "resumed earlier this year"
    return _past_for_future(date, before, question)


_FUTURE_BEFORE = re.compile(
    r"\b(?:will|would|shall|next|until|scheduled|expected|due|set to|plans? to|is to|are to)\b"
    r"[^.;]*$",
    re.I,
)


def _past_for_future(date: str, before: str, question: Question) -> bool:
    """A weekday (in news, mostly a day of the week reported on) or "last week" for a
    question asking when something will happen; not a weekday the sentence puts ahead ("will
    open on Friday")."""
    if not (_PAST_DAY.match(date) and question.asks_future):
        return False
    return not (date[0].isupper() and _FUTURE_BEFORE.search(before[-60:]))


# Written: the verb, or a bare "up"/"down" right before the figure ("down $1.06", "up 60%"),
# not the particle of another verb ("making up 51% of calls").
_PHRASAL = r"(?:make|makes|made|making|add|adds|added|adding|sum|sums|summed|end|ends|ended|set)"
_ABOUT = r"(?:by\s+)?(?:(?:about|around|nearly|almost|more than|over|some)\s+)?$"
_CHANGE_BEFORE = re.compile(rf"\b(?:{CHANGE}|up|down)\s+{_ABOUT}", re.I)
_PHRASAL_BEFORE = re.compile(rf"\b{_PHRASAL}\s+(?:up|down)\s+{_ABOUT}", re.I)


def _change_fit(fit: float, before: str, asked: Kind, seen: Kind, question: Question) -> float:
    """A figure written as a change ("down $1.06", "up 60%") answers how much something rose
    or fell, not what it cost; and a level ("$3.96") does not answer how much it changed.
    A change asked in dollars may be given as a percentage."""
    if question.asks_comparison:
        return 1.0  # "how much lower was the risk?": "29% lower", "$5 cheaper"
    is_change = bool(_CHANGE_BEFORE.search(before[-40:])) and not _PHRASAL_BEFORE.search(
        before[-40:]
    )
    if question.asks_change != is_change:
        return min(fit, 0.5)
    if question.asks_change and asked is Kind.MONEY and seen is Kind.PERCENT:
        return 1.0
    return fit


_AGE_BEFORE = re.compile(r"\b(?:aged|age of|age)\s$", re.I)
_AGE_AFTER = re.compile(r"^(?:-years?-old|\syears?\sold|\syear-old)\b", re.I)
# "Ivo Brandt, 17, landed ...": an age between commas after a name.
_AGE_APPOSITION = (re.compile(r"[A-Z][\w'’-]*,\s$"), re.compile(r"^,"))


def _not_an_age(sentence: str, start: int, end: int, question: Question) -> bool:
    """For "how old": a figure not written as an age ("17-year-old", "17 years old", "aged
    17", "Ivo Brandt, 17,")."""
    if not question.asks_age:
        return False
    before, after = sentence[:start], sentence[end:]
    figure = sentence[start:end]
    if re.search(r"\syears?$", figure) and re.match(r"^\s?old\b", after):
        return False  # the figure pattern took "17 years" of "17 years old"
    apposition = _AGE_APPOSITION[0].search(before) and _AGE_APPOSITION[1].match(after)
    return not (_AGE_BEFORE.search(before) or _AGE_AFTER.match(after) or apposition)


def _number_fit(asked: Kind, seen: Kind) -> float:
    if asked == seen:
        return 1.0
    if asked is Kind.NUMBER and seen in (Kind.MONEY, Kind.PERCENT):
        return 0.6
    if asked is Kind.MONEY and seen is Kind.NUMBER:
        return 0.4
    return 0.0


def _trim_name(
    sentence: str, start: int, end: int, common: Callable[[str], bool]
) -> tuple[int, int] | None:
    """The name without an opening common word or a trailing possessive/full stop; None if
    nothing name-like is left."""
    text = sentence[start:end]
    words = text.split()
    prefix = sentence[:start].rstrip()
    opening = not prefix or prefix.endswith((".", ":", '"', "“", "\n"))
    lead = 0
    # A capital that opens a sentence is no evidence of a name: drop common openers ("But",
    # "However"); "The" only there, since mid-sentence it belongs to a name ("The Tony Awards").
    while words and (
        words[0].lower().strip(".,") in _OPENERS or (opening and lead == 0 and common(words[0]))
    ):
        if words[0] == "The" and not (opening and lead == 0):
            break
        lead += len(words[0]) + 1
        words = words[1:]
    # A title before a name is a cue, not part of it: "CEO Trudy Shan Dai".
    while len(words) > 1 and words[0].strip(".,") in _TITLES:
        lead += len(words[0]) + 1
        words = words[1:]
    if not words or (len(words) == 1 and words[0].strip(".,") in _TITLES):
        return None  # a title alone ("Lt." of "Lt. Gov. Kathy Hochul") names nobody
    start += lead
    text = sentence[start:end]
    # "the Denver Harbor Gulls Tuesday": the day it happened, not part of the name.
    day = _TRAILING_DAY.search(text)
    if day and day.start() > 0:
        end -= len(text) - day.start()
        text = text[: day.start()]
    for suffix in ("'s", "’s", ".", ",", "-", "’", "'"):
        if text.endswith(suffix) and not re.search(r"\b[A-Z]\.$", text):
            end -= len(suffix)
            text = text[: -len(suffix)]
    if not text or not (text[0].isupper() or text[0].isdigit() or _ARTICLE.match(text)):
        return None
    return start, end


_ARTICLE = re.compile(r"(?:al|el)[\s-][A-Z]")  # "al Qaeda", "el-Sisi"


_TRAILING_DAY = re.compile(rf"(?:\s(?:on|of|and|in|for|&))?\s{_WEEKDAY}(?:['’]s)?$")
_ACRONYM = re.compile(r"[A-Z]{2,6}")
# A name holding one of these names an event or a law, not a person ("74th Emmy Awards").
_EVENT_WORDS = frozenset(
    "award awards prize prizes festival championship championships cup games olympics series "
    "conference summit ceremony tournament act bill treaty accord trial lawsuit hearing "
    "election war open bowl".split()
)
# Two names ("Ada and Ivo"), an organisation "of" somewhere, or a title-case headline's words
# ("What To Know About", "England In UEFA Women"): no person's name holds these.
_FUNCTION_WORDS_IN_NAMES = frozenset("and & of in on for to at about with from by".split())
# Events named after their venue: "the Rose Bowl" is a stadium too.
_PLACE_EVENTS = frozenset({"bowl"})
# A name ending in one of these is a place ("Coast County", "Glacier Bay National Park").
_PLACE_NOUNS = frozenset(
    "county city state island river park lake mountain valley street avenue square bay "
    "airport stadium arena district province region".split()
)
_QUOTES_BEFORE = ("“", '"', "‘", "'")
# No person's name holds a figure or a weekday ("Wednesday 6 December", "No. 1"); months are
# names too ("Theresa May").
_CALENDAR_OR_FIGURE = re.compile(rf"\d|\b{_WEEKDAY}\b")


# Place nouns the gazetteer (countries, their subdivisions, continents) answers; "" is "where".
# Many islands are countries or provinces; "area", "place" and "destination" can be anything.
_AREAS = frozenset(
    "country countries nation nations state states continent continents region regions "
    "province provinces territory territories county counties island islands area areas "
    "place places location locations destination destinations".split()
) | {""}


def _name_fit(sentence: str, start: int, end: int, kind: Kind, focus: str = "") -> float:
    text = sentence[start:end]
    words = text.split()
    before = sentence[max(0, start - 30) : start]
    after = sentence[end : end + 12]
    lowered = {w.lower().strip(".,") for w in words}
    fit = 0.5
    if kind is Kind.PERSON:
        if lowered & ORG_WORDS:
            return 0.2
        # Not a person: an acronym ("NGEL"), a place of two words or more ("New York"), two
        # names ("Ada and Ivo"), an organisation "of" somewhere, a quoted title.
        if (
            _ACRONYM.fullmatch(text)
            or text.lower() in _places()
            or text.lower() in _cities()
            or lowered & _FUNCTION_WORDS_IN_NAMES
            or words[-1].lower() in _PLACE_NOUNS
            or {w.lower().strip(".,") for w in words[1:]} & _EVENT_WORDS  # not "Bill Nelson"
            or _ORDINAL.match(text)
            or _CALENDAR_OR_FIGURE.search(text)
            or sentence[max(0, start - 1) : start] in _QUOTES_BEFORE
            or (_NO_PERSON_BEFORE.search(before) and not re.match(r"['’]", after))
        ):
            return 0.3
        if 2 <= len(words) <= 4:
            fit += 0.2
        if _TITLE_INSIDE.search(text):
            return 0.6  # "Harbor Board CEO Ada Lowe": the person after the title fits better
        if _PERSON_CUES.search(before) or _SAYS.match(after):
            fit += 0.3
    elif kind is Kind.ORGANISATION:
        if lowered & ORG_WORDS:
            fit += 0.3
        elif _PERSON_CUES.search(before):
            return 0.3  # "al Qaeda leader Ayman al-Zawahiri" is a person
    elif kind is Kind.PLACE:
        place = text.lower()
        if focus not in _AREAS:
            # "Which national park / city?": a name ending in the noun asked ("Glacier Bay
            # National Park", "Mexico City") fits; a country is another kind of place, and so
            # is a state unless a city is asked for and the gazetteer calls it a city.
            if stem(words[-1]) == stem(focus):
                return 0.9
            if focus in _CITY_NOUNS and place in _cities():
                return 1.0
            if place in _countries() or (focus not in _CITY_NOUNS and place in _places()):
                return 0.4
        elif place in _places():
            return 1.0
        if lowered & _EVENT_WORDS - _PLACE_EVENTS and words[-1].lower() not in _PLACE_NOUNS:
            return 0.3  # "CONMEBOL World Cup" is no stadium, "Paris Olympics" no city
        if _PLACE_CUES.search(before):
            fit += 0.2
    return min(fit, 1.0)


_QUOTED = re.compile(r"[“\"]([^”\"]{3,120})[”\"]")


def _in_asked_title(sentence: str, start: int, end: int, question: Question) -> bool:
    """The span is part of a quoted title that holds a name the question asks about ("The
    Original Series" of “Star Trek: The Original Series” when the question names "Star
    Trek"): the question's own subject, not its answer."""
    for m in _QUOTED.finditer(sentence):
        if m.start(1) <= start and end <= m.end(1):
            rest = sentence[m.start(1) : start] + " " + sentence[end : m.end(1)]
            if words_of(rest) & question.names:
                return True
    return False


_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)")


# The names of a country or union, as news writes them: "the United States" is no answer to a
# question about the US.
_OTHER_NAMES = tuple(
    tuple(group.split("|"))
    for group in (
        "US|U.S.|USA|U.S.A.|United States|United States of America|America",
        "UK|U.K.|Britain|Great Britain|United Kingdom",
        "EU|E.U.|European Union",
        "UN|U.N.|United Nations",
        "UAE|U.A.E.|United Arab Emirates",
    )
)


def _asked_by_another_name(text: str, question: Question) -> bool:
    """text is one name of a country the question names by another ("United States", "US")."""
    for names in _OTHER_NAMES:
        if text in names:
            return any(
                re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", question.text) for name in names
            )
    return False


def _initials_asked(text: str, question: Question) -> bool:
    """text is the initials of a name the question uses ("RA" for "Rugby Australia")."""
    if not _ACRONYM.fullmatch(text):
        return False
    for m in _NAME.finditer(question.text):
        capitals = [w[0] for w in m.group(0).split() if w[0].isupper()]
        if len(capitals) >= 2 and "".join(capitals) == text:
            return True
    return False


_FUNCTION_WORDS = frozenset(
    "a an the of and or in on at to for from by with as is are was were be it its me my you "
    "your we our us they them their he him his she her i this that".split()
)


def _is_new(text: str, question: Question, numbers: bool = True) -> bool:
    """Some word of text is not among the question's words (numbers: ordinals such as "74th"
    count as words)."""
    words = {stem(w) for w in re.findall(r"[\w'’]+", text.lower().replace("’", "'"))}
    words = {w for w in words if w not in ("the", "of", "and")}
    content = {w for w in words if w not in _FUNCTION_WORDS}
    if content:  # "The Woman in Me" is a title the question names: "in", "me" are not new
        words = content
    words.discard("")
    if not numbers:
        words = {w for w in words if not _ORDINAL.fullmatch(w)}
    asked = question.words | question.names
    return bool(words - asked)
