"""Sweep the reader's bar (FOOTNOTE_MIN_MARGIN) over saved news-quiz runs, without asking again.

    FOOTNOTE_MIN_MARGIN=-20 footnote eval realtimeqa --data DIR --work-dir W --json run.json
    python -m benchmarks.margin run.json [more.json ...] [--bars -2,-1,0,1,2] [--by-kind]

Run the quiz once with the bar at its floor, so every question the reader reads is answered
and its margin (span score - no-answer score) saved in its evidence; then each bar's accuracy,
abstention and false abstention are what they would have been: a read answer stands when its
margin is above the bar. Questions the reader did not decide (yes/no, or refused before
reading) keep their outcome. Tune on dev runs only; print fresh sets beside them, never tune
on them. --by-kind adds each kind of question's share right at each bar (an answerable one
found and right, an unanswerable one not found): MultiHop-RAG's comparison, inference, null
and temporal questions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def at_bar(outcomes: list[dict[str, Any]], bar: float) -> dict[str, float]:
    yes = [o for o in outcomes if o["answerable"]]
    no = [o for o in outcomes if not o["answerable"]]

    def found(o: dict[str, Any]) -> bool:
        margin = (o.get("evidence") or {}).get("margin")
        return bool(o["found"]) and (margin is None or margin > bar)

    def share(flags: list[bool]) -> float:
        return sum(flags) / len(flags) if flags else 0.0

    def right(o: dict[str, Any]) -> bool:
        return bool(found(o) and o["correct"]) if o["answerable"] else not found(o)

    kinds = sorted({o.get("kind", "") for o in outcomes})
    return {
        "all": share([right(o) for o in outcomes]),
        **{
            f"kind:{kind}": share([right(o) for o in outcomes if o.get("kind", "") == kind])
            for kind in kinds
        },
        "accuracy": share([found(o) and o["correct"] for o in yes]),
        "short": share([found(o) and bool(o.get("short_correct")) for o in yes]),
        "false_abstention": share([not found(o) for o in yes]),
        "abstention": share([not found(o) for o in no]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="--json files of footnote eval")
    parser.add_argument("--bars", default="-4,-3,-2,-1,0,1,2,3,4")
    parser.add_argument("--by-kind", action="store_true", help="each kind's share right too")
    args = parser.parse_args(argv)
    bars = [float(b) for b in args.bars.split(",")]
    for run in args.runs:
        outcomes = json.loads(run.read_text("utf-8"))["outcomes"]
        print(f"{run}: accuracy / bold right / false abstention / abstention")
        for bar in bars:
            r = at_bar(outcomes, bar)
            print(
                f"  bar {bar:+5.1f}: {r['accuracy']:.3f} / {r['short']:.3f} / "
                f"{r['false_abstention']:.3f} / {r['abstention']:.3f}"
            )
            if args.by_kind:
                kinds = "  ".join(
                    f"{k.removeprefix('kind:')} {v:.3f}"
                    for k, v in r.items()
                    if k.startswith("kind:")
                )
                print(f"      all {r['all']:.3f}  {kinds}")


if __name__ == "__main__":
    main()
