"""Generated sentences checked against the passages they cite, before anyone sees them.

A generated sentence is shown only if:
1. it cites at least one passage [n], and every [n] it cites was given to the model;
2. every name it states (a capitalised word, wherever it stands, other than a common opener
   such as "The" or "She") is a word of the cited passages (their titles and outlets included);
3. every number it states (digits, with their thousands separators and decimals, a number word
   up to twenty, a scale word such as "million") is in the cited passages, as digits or words;
   month and day names are names, years are numbers, so dates are checked by 2 and 3;
4. it means nearly what some sentence (or two adjacent sentences) of the cited passages says:
   the embedder's cosine between the two reaches min_similarity.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from bot.answer.model import Generated as Sentence
from index.embed import Embedder
from index.sentences import sentence_spans

# Capitalised because they open a sentence or are function words, not names.
_OPENERS = frozenset(
    "the a an this that these those there here it its he she his her they them their we our "
    "i you your yes no and but or so if in on at to for of as with by from after before "
    "according during since while about both also however meanwhile today yesterday tomorrow "
    "what who whom whose when where why how which is are was were do does did has have had "
    "not none all some many most one each other another such".split()
)
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_SCALES = frozenset("hundred thousand million billion trillion".split())
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[A-Za-z][\w'’-]*")
_CITE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# A sentence ends at . ! ? (and the citations that follow it) before the next one starts.
_END = re.compile(r"(?<=[.!?])[\"'”’)]*((?:\s*\[\d+(?:\s*,\s*\d+)*\])*)(?=\s+|$)")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""  # why a sentence failed, for logs and --json


def split_sentences(text: str) -> list[Sentence]:
    """Generated text -> sentences with the [n] they cite (markers anywhere in a sentence)."""
    out = []
    for raw in _raw_sentences(text):
        cites = tuple(
            dict.fromkeys(int(n) for group in _CITE.findall(raw) for n in group.split(","))
        )
        plain = " ".join(_CITE.sub(" ", raw).split())
        plain = re.sub(r"\s+([.,;:!?])", r"\1", plain)
        if plain:
            out.append(Sentence(plain, cites))
    return out


def _raw_sentences(text: str) -> Iterator[str]:
    start = 0
    for match in _END.finditer(text):
        yield text[start : match.end()].strip()
        start = match.end()
    if text[start:].strip():
        yield text[start:].strip()


def complete_sentences(text: str) -> tuple[list[Sentence], str]:
    """Streamed text so far -> the sentences certainly complete, and the rest to wait on.

    A sentence is complete once the next one has begun (its citations may follow its full stop).
    """
    ends = [m.end() for m in _END.finditer(text)]
    for end in reversed(ends):
        rest = text[end:]
        if rest.strip() and not rest.lstrip().startswith("["):
            return split_sentences(text[:end]), text[end:]
    return [], text


def check(
    sentence: Sentence,
    passages: Mapping[int, str],
    embedder: Embedder,
    min_similarity: float,
) -> Verdict:
    """Whether sentence may be shown: see the module docstring for the four rules.

    Args:
        passages: the numbered passages the model was given, n -> text (with title/outlet).
    """
    if not sentence.cites:
        return Verdict(False, "cites no passage")
    unknown = [n for n in sentence.cites if n not in passages]
    if unknown:
        return Verdict(False, f"cites [{unknown[0]}], which it was not given")
    cited = "\n".join(passages[n] for n in sentence.cites)
    words = {
        w.lower().rstrip("'’").removesuffix("'s").removesuffix("’s") for w in _WORD.findall(cited)
    }
    for name in _names(sentence.text):
        if name.lower() not in words:
            return Verdict(False, f"names {name!r}, which the cited passages do not")
    numbers = {_plain(n) for n in _NUMBER.findall(cited)} | {
        d for w, d in _NUMBER_WORDS.items() if w in words
    }
    for number in _numbers(sentence.text):
        if number not in numbers and number not in words:
            return Verdict(False, f"states {number!r}, which the cited passages do not")
    if _similarity(sentence.text, cited, embedder) < min_similarity:
        return Verdict(False, "says something the cited passages do not")
    return Verdict(True)


def _names(text: str) -> list[str]:
    names: list[str] = []
    for token in _WORD.findall(text):
        word = re.sub(r"['’]s$", "", token)
        if word[:1].isupper() and word.lower() not in _OPENERS:
            names.extend(part for part in re.split(r"[-'’]", word) if part)
    return names


def _numbers(text: str) -> list[str]:
    found = [_plain(n) for n in _NUMBER.findall(text)]
    for token in _WORD.findall(text.lower()):
        if token in _NUMBER_WORDS:
            found.append(_NUMBER_WORDS[token])
        elif token in _SCALES:
            found.append(token)
    return found


def _plain(number: str) -> str:
    """'20,000' -> '20000'; '1.20' stays (a decimal), trailing '.' dropped."""
    return number.replace(",", "").rstrip(".")


def _similarity(text: str, cited: str, embedder: Embedder) -> float:
    """The cosine between text and the nearest sentence (or two adjacent sentences: a
    generated sentence often joins two) of the cited passages."""
    sentences = [cited[s.start : s.end] for s in sentence_spans(cited)] or [cited]
    pairs = [f"{a} {b}" for a, b in pairwise(sentences)]
    vectors = embedder.embed([text, *sentences, *pairs])
    return float(np.max(vectors[1:] @ vectors[0]))
