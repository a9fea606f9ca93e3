"""Follow-up questions on RealTimeQA dev: answered right with and without the conversation.

    python -m benchmarks.followups --data ../shared/eval/realtimeqa-dev [--work-dir DIR]

The two-turn conversations are built at run time from the benchmark's answerable questions by
one fixed rule (nothing is copied into the project):
- the topic of a question is its longest run of capitalised words, leaving out runs that open
  a sentence (a question without one is skipped);
- turn 1 asks "What is the latest news about <topic>?";
- turn 2, the follow-up, is the question itself with the topic (and a "the" before it)
  replaced by "it" ("its" for a possessive), e.g. "... affiliated with the White nationalist
  group it ... Where was the event?".
Every question goes through Footnote.ask; a follow-up is answered right when the shown answer
contains an accepted answer (as `footnote eval realtimeqa` scores). Printed: the original
question alone (the ceiling), the follow-up alone (no conversation), the follow-up after turn 1
with the conversation, and how often the follow-up was read back as the original question.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.answer import Answer
from bot.config import load_settings
from bot.conversation import Turn
from bot.eval import contains_answer
from bot.eval_realtimeqa import index_quiz_corpus, load_quiz
from bot.service import Footnote
from index.embed import SentenceTransformerEmbedder

_CAPITALISED = re.compile(r"[A-Z][\w’'&-]*(?:\s+(?:of\s+|de\s+)?[A-Z][\w’'&-]*)*")


@dataclass(frozen=True)
class Conversation:
    id: str
    first: str
    follow_up: str
    original: str
    answers: tuple[str, ...]


def topic(question: str) -> str:
    """The longest run of capitalised words after the question's first word, or ''."""
    runs = [
        m.group(0)
        for m in _CAPITALISED.finditer(question)
        if not re.search(r"(^|[.?!]\s+)$", question[: m.start()])
    ]
    runs = [re.sub(r"['’]s$", "", r) for r in runs]
    return max(runs, key=lambda r: (len(r.split()), len(r)), default="")


def conversations(data: Path) -> list[Conversation]:
    out = []
    for q in load_quiz(data):
        name = topic(q.text)
        if not q.answerable or not name:
            continue
        follow = re.sub(rf"\b(?:the )?{re.escape(name)}['’]s\b", "its", q.text)
        follow = re.sub(rf"\b(?:the )?{re.escape(name)}\b", "it", follow)
        out.append(
            Conversation(
                id=q.id,
                first=f"What is the latest news about {name}?",
                follow_up=follow,
                original=q.text,
                answers=q.answers,
            )
        )
    return out


def right(
    service: Footnote, question: str, answers: tuple[str, ...], history: Sequence[Turn] = ()
) -> tuple[bool, Answer]:
    """Whether the answer Footnote shows contains an accepted answer, and the answer."""
    answer = service.ask(question, history=history)
    shown = answer.text if answer.found else ""
    return any(contains_answer(shown, a) for a in answers), answer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the realtimeqa-dev folder")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/footnote-followups"))
    parser.add_argument("--json", type=Path, help="also write every conversation's outcome here")
    args = parser.parse_args(argv)

    settings = load_settings()
    embedder = SentenceTransformerEmbedder(settings.model, cache_dir=settings.model_cache_dir)
    data_dir, corpus_dir = index_quiz_corpus(
        args.data, embedder, args.work_dir, lambda line: print(line, file=sys.stderr)
    )
    service = Footnote(load_settings(data_dir=data_dir, corpus_dir=corpus_dir), embedder)

    convs = conversations(args.data)
    rows: list[dict[str, object]] = []
    for c in convs:
        alone, _ = right(service, c.original, c.answers)
        bare, _ = right(service, c.follow_up, c.answers)
        first = service.ask(c.first)
        follow, answer = right(service, c.follow_up, c.answers, [Turn.of(first)])
        rows.append(
            {
                "id": c.id,
                "first": c.first,
                "follow_up": c.follow_up,
                "read_as": answer.read_as,
                "original_right": alone,
                "follow_up_alone_right": bare,
                "follow_up_in_conversation_right": follow,
                "read_back": answer.read_as == c.original,
            }
        )
    n = len(rows)

    def share(key: str) -> str:
        return f"{sum(bool(r[key]) for r in rows) / n:.3f}" if n else "n/a"

    print(f"RealTimeQA dev follow-ups: {n} two-turn conversations")
    print(f"  original question alone:            {share('original_right')}")
    print(f"  follow-up without the conversation: {share('follow_up_alone_right')}")
    print(f"  follow-up in the conversation:      {share('follow_up_in_conversation_right')}")
    print(f"  follow-up read back as the original: {share('read_back')}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
