"""What a question asks: the kind of answer, the constraints it must meet, and its parts.

Rules anyone can read, no model: the wh-word and the noun after "which"/"what" decide the kind
of answer; years, numbers and capitalised names in the question are constraints that evidence
must not contradict; a question about several reports splits into its clauses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import snowballstemmer

from index.search import question_clauses
from index.store import content_words


class Kind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"
    PLACE = "place"
    DATE = "date"
    NUMBER = "number"
    MONEY = "money"
    PERCENT = "percent"
    YES_NO = "yes/no"
    NAME = "name"  # a named thing of another kind: a show, a law, a virus, a brand
    DESCRIPTION = "description"  # why, how, what happened: a sentence is the answer


# The noun after "which"/"what" names the kind of the answer ("which country" -> a place).
_HEAD_KINDS: dict[Kind, str] = {
    Kind.PERSON: (
        "person people man woman men women boy girl player star actor actress singer rapper "
        "musician celebrity ceo chief leader president minister official executive founder coach "
        "manager athlete driver author writer director artist politician senator governor judge "
        "justice king queen prince princess pope lawmaker candidate spokesperson economist "
        "analyst investor billionaire entrepreneur journalist host comedian quarterback pitcher "
        "striker goalkeeper captain chairman chairwoman mayor member icon legend "
        "designer scientist researcher doctor prodigy individual head composer songwriter poet "
        "novelist painter illustrator photographer architect editor reporter correspondent "
        "anchor columnist critic lawyer attorney prosecutor officer commander general "
        "speaker nominee republican democrat teenager victim suspect pilot astronaut chef boxer "
        "golfer swimmer gymnast receiver linebacker outfielder infielder catcher midfielder "
        "defender defenseman winger goalie"
    ),
    Kind.ORGANISATION: (
        "company companies firm business corporation brand retailer chain startup maker "
        "manufacturer carmaker automaker bank lender insurer airline network broadcaster "
        "channel outlet newspaper publication magazine studio label team club franchise "
        "organization organisation group agency institution university college school "
        "party union league federation association charity platform service app website site "
        "exchange fund giant conglomerate operator provider developer publisher supermarket "
        "store militia"
    ),
    Kind.PLACE: (
        "country countries nation state city town village capital continent region province "
        "territory island county district neighborhood neighbourhood place location venue "
        "stadium park river lake mountain sea ocean border airport port area borough"
    ),
    Kind.DATE: "year day date month week decade century season era time",
    Kind.MONEY: "price cost fee salary sum fine budget value valuation revenue amount worth",
    Kind.PERCENT: "percentage percent share proportion rate",
    Kind.NUMBER: (
        "number magnitude age score total count height length distance weight size figure"
    ),
    # Things with names of their own, or common nouns: the answer is a name or a noun phrase.
    Kind.NAME: (
        "show series film movie documentary book novel song album game product item vehicle "
        "car model phone device drug vaccine medicine virus variant disease law bill policy "
        "award prize trophy festival tournament championship role character animal species "
        "breed plant food dish drink beverage ship rocket spacecraft mission satellite "
        "telescope weapon missile codename nickname"
    ),
}
_HEADS = {word: kind for kind, words in _HEAD_KINDS.items() for word in words.split()}

_AUXILIARIES = frozenset(
    "is are was were do does did has have had can could will would should shall may might must "
    "isn't aren't wasn't weren't don't doesn't didn't hasn't haven't".split()
)
_STEMMER = snowballstemmer.stemmer("english")
# "before/after" that orders reports ("... before The Verge reported ...", "After the report
# by ..."), not any "after" ("reopened after repairs").
_ORDER = re.compile(
    r"(?:^|\b)(before|after|prior to|earlier than|later than)\s+"
    r"(?:(?!before\b|after\b)[\w'’|&.-]+\s+){0,6}?"
    r"(?:report(?:ed|s)?|article|published|piece|story|coverage)\b",
    re.I,
)
MIN_PART_WORDS = 4
# "a Bloomberg article", "the report by The Wall Street Journal": an outlet the question cites.
_OUTLET_NAME = r"((?:[A-Z][\w&.]*(?:['’][A-Z]\w*)?\s+(?:[-|]\s+)?){1,6}?)"
_CITED_OUTLET = (
    re.compile(rf"\b(?:an?|the)\s+{_OUTLET_NAME}(?:article|report|piece|story|coverage)s?\b"),
    re.compile(
        r"\b(?:article|report|piece|story|coverage)s?\s+(?:from|by|in)\s+(?:the\s+)?"
        r"((?:[A-Z][\w&.]*(?:['’][A-Z]\w*)?(?:\s+(?:[-|]\s+)?|(?=[,.?;:]|$))){1,6})"
    ),
)
_NEGATED_CHOICE = re.compile(
    r"\bwhich (?:one )?of (?:these|the following|them)\b.*(?:\bnot\b|n['’]t\b|\bnever\b)", re.I
)
_DIFFERENCE = re.compile(
    r"\b(?:inconsisten\w*|differ\w*|discrepan\w*|contradict\w*|disagree\w*|chang\w*)\b", re.I
)
_CURRENT = re.compile(
    r"\b(?:this (?:week|weekend|month|year|season)|recent(?:ly)?|currently|now|latest|today|"
    r"yesterday|so far|to date|as of|on (?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|"
    r"Sunday))\b",
    re.I,
)
_WH = re.compile(r"\b(who|whom|whose|when|where|why|how|which|what)\b", re.I)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


@dataclass(frozen=True)
class Question:
    """A question read before its answer is looked for."""

    text: str
    kind: Kind
    focus: str  # the noun after which/what ("show", "country"); a yes/no question's own clause
    words: frozenset[str]  # content words, crudely stemmed
    names: frozenset[str]  # proper names and numbers asked about, stemmed like words
    years: frozenset[str]
    parts: tuple[str, ...]  # the clauses of a multi-part question; () for a simple one
    order: str = ""  # "before" / "after" when a yes/no question asks about the order of reports
    # A yes/no question that asks whether reports differ ("was there a change ...?"): found
    # evidence shows no difference, so the answer is No unless a difference is shown.
    asks_difference: bool = False
    # "Which of these is not ...?": a pick among options the question does not give, by what
    # is absent; no quote can show an absence.
    negated_choice: bool = False
    # An either-or question's two options ("consistent or inconsistent", "larger or smaller"),
    # as written: the answer is one of them, never Yes or No.
    options: tuple[str, ...] = ()
    # It asks about the present ("this week", "recently", "on Tuesday"): not answered from
    # articles long before the newest indexed one.
    current: bool = False


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """The Snowball (Porter 2) stem of a lower-cased word, so 'pointed' meets 'point' and
    'Alibaba's' meets 'Alibaba'."""
    word = word.lower()
    if word.endswith("'s"):
        word = word[:-2]
    return str(_STEMMER.stemWord(word))


def words_of(text: str) -> frozenset[str]:
    """Content words of text, stemmed."""
    return frozenset(stem(w) for w in content_words(text.replace("’", "'")))


def analyse(text: str, clauses: tuple[str, ...] | None = None) -> Question:
    """Read a (cleaned) question; clauses: its question_clauses, when already read
    (index.search.Query.clauses)."""
    kind, focus = _kind(text)
    order = ""
    parts = tuple(question_clauses(text)) if clauses is None else clauses
    match = _ORDER.search(text) if kind is Kind.YES_NO else None
    # "After X reported ..., did Y ...?" sets the scene; the order is asked only inside the
    # question ("Did X report ... before Y reported ...?").
    if match is not None and match.start() > 0:
        order = "after" if match.group(1).lower() in ("after", "later than") else "before"
        first, second = text[: match.start()].strip(" ,"), text[match.start() :].strip(" ,?")
        if not parts and min(len(first.split()), len(second.split())) >= MIN_PART_WORDS:
            parts = (first, second)
    return Question(
        text=text,
        kind=kind,
        focus=focus,
        words=words_of(text),
        names=_names(text),
        years=frozenset(_YEAR.findall(text)),
        parts=parts,
        order=order,
        # Only where the difference is what is asked, not part of a claim being checked
        # ("Does X say A, while Y says B, indicating a difference?").
        asks_difference=kind is Kind.YES_NO and bool(_DIFFERENCE.search(focus)),
        negated_choice=bool(_NEGATED_CHOICE.search(text)),
        options=_options(text) if kind is Kind.YES_NO else (),
        # "on Tuesday, November 3, 2020" names its time: the year constraint applies instead.
        current=bool(_CURRENT.search(text)) and not _YEAR.search(text),
    )


# What opens a part of a multi-part question before its claim: "and is accused of ...",
# "who has been reported ...", "yet is also considered ...".
_PART_LEAD = re.compile(r"^(?:[\s,;]*\b(?:and|but|yet|while|also|who|which|that|whom)\b)+", re.I)


def part_questions(q: Question) -> list[str]:
    """Each part of a multi-part question asked on its own, with the phrase the question opens
    with ("Which company", "Who"): "Which company, reported by X to do A, and
    accused by Y of B?" gives "Which company, reported by X to do A?" and "Which company accused
    by Y of B?". [] for a simple or yes/no question, and for one whose asking phrase comes after
    sentences or clauses that set the scene (those are not parts of what it asks)."""
    if q.kind is Kind.YES_NO or len(q.parts) < 2:
        return []
    head = _opening_head(q)
    if not head:
        return []
    out = []
    for part in sorted(q.parts, key=q.text.find):
        if part.startswith(head):  # the part the question opens with
            if len(part.split()) - len(head.split()) >= MIN_PART_WORDS:
                out.append(part.rstrip(" ,;?") + "?")
            continue
        claim = _PART_LEAD.sub("", part).strip(" ,;?")
        if len(claim.split()) >= MIN_PART_WORDS:
            out.append(f"{head} {claim}?")
    return out


def _opening_head(q: Question) -> str:
    """The phrase a question opens with when it asks for someone or something, as written
    ("Which NFL player", "Who"); "" for any other. Only such a thing is described by each of
    the parts: in "How much will X pay under the deal, which puts races on TV?" the clause is
    about the deal, not the amount."""
    if q.focus:
        head = rf"(?:which|what)\b(?:\s+[\w'’-]+){{0,6}}?\s+{re.escape(q.focus)}\b"
        m = re.match(head, q.text, re.I)
        if m:
            return m.group()
    return "Who" if re.match(r"who\b", q.text, re.I) else ""


_EITHER_OR = re.compile(r"\b([A-Za-z]+)\s*(?:\bor\b|/)\s*(?:an?\s+)?([A-Za-z]+)\b")
_NEGATIONS = ("in", "im", "il", "ir", "un", "dis", "non", "non-")
# Options that say reports agree, and those that say they differ.
_SAME = frozenset(
    "same similar similarly alike agree agrees agreed agreement align aligns aligned consistent "
    "consistently consistency".split()
)
_DIFFERENT = re.compile(
    r"^(?:differ\w*|different|distinct|inconsistent\w*|disagree\w*|chang\w*|contradict\w*)$",
    re.I,
)
# Opposites, either way round ("larger or smaller", "smaller or larger").
_OPPOSITES = frozenset(
    pair
    for written in (
        "larger/smaller more/less higher/lower better/worse increase/decrease positive/negative "
        "earlier/later win/loss"
    ).split()
    for pair in (tuple(written.split("/")), tuple(reversed(written.split("/"))))
)
# "Do the reports agree on X, or do they present different Y?": the second option is a
# clause saying they differ.
_OR_DIFFERENT = re.compile(
    r",?\s+or\s+(?:do|does|did|is|are|was|were|has|have)\b[^?]*?\b(differ\w*|different|"
    r"inconsistent|disagree\w*|contradict\w*)\b",
    re.I,
)


def _options(text: str) -> tuple[str, ...]:
    """The two options of an either-or question, as written: a word and its negation
    ("consistent or inconsistent", "agree/disagree"), opposites ("larger or smaller"), or
    agreement against a clause of difference ("Do they agree on X, or do they differ?")."""
    for m in _EITHER_OR.finditer(text):
        first, second = m.group(1), m.group(2)
        a, b = first.lower(), second.lower()
        if (a, b) in _OPPOSITES or _negates(b, a) or (a in _SAME and _DIFFERENT.match(b)):
            return (first, second)
    differ = _OR_DIFFERENT.search(text)
    if differ is not None:
        same = [w for w in re.findall(r"[A-Za-z]+", text[: differ.start()]) if w.lower() in _SAME]
        if same:  # the verb, before its object ("agree on the date of the match")
            return (same[0], differ.group(1))
    return ()


def agreeing_option(options: tuple[str, ...]) -> str:
    """Of an either-or question's options, the one that says the reports agree ("" if the
    options are not about agreeing: "larger or smaller", "successful or unsuccessful")."""
    if len(options) != 2:
        return ""
    first, second = options
    if first.lower() in _SAME and (_DIFFERENT.match(second) or _negates(second, first)):
        return first
    return ""


def _negates(word: str, other: str) -> bool:
    """word is other with a negating prefix ("inconsistent", "disagree")."""
    return any(word.lower() == neg + other.lower() for neg in _NEGATIONS)


def cited_outlets(text: str) -> list[str]:
    """The outlets a question cites by name ("a Bloomberg article", "a report by The Wall
    Street Journal"), quotes stripped, without a leading "The"."""
    plain = re.sub(r"['‘’\"“”](?=[A-Z])|(?<=[\w.])['‘’\"“”](?=\s|[,.?]|$)", "", text)
    # A quoted title ("the 'NBA Rookie of the Year Odds' article") is no outlet, nor any part
    # of it; a quoted outlet ("the 'Sporting News' article") is one.
    titles = [t for t in re.findall(r"['‘\"“]([A-Z][^'’\"”]*)['’\"”]", text) if len(t.split()) > 1]
    found = []
    for pattern in _CITED_OUTLET:
        for name in pattern.findall(plain):
            name = re.sub(r"^The\s+", "", name.strip(" -|"))
            if any(name in t and name != re.sub(r"^The\s+", "", t) for t in titles):
                continue
            if name and name not in found:
                found.append(name)
    return found


def _kind(text: str) -> tuple[Kind, str]:
    """The kind of answer asked for, and the focus noun if any."""
    sentences = re.split(r"(?<=[.?!])\s+(?=[\"“‘(]?[A-Z])", text)
    # A question opening with an auxiliary, or a clause opening with one before any wh-word,
    # is a yes/no question ("Did ... compared to what ...?", "..., was there ...?"); after
    # sentences that set the scene ("Scientists fed cavefish, which ... . Did the fish ...?"),
    # the question is the last sentence ending in "?".
    # (A sentence ends after a lower-case word: not at "vs.", "A.J." or "U.S.")
    scene = re.split(r"(?<=[a-z]{3}[.!])\s+(?=[\"“‘(]?[A-Z])", text)
    last = scene[-1] if len(scene) > 1 and scene[-1].rstrip().endswith("?") else text
    for n, clause in enumerate(c.strip() for c in re.split(r"[,;:]\s+|\.\s+", last)):
        if not clause:
            continue
        first = clause.split()[0].lower().strip("\"'“‘(")
        if first in _AUXILIARIES and (n == 0 or not _WH.search(clause)):
            return Kind.YES_NO, clause
        if _WH.search(clause):
            break
    # The question proper is the sentence that asks (the last one ending in "?"): "Police
    # arrested a man who ... . Where was the event?" asks where.
    asking = [s for s in sentences if s.rstrip().endswith("?") and _WH.search(s)]
    sentence = asking[-1].strip() if asking else text
    matches = list(_WH.finditer(sentence))
    if not matches:
        return Kind.DESCRIPTION, ""
    # A question opening with its wh-word asks with it; otherwise a "who"/"what" inside it may
    # be relative ("the commander, who led which militia?"), and "which"/"how many" asks.
    opening = [m for m in matches if re.match(r"^[\"'“‘(]?(?:\w+\s+){0,2}$", sentence[: m.start()])]
    # "When horse meat was found ..., who was chief executive?": an opening "when" clause sets
    # the time; the wh-word after its comma asks.
    after_clause = [m for m in matches if re.search(r",\s*$", sentence[: m.start()])]
    subordinate = bool(opening) and opening[0].group(1).lower() in ("when", "where")
    if subordinate and after_clause:
        following = sentence[opening[0].end() :].split()[:1]
        subordinate = not (following and following[0].lower() in _AUXILIARIES)
    if subordinate and after_clause:
        chosen = after_clause[0]
    elif opening:
        chosen = opening[0]
    else:
        asking_wh = [
            m
            for m in matches
            if m.group(1).lower() in ("which", "how")
            or (m.group(1).lower() == "what" and not _RELATIVE_WHAT.match(sentence[m.end() :]))
        ]
        chosen = (asking_wh or matches)[-1]
    return _wh_kind(chosen.group(1).lower(), sentence[chosen.end() :])


# "in what may be the largest ...": "what" as a relative pronoun, not a question.
_RELATIVE_WHAT = re.compile(r"\s+(?:could|may|might|would|appears|seems)\b", re.I)
# Where a head noun phrase ends: "what animal over 600 years ago", "which area this week".
_PHRASE_END = frozenset(
    "of in on at for from to by with over under about after before during since than as into "
    "this that these those the a an his her its their our my your is are was were did does do "
    "has have had will would could can should may might be been".split()
)
# "What was the magnitude of ...", "Which of these players ...", "What was her date of birth":
# words before the head.
_LEAD_IN = frozenset(
    "is are was were the a an of these those following one his her its their".split()
)


def _head_kind(word: str) -> Kind | None:
    """The kind a head noun names, singular or plural ("countries", "players")."""
    for form in (word, word[:-3] + "y" if word.endswith("ies") else "", word[:-1]):
        if form and form in _HEADS and (form == word or word.endswith("s")):
            return _HEADS[form]
    return None


def _wh_kind(wh: str, rest: str) -> tuple[Kind, str]:
    after = re.findall(r"[A-Za-z'’-]+", rest.lower())
    if wh in ("who", "whom", "whose"):
        return Kind.PERSON, ""
    if wh == "when":
        return Kind.DATE, ""
    if wh == "where":
        return Kind.PLACE, ""
    if wh == "why":
        return Kind.DESCRIPTION, ""
    if wh == "how":
        nxt = after[0] if after else ""
        if nxt == "many":
            return Kind.NUMBER, ""
        if nxt == "much":
            return Kind.MONEY, ""
        if nxt in ("soon", "early", "late"):
            return Kind.DATE, ""
        if nxt in ("long", "old", "far", "big", "large", "high", "fast", "tall"):
            return Kind.NUMBER, ""
        return Kind.DESCRIPTION, ""
    # which / what: the head noun of the phrase after it (up to a comma: "which letter,
    # representing ..."); the head-noun table decides.
    words = re.findall(r"[A-Za-z'’-]+", re.split(r"[,;:?]", rest)[0].lower())
    while words and words[0] in _LEAD_IN:
        words.pop(0)
    phrase: list[str] = []
    for word in words[:7]:  # "which former New York Giants wide receiver"
        if word in _PHRASE_END:
            break
        phrase.append(word)
    # The head is the last noun of the phrase ("which head of state" stops at "of": "head");
    # an adjective before it ("iconic TV show") names no kind.
    for i in range(len(phrase) - 1, -1, -1):
        word = phrase[i]
        kind = _head_kind(word)
        if word == "figure" and i and phrase[i - 1] in _PEOPLE_FIGURES:
            kind = Kind.PERSON  # "which political figure", but "which massive figure"
        if kind is not None:
            return kind, word
    # "What is her name?": a person's.
    if re.match(r"^(?:is|was)\s+(?:his|her)\s+name\b", rest.strip().lower()):
        return Kind.PERSON, ""
    if any(w in ("name", "named", "called", "title", "titled") for w in after[:8]):
        return Kind.NAME, "name"
    if wh == "which":
        return Kind.NAME, phrase[-1] if phrase else (after[0] if after else "")
    # "What is it?", "What did the images show?", "What ancient find ...": a description.
    return Kind.DESCRIPTION, ""


_PEOPLE_FIGURES = frozenset(
    "public political key leading prominent opposition religious cultural sports media "
    "historical controversial polarizing polarising".split()
)
_NUMBER_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve dozen hundred thousand".split()
)


def name_phrases(text: str) -> list[str]:
    """The names a question asks about, as phrases: runs of capitalised words after the first
    word, figures and number words ("US Open", "Joe Biden", "2022", "three")."""
    runs: list[list[str]] = []
    joins = False  # whether the next capitalised word continues the last run
    for i, m in enumerate(re.finditer(r"[\w'’.-]+", text)):
        raw = m.group(0)
        w = raw.strip(".")
        capital = i > 0 and w[:1].isupper()
        if capital and joins:
            runs[-1].append(w)
        elif capital or any(c.isdigit() for c in w) or w.lower() in _NUMBER_WORDS:
            runs.append([w])
        else:
            joins = False
            continue
        # A run goes on over spaces only, and past a full stop only in an abbreviation
        # ("U.S. Capitol", not "the US. Where ...").
        gap = text[m.end() : m.end() + 1]
        ends_sentence = raw.endswith(".") and not re.fullmatch(r"(?:\w\.)+|[A-Z][a-z]{1,2}\.", raw)
        joins = capital and gap == " " and not ends_sentence
    return [" ".join(run) for run in runs if run[0]]


def _names(text: str) -> frozenset[str]:
    """Proper names and numbers in a question: capitalised words after the first, figures and
    number words ("What three directions ...?" asks for a sentence with three of them)."""
    words = re.findall(r"[\w'’.-]+", text.replace("’", "'"))
    picked = [
        w
        for i, w in enumerate(words)
        if (i > 0 and w[:1].isupper()) or any(c.isdigit() for c in w) or w.lower() in _NUMBER_WORDS
    ]
    return words_of(" ".join(picked))
