"""The reader alone on SQuAD dev, with the official metric: v1.1 EM/F1, v2.0 EM/F1 and HasAns/NoAns.

    python -m bot.reader.evaluate --squad ../shared/train/squad [--model-dir DIR] [--limit N]

Only articles the reader did not train on are scored: dev v2.0's held-out articles, and dev
v1.1's articles outside dev v2.0's training share. On v2.0 the reader answers when its best
span's margin over no-answer is above --threshold (the answer layer's bar by default).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from bot.reader import squad
from bot.reader.model import CARD_FILE, SHIPPED_DIR, Reader, Span
from bot.reader.train import Config


def held_out(
    squad_dir: Path, seed: int, share: float
) -> tuple[list[squad.Example], list[squad.Example]]:
    """(v1.1 dev, v2.0 dev) examples of articles outside the reader's training data."""
    trained, kept = squad.split_dev_v2(squad_dir / "dev-v2.0.json", share, seed)
    v1_titles = [t for t in squad.titles(squad_dir / "dev-v1.1.json") if t not in set(trained)]
    return (
        squad.load(squad_dir / "dev-v1.1.json", v1_titles),
        squad.load(squad_dir / "dev-v2.0.json", kept),
    )


def run(reader: Reader, examples: list[squad.Example], threshold: float | None) -> dict[str, float]:
    """EM and F1 (percent), overall and on answerable / unanswerable questions."""
    return score_at(read_all(reader, examples), threshold)


def read_all(reader: Reader, examples: list[squad.Example]) -> list[tuple[squad.Example, Span]]:
    """Each example with the reader's best span of its context."""
    return [(ex, reader.read(ex.question, [ex.context])[0]) for ex in examples]


def score_at(read: list[tuple[squad.Example, Span]], threshold: float | None) -> dict[str, float]:
    """EM and F1 (percent) when a span is the answer only above threshold (None: always)."""
    sums = {"all": [0.0, 0.0, 0], "has": [0.0, 0.0, 0], "no": [0.0, 0.0, 0]}
    for ex, span in read:
        answer = span.text if threshold is None or span.margin > threshold else ""
        em, f1 = squad.score(ex, answer)
        for key in ("all", "has" if ex.answerable else "no"):
            sums[key][0] += em
            sums[key][1] += f1
            sums[key][2] += 1
    out: dict[str, float] = {}
    for key, (em, f1, n) in sums.items():
        if n:
            out[f"{key}_em"] = round(100 * em / n, 1)
            out[f"{key}_f1"] = round(100 * f1 / n, 1)
            out[f"{key}_n"] = n
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=Path("../shared/train/squad"))
    parser.add_argument("--model-dir", type=Path, default=SHIPPED_DIR)
    parser.add_argument("--limit", type=int, default=0, help="a seeded sample of N per set")
    parser.add_argument("--threshold", type=float, help="no-answer margin bar (default: 0)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write-card", action="store_true", help="store the figures in the card")
    parser.add_argument(
        "--sweep",
        help="comma-separated no-answer bars: v2.0 figures at each, on the held-out articles' "
        "first half by title (tune there; report the rest)",
    )
    args = parser.parse_args(argv)

    reader = Reader(args.model_dir, threads=args.threads)
    config = reader.card.get("training", {}).get("config", {})
    v1, v2 = held_out(
        args.squad,
        int(config.get("seed", Config.seed)),
        float(config.get("dev_v2_train_share", Config.dev_v2_train_share)),
    )
    if args.limit:
        rng = random.Random(0)
        v1 = rng.sample(v1, min(args.limit, len(v1)))
        v2 = rng.sample(v2, min(args.limit, len(v2)))
    if args.sweep:
        titles = sorted({ex.title for ex in v2})
        tune = [ex for ex in v2 if ex.title in set(titles[: len(titles) // 2])]
        read = read_all(reader, tune)
        print(f"SQuAD v2.0 dev, {len(tune)} questions of {len(titles) // 2} held-out articles:")
        for bar in (float(b) for b in args.sweep.split(",")):
            r = score_at(read, bar)
            print(
                f"  bar {bar:+5.1f}: EM {r['all_em']}  F1 {r['all_f1']}  "
                f"HasAns F1 {r['has_f1']}  NoAns {r['no_f1']}"
            )
        return
    threshold = 0.0 if args.threshold is None else args.threshold
    started = time.perf_counter()
    figures = {
        "squad_v1.1_dev": run(reader, v1, None),
        f"squad_v2.0_dev@{threshold:g}": run(reader, v2, threshold),
    }
    took = time.perf_counter() - started
    a, b = figures["squad_v1.1_dev"], figures[f"squad_v2.0_dev@{threshold:g}"]
    print(
        f"SQuAD v1.1 dev (held-out articles, {a['all_n']} questions): "
        f"EM {a['all_em']}  F1 {a['all_f1']}"
    )
    print(
        f"SQuAD v2.0 dev (held-out articles, {b['all_n']} questions, no-answer bar {threshold:g}): "
        f"EM {b['all_em']}  F1 {b['all_f1']}  HasAns F1 {b['has_f1']}  NoAns {b['no_f1']}"
    )
    print(f"{len(v1) + len(v2)} questions in {took:.0f}s")
    if args.write_card:
        card_path = args.model_dir / CARD_FILE
        card = json.loads(card_path.read_text("utf-8"))
        card["metrics"] = {**figures, "limit": args.limit or None}
        card_path.write_text(json.dumps(card, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
