"""SQuAD examples for the reader: loading, the made unanswerable examples, the official metric.

SQuAD v1.1 train has no unanswerable questions, so they are made (README of the data): the
question paired with another paragraph of its article, its paragraph with the sentence that
holds the answer removed, and (swapped_unanswerable) the question about someone or something
else: a name it shares with its paragraph swapped for a name from another article's questions,
the near miss of news questions (the chief executive of one firm asked of a passage naming
another firm's). Dev v2.0 is split by article: some articles train, the rest
(and dev v1.1's articles outside them) measure.
"""

from __future__ import annotations

import collections
import json
import random
import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from index.sentences import sentence_spans


@dataclass(frozen=True)
class Example:
    """One question about one context; answer_start is -1 when the context does not answer."""

    id: str
    title: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_start: int

    @property
    def answerable(self) -> bool:
        return self.answer_start >= 0


def load(path: Path, titles: Iterable[str] | None = None) -> list[Example]:
    """The examples of a SQuAD JSON file, optionally only those of the named articles."""
    keep = None if titles is None else set(titles)
    data = json.loads(path.read_text("utf-8"))["data"]
    examples = []
    for article in data:
        if keep is not None and article["title"] not in keep:
            continue
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = qa.get("answers") or []
                impossible = qa.get("is_impossible", False) or not answers
                examples.append(
                    Example(
                        id=qa["id"],
                        title=article["title"],
                        question=qa["question"],
                        context=paragraph["context"],
                        answers=tuple(a["text"] for a in answers),
                        answer_start=-1 if impossible else answers[0]["answer_start"],
                    )
                )
    return examples


def titles(path: Path) -> list[str]:
    return [article["title"] for article in json.loads(path.read_text("utf-8"))["data"]]


def split_dev_v2(path: Path, train_share: float, seed: int) -> tuple[list[str], list[str]]:
    """Dev v2.0's article titles split into (train, held out), seeded."""
    names = sorted(titles(path))
    random.Random(seed).shuffle(names)
    cut = round(len(names) * train_share)
    return sorted(names[:cut]), sorted(names[cut:])


def made_unanswerable(examples: list[Example], share: float, seed: int) -> Iterator[Example]:
    """Unanswerable examples made from answerable ones, about `share` of them of each kind:
    the question against another paragraph of its article, and against its own paragraph with
    the answer's sentence removed (skipped when the answer still stands elsewhere in it)."""
    rng = random.Random(seed)
    by_title: dict[str, list[str]] = collections.defaultdict(list)
    for ex in examples:
        if not by_title[ex.title] or by_title[ex.title][-1] != ex.context:  # in file order
            by_title[ex.title].append(ex.context)
    for ex in examples:
        if not ex.answerable:
            continue
        if rng.random() < share:
            others = [c for c in by_title[ex.title] if c != ex.context]
            if others:
                context = rng.choice(others)
                if not any(a.lower() in context.lower() for a in ex.answers):
                    yield _unanswerable(ex, "other", context)
        if rng.random() < share:
            trimmed = _without_answer_sentence(ex)
            if trimmed and not any(a.lower() in trimmed.lower() for a in ex.answers):
                yield _unanswerable(ex, "cut", trimmed)


# A name in a question: capitalised words in a row ("Notre Dame", "U.S. Army", "Beyoncé"), not
# the word that opens the question.
_NAME = re.compile(r"(?<![\w'’])[A-Z][\w&.-]*(?:\s[A-Z][\w&.-]*)*")


def question_names(question: str) -> list[str]:
    """The names of a question, without its opening word."""
    names = []
    for m in _NAME.finditer(question):
        name = m.group().rstrip(".")
        if m.start() == 0:
            name = name.partition(" ")[2]
        if name:
            names.append(name)
    return names


def swapped_unanswerable(examples: list[Example], share: float, seed: int) -> Iterator[Example]:
    """Unanswerable examples for about `share` of the answerable ones: one of the question's
    names that its paragraph holds is swapped for a name of as many words from another
    article's questions that the paragraph does not hold, so the question asks about what the
    paragraph does not say."""
    rng = random.Random(seed + 2)
    pool: dict[int, list[tuple[str, str]]] = collections.defaultdict(list)
    for ex in examples:
        for name in question_names(ex.question):
            pool[len(name.split())].append((ex.title, name))
    for ex in examples:
        if not ex.answerable or rng.random() >= share:
            continue
        held = [n for n in question_names(ex.question) if n in ex.context]
        if not held:
            continue
        name = rng.choice(held)
        others = pool[len(name.split())]
        for _ in range(20):  # a few tries at a name from another article
            title, other = rng.choice(others)
            if title != ex.title and other.lower() not in ex.context.lower():
                question = ex.question.replace(name, other)
                yield Example(f"{ex.id}-swap", ex.title, question, ex.context, ex.answers, -1)
                break


def _unanswerable(ex: Example, kind: str, context: str) -> Example:
    return Example(f"{ex.id}-{kind}", ex.title, ex.question, context, ex.answers, -1)


def _without_answer_sentence(ex: Example) -> str | None:
    spans = sentence_spans(ex.context)
    kept = [s for s in spans if not (s.start <= ex.answer_start < s.end)]
    if len(kept) == len(spans) or len(kept) < 2:
        return None
    return " ".join(ex.context[s.start : s.end] for s in kept)


# The official SQuAD v2.0 evaluation: answers are compared after lower-casing and removing
# punctuation, articles and extra whitespace; an unanswerable question's only answer is "".
def normalize(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact(prediction: str, gold: str) -> float:
    return float(normalize(prediction) == normalize(gold))


def f1(prediction: str, gold: str) -> float:
    pred, ref = normalize(prediction).split(), normalize(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = collections.Counter(pred) & collections.Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def score(example: Example, prediction: str) -> tuple[float, float]:
    """(exact match, F1) of one prediction ("" = no answer) against the example's answers."""
    golds = example.answers if example.answerable else ("",)
    return max(exact(prediction, g) for g in golds), max(f1(prediction, g) for g in golds)
