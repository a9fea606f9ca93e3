"""Follow-up questions: a question read in the context of the conversation so far.

Retrieval knows nothing of "she" or "the deal", so before a follow-up is looked up its
references are replaced with the names they stand for, by rules anyone can read (the first that
applies wins; the previous turn is the one referred to):

1. "What about X?" / "And X?": the previous question, with its subject swapped for X: its main
   name (its longest) and the names joined to it by "and", "or" or commas ("Who heads Taobao
   and Tmall?" then "What about Cainiao?" -> "Who heads Cainiao?").
2. "that/this/these/those <noun>" where the noun is what the previous question asked for
   ("Which airline ...?" then "that airline"): the previous short answer.
3. Pronouns (the first that is not a possessive decides which kind is meant; an "it" closing
   a question after a copula, as in "Which animal was it?", is left alone): he/she/him/her
   (and possessives) stand for the previous short answer when a person was asked for;
   they/them for a person or organisation answer; it/its for an organisation, place or named
   thing (without a short answer: the first new name of the answer's first quote, preferring
   names of two words or more); otherwise all of them stand for the previous question's main
   name (or, if it names nothing, that quoted name).
4. A question with no name of its own that speaks of "the/that ... <noun>" ("How much was the
   deal worth?") gets the previous question's names added in brackets.

A question that fits none of these (a new topic) is read as asked. Conversations are kept in
SQLite, one per Discord thread, reply chain or `footnote chat` session, and expire.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.answer import Answer
from bot.answer.question import analyse, stem
from bot.sqlite_store import connect, create

# Words that are capitalised because they open a sentence, not because they are names.
_OPENERS = frozenset(
    "what who whom whose when where why how which is are was were do does did has have had can "
    "could will would should shall may might must i you he she it we they his her its their our "
    "my your a an this that these those and but or so if in on at to for of as with by from "
    "after before according during since while about than then there here please tell give "
    "show list name".split()
)
_CONNECTORS = frozenset("of de du da der van von &".split())
_TOKEN = re.compile(r"[\w][\w'’&./-]*|[^\w\s]")

_PERSONAL = ("he", "she", "him", "her", "his", "hers")
_PLURAL = ("they", "them", "their", "theirs")
_NEUTER = ("it", "its")
_POSSESSIVE = frozenset(("his", "her", "its", "their"))
# After "her", these mean it is the object ("congratulated her and ..."), not a possessive.
_NOT_A_NOUN = frozenset(
    "and or but to in on at for with as by from after before when about over up down out off "
    "into than that this so if while during since".split()
)
_COPULAS = frozenset("is was are were".split())
_WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.+?)[\s?.!]*$", re.I)
_AND_X = re.compile(r"^\s*and\s+(.+?)[\s?.!]*$", re.I)
_DEMONSTRATIVE = re.compile(r"\b(?:that|this|these|those|the same)\s+([a-z]+)\b", re.I)
_JOINED = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|and\s+|or\s+|&\s*)", re.I)
_DEFINITE = re.compile(r"\b(?:the|that|this|these|those)\s+[a-z]+", re.I)


@dataclass(frozen=True)
class Turn:
    """One question and what was answered, as a later follow-up needs it."""

    question: str  # as asked
    read_as: str  # as looked up (after its own references were resolved)
    answer: str = ""  # the short answer's text ("" if none or not a span)
    kind: str = ""  # the kind of answer the question asked for (question.Kind)
    quote: str = ""  # the answer's first quoted sentence

    @classmethod
    def of(cls, answer: Answer) -> Turn:
        short = answer.short
        text = short.text if answer.found and short is not None and short.kind == "span" else ""
        return cls(
            question=answer.question,
            read_as=answer.read_as or answer.question,
            answer=text,
            kind=answer.kind,
            quote=answer.claims[0].text if answer.found and answer.claims else "",
        )


@dataclass(frozen=True)
class Resolution:
    text: str  # the question to look up
    rule: str  # which rule applied ("" if none)


def name_phrases(text: str) -> list[str]:
    """Runs of capitalised words ("Mayor Elena Ruiz", "Bank of England"), in order.

    A possessive ends a name ("Alibaba's CEO" -> "Alibaba", "CEO"); a word capitalised only
    because it opens the sentence is left out ("Did Alibaba ..." -> "Alibaba").
    """
    names: list[str] = []
    run: list[str] = []
    opening = True

    def close() -> None:
        while run and run[-1].lower() in _CONNECTORS:
            run.pop()
        if run:
            names.append(" ".join(run))
        run.clear()

    for token in _TOKEN.findall(text):
        possessive = re.search(r"['’]s$", token)
        word = token[:-2] if possessive else token
        capital = word[:1].isupper()
        if capital and opening and word.lower() in _OPENERS and word != "The":
            close()
        elif capital or (run and word.lower() in _CONNECTORS):
            run.append(word)
        else:
            close()
        opening = token in (".", "?", "!", ":", '"', "“")
        if possessive:
            close()
    close()
    return [n for n in names if not (n == "The" or n.lower() in _OPENERS)]


def main_name(text: str) -> str:
    """The longest name in text (the first of equals), or ''."""
    names = name_phrases(text)
    return max(names, key=lambda n: (len(n.split()), len(n)), default="")


def resolve(question: str, history: Sequence[Turn]) -> Resolution:
    """The question to look up: question with its references to the previous turn resolved."""
    if not history:
        return Resolution(question, "")
    prev = history[-1]
    for rule in (_what_about, _demonstrative, _pronouns, _add_names):
        text = rule(question, prev)
        if text is not None and text != question:
            return Resolution(text, rule.__name__.strip("_"))
    return Resolution(question, "")


def _what_about(question: str, prev: Turn) -> str | None:
    match = _WHAT_ABOUT.match(question)
    if match is None:
        match = _AND_X.match(question)
        if match is None or len(match.group(1).split()) > 4 or not name_phrases(match.group(1)):
            return None
    subject = match.group(1).strip()
    span = _subject_span(prev.read_as)
    if span is None:
        return f"{prev.read_as.rstrip(' ?')} {subject}?"
    start, end = span
    return prev.read_as[:start] + subject + prev.read_as[end:]


def _subject_span(text: str) -> tuple[int, int] | None:
    """Where text's subject is: its main name with the names joined to it by "and", "or" or
    commas ("Taobao, Tmall and Ele.me"); None if text names nothing."""
    names = name_phrases(text)
    if not names:
        return None
    spans: list[tuple[int, int]] = []
    for name in names:
        found = text.find(name, spans[-1][1] if spans else 0)
        if found < 0:  # written across a line break: the main name alone
            start = text.find(main_name(text))
            return start, start + len(main_name(text))
        spans.append((found, found + len(name)))
    main = names.index(main_name(text))
    first = last = main
    while first > 0 and _JOINED.fullmatch(text[spans[first - 1][1] : spans[first][0]]):
        first -= 1
    while last + 1 < len(spans) and _JOINED.fullmatch(text[spans[last][1] : spans[last + 1][0]]):
        last += 1
    return spans[first][0], spans[last][1]


def _demonstrative(question: str, prev: Turn) -> str | None:
    if not prev.answer:
        return None
    focus = analyse(prev.read_as).focus
    if not focus:
        return None
    for match in _DEMONSTRATIVE.finditer(question):
        if stem(match.group(1)) == stem(focus):
            return question[: match.start()] + prev.answer + question[match.end() :]
    return None


def _referent(pronoun: str, prev: Turn) -> str:
    kinds = {
        _PERSONAL: ("person",),
        _PLURAL: ("person", "organisation"),
        _NEUTER: ("organisation", "place", "name"),
    }
    group = next(g for g in kinds if pronoun in g)
    if prev.kind in kinds[group] and (prev.answer or _quoted_name(prev)):
        return prev.answer or _quoted_name(prev)
    return main_name(prev.read_as) or _quoted_name(prev)


def _quoted_name(prev: Turn) -> str:
    """The name the previous answer's quote gives that its question did not: the first of
    two words or more, else the first."""
    asked = {n.lower() for n in name_phrases(prev.read_as)}
    names = [n for n in name_phrases(prev.quote) if n.lower() not in asked]
    return next((n for n in names if len(n.split()) > 1), names[0] if names else "")


def _pronouns(question: str, prev: Turn) -> str | None:
    tokens = re.split(r"(\W+)", question)
    lowered = [t.lower() for t in tokens]
    # A possessive often points inside the question ("What star announced his retirement on
    # it?"), so the first pronoun that is not one decides what is referred to, if there is one.
    found = [w for w in lowered if any(w in g for g in (_PERSONAL, _PLURAL, _NEUTER))]
    first = next((w for w in found if w not in _POSSESSIVE), found[0] if found else "")
    group = next((g for g in (_PERSONAL, _PLURAL, _NEUTER) if first in g), None)
    if group is None:
        return None
    referent = _referent(group[0], prev)
    if not referent:
        return None
    out = []
    for i, token in enumerate(tokens):
        word = token.lower()
        # "Which animal was it?": an "it" closing the question after a copula is no reference.
        closing = (
            word == "it"
            and i >= 2
            and lowered[i - 2] in _COPULAS
            and "?" in "".join(tokens[i + 1 :])
            and not "".join(tokens[i + 1 :]).strip(" ?")
        )
        if word in group and not closing:
            following = next((t for t in tokens[i + 1 :] if t.strip()), "")
            owner = word in _POSSESSIVE and (
                word != "her" or (following[:1].isalpha() and following.lower() not in _NOT_A_NOUN)
            )
            token = f"{referent}'s" if owner or word in ("hers", "theirs") else referent
        out.append(token)
    return "".join(out)


def _add_names(question: str, prev: Turn) -> str | None:
    if name_phrases(question) or not _DEFINITE.search(question):
        return None
    names = name_phrases(prev.read_as)
    if not names:
        return None
    return f"{question} ({', '.join(dict.fromkeys(names))})"


class ConversationStore:
    """Conversations in SQLite, by key ("thread:123", "chat"); they expire ttl_seconds after
    their last turn. Other keys ("message:456") can be aliases of a conversation.

    Blocking; call from a worker thread in the bot.
    """

    def __init__(
        self,
        path: Path,
        *,
        ttl_seconds: float,
        max_turns: int = 6,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.ttl = ttl_seconds
        self.max_turns = max_turns
        self._clock = clock
        create(
            path,
            "CREATE TABLE IF NOT EXISTS conversations (key TEXT PRIMARY KEY,"
            " updated REAL NOT NULL, turns TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS conversation_aliases (alias TEXT PRIMARY KEY,"
            " key TEXT NOT NULL, updated REAL NOT NULL);",
        )

    def turns(self, key: str) -> list[Turn]:
        """The conversation's turns, oldest first; [] if there is none or it expired."""
        with closing(connect(self.path)) as db:
            row = db.execute(
                "SELECT turns FROM conversations WHERE key = ? AND updated >= ?",
                (key, self._clock() - self.ttl),
            ).fetchone()
        return _turns(row[0]) if row else []

    def add(self, key: str, turn: Turn) -> None:
        now = self._clock()
        with closing(connect(self.path)) as db, db:
            row = db.execute(
                "SELECT turns FROM conversations WHERE key = ? AND updated >= ?",
                (key, now - self.ttl),
            ).fetchone()
            turns = [*(_turns(row[0]) if row else []), turn][-self.max_turns :]
            db.execute(
                "INSERT OR REPLACE INTO conversations (key, updated, turns) VALUES (?, ?, ?)",
                (key, now, json.dumps([asdict(t) for t in turns], ensure_ascii=False)),
            )
            db.execute("DELETE FROM conversations WHERE updated < ?", (now - self.ttl,))
            db.execute("DELETE FROM conversation_aliases WHERE updated < ?", (now - self.ttl,))

    def alias(self, alias: str, key: str) -> None:
        """Let alias (e.g. the bot's answer message) lead to conversation key."""
        with closing(connect(self.path)) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO conversation_aliases (alias, key, updated) "
                "VALUES (?, ?, ?)",
                (alias, key, self._clock()),
            )

    def find(self, alias: str) -> str | None:
        with closing(connect(self.path)) as db:
            row = db.execute(
                "SELECT key FROM conversation_aliases WHERE alias = ? AND updated >= ?",
                (alias, self._clock() - self.ttl),
            ).fetchone()
        return str(row[0]) if row else None

    def forget(self, key: str) -> None:
        with closing(connect(self.path)) as db, db:
            db.execute("DELETE FROM conversations WHERE key = ?", (key,))


def _turns(text: str) -> list[Turn]:
    try:
        rows: list[dict[str, Any]] = json.loads(text)
        return [Turn(**row) for row in rows]
    except (ValueError, TypeError):
        return []  # an unreadable conversation is a fresh start, not an error
