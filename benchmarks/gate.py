"""Would a learned gate beat the reader's margin bar? Fit one on dev runs, check it on others.

    FOOTNOTE_MIN_MARGIN=-20 footnote eval realtimeqa --data ../shared/eval/realtimeqa-dev \\
        --work-dir W --json dev.json
    python -m benchmarks.gate dev.json [--check fresh.json ...]

The run with the reader's bar at its floor answers every question the reader reads and saves
what the gate weighs (Answer.evidence: the reader's margin, the shares of the question's words
and names the span's sentence holds, the best sentence's cosine). A read answer is right when
the question is answerable and the shown answer holds an accepted one; every other read answer
(an unanswerable question, or a wrong span) should have been "not found". The model is fit on
the dev run(s) only, cross-validated by question, and its weights printed; --check prints
what it would do on other runs (fresh sets), never used for fitting. Session 10 found it did
not carry over (fit on RealTimeQA and MultiHop-RAG dev, it abstained on none of fresh set A's
unanswerable questions), so Footnote keeps the margin bar alone. Needs scikit-learn (a
dependency of sentence-transformers).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

FEATURES = ("margin", "asked_words", "names", "similarity")


def rows(run: Path) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """The read answers of a run: features, whether each was right, and the outcomes."""
    outcomes = [o for o in json.loads(run.read_text("utf-8"))["outcomes"] if o.get("evidence")]
    x = np.array([[o["evidence"][f] for f in FEATURES] for o in outcomes], dtype=float)
    y = np.array([bool(o["answerable"] and o["correct"]) for o in outcomes], dtype=int)
    return x, y, outcomes


def effect(run: Path, sure: Any, bar: float) -> str:
    """Accuracy / false abstention / abstention of a run when read answers need sure >= bar."""
    outcomes = json.loads(run.read_text("utf-8"))["outcomes"]
    yes = [o for o in outcomes if o["answerable"]]
    no = [o for o in outcomes if not o["answerable"]]

    def found(o: dict[str, Any]) -> bool:
        ev = o.get("evidence")
        if not o["found"]:
            return False
        if not ev:
            return True
        return bool(sure(np.array([[ev[f] for f in FEATURES]]))[0] >= bar)

    acc = sum(found(o) and o["correct"] for o in yes) / max(len(yes), 1)
    false_abstention = sum(not found(o) for o in yes) / max(len(yes), 1)
    abstention = sum(not found(o) for o in no) / max(len(no), 1)
    return f"{acc:.3f} / {false_abstention:.3f} / {abstention:.3f}"


def main(argv: list[str] | None = None) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="dev runs (--json) to fit on")
    parser.add_argument("--check", type=Path, nargs="*", default=[], help="runs never fit on")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    args = parser.parse_args(argv)

    parts = [rows(run) for run in args.runs]
    x = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    model = LogisticRegression(C=args.c, max_iter=1000)
    held = cross_val_predict(model, x, y, cv=5, method="predict_proba")[:, 1]
    model.fit(x, y)
    print(f"fit on {len(y)} read answers ({int(y.sum())} right) of {len(args.runs)} dev run(s)")
    print(f"  5-fold accuracy of sure >= 0.5: {np.mean((held >= 0.5) == y):.3f}")
    weights = ", ".join(f'("{f}", {w:.3f})' for f, w in zip(FEATURES, model.coef_[0], strict=True))
    print(f"  Gate(weights=({weights}), bias={model.intercept_[0]:.3f})")

    def sure(rows_: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict_proba(rows_)[:, 1])

    print("accuracy / false abstention / abstention, with the gate at 0.5 (without: bar -inf)")
    for run in [*args.runs, *args.check]:
        print(f"  {run.name}: {effect(run, sure, 0.5)}  (without: {effect(run, sure, -1.0)})")


if __name__ == "__main__":
    main()
