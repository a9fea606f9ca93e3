"""Train the reader on SQuAD, resumably, and export it as int8 ONNX with its card.

    python -m bot.reader.train --squad ../shared/train/squad --work-dir runs/reader \\
        [--examples 40000] [--threads 2] [--export bot/reader/model]

The base is the bundled all-MiniLM-L6-v2 (sha256-checked), with a start/end span head; a
window that does not answer points both at [CLS], whose score is the no-answer score. Data:
SQuAD v1.1 train, unanswerable examples made from it (squad.made_unanswerable and
squad.swapped_unanswerable), and part of dev v2.0 split by article (the rest measures).
Everything is seeded; a checkpoint is written every --checkpoint-every steps and on Ctrl-C,
and the same command resumes from it (the config and the data's hash must match). At the end
the model is exported and measured (evaluate.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.reader import squad
from bot.reader.features import Features
from index.checksum import sha256_file

DEV_V2_TRAIN_SHARE = 0.4
# The options a run may set; the rest of Config is fixed.
OPTIONS = ("seed", "batch_size", "lr", "made_share", "swap_share", "train_share", "dev_v2_repeat")


@dataclass(frozen=True)
class Config:
    seed: int = 13
    examples: int = 40000  # training windows seen in all; the schedule spans them
    batch_size: int = 32
    lr: float = 1.5e-4
    warmup: float = 0.06
    weight_decay: float = 0.01
    made_share: float = 0.2  # of each kind of made unanswerable example, per question
    swap_share: float = 0.0  # of questions asked again about another article's name
    negative_window_share: float = 0.3  # a non-answering window of a long paragraph kept
    freeze_layers: int = 1  # embeddings and the first N encoder layers stay as they are
    dev_v2_train_share: float = DEV_V2_TRAIN_SHARE
    train_share: float = 1.0  # of SQuAD v1.1 train's questions (a seeded sample)
    dev_v2_repeat: int = 1  # times each dev v2.0 training example is seen per pass


@dataclass(frozen=True)
class Item:
    ids: list[int]
    type_ids: list[int]
    start: int
    end: int


def items_of(features: Features, ex: squad.Example, rng: random.Random, cfg: Config) -> list[Item]:
    """Training windows of one example: the window(s) holding its answer, [CLS]-labelled
    windows for an unanswerable one, and sometimes a window of its paragraph without it."""
    windows = features.windows(ex.question, ex.context)
    if not ex.answerable:
        w = rng.choice(windows)
        return [Item(w.ids, w.type_ids, 0, 0)]
    a0 = ex.answer_start
    a1 = a0 + len(ex.answers[0])
    out: list[Item] = []
    for w in windows:
        starts = [i for i, o in enumerate(w.offsets) if o is not None and o[0] <= a0 < o[1]]
        ends = [i for i, o in enumerate(w.offsets) if o is not None and o[0] < a1 <= o[1]]
        if starts and ends:
            out.append(Item(w.ids, w.type_ids, starts[0], ends[-1]))
            break
    for w in windows:
        holds = any(o is not None and a0 < o[1] and o[0] < a1 for o in w.offsets)
        if not holds and rng.random() < cfg.negative_window_share:
            out.append(Item(w.ids, w.type_ids, 0, 0))
            break
    return out


def build_items(squad_dir: Path, cfg: Config, features: Features) -> list[Item]:
    rng = random.Random(cfg.seed)
    train = squad.load(squad_dir / "train-v1.1.json")
    if cfg.train_share < 1:
        train = [ex for ex in train if rng.random() < cfg.train_share]
    dev_train, _ = squad.split_dev_v2(squad_dir / "dev-v2.0.json", cfg.dev_v2_train_share, cfg.seed)
    dev = squad.load(squad_dir / "dev-v2.0.json", dev_train)
    made = list(squad.made_unanswerable(train, cfg.made_share, cfg.seed))
    made += squad.swapped_unanswerable(train, cfg.swap_share, cfg.seed)
    examples = [*train, *made, *dev * cfg.dev_v2_repeat]
    items = [it for ex in examples for it in items_of(features, ex, rng, cfg)]
    rng.shuffle(items)
    return items


def batches(items: list[Item], cfg: Config) -> list[list[Item]]:
    """Batches of similar length (little padding), in a seeded order."""
    rng = random.Random(cfg.seed + 1)
    pool = cfg.batch_size * 64
    out: list[list[Item]] = []
    for i in range(0, len(items), pool):
        chunk = sorted(items[i : i + pool], key=lambda it: len(it.ids))
        out.extend(chunk[j : j + cfg.batch_size] for j in range(0, len(chunk), cfg.batch_size))
    rng.shuffle(out)
    return out


def data_hash(squad_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("train-v1.1.json", "dev-v2.0.json"):
        digest.update((squad_dir / name).read_bytes())
    return digest.hexdigest()


def tensors(batch: list[Item]) -> dict[str, Any]:
    import torch

    width = max(len(it.ids) for it in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, it in enumerate(batch):
        ids[row, : len(it.ids)] = torch.tensor(it.ids)
        types[row, : len(it.ids)] = torch.tensor(it.type_ids)
        mask[row, : len(it.ids)] = 1
    return {
        "input_ids": ids,
        "token_type_ids": types,
        "attention_mask": mask,
        "start": torch.tensor([it.start for it in batch]),
        "end": torch.tensor([it.end for it in batch]),
    }


def span_model(base_dir: Path) -> Any:
    """BERT from base_dir with a start/end head: (start logits, end logits) per token."""
    import torch
    from transformers import AutoModel

    class SpanModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(base_dir), attn_implementation="eager")
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            logits = self.head(hidden)
            neg = torch.finfo(logits.dtype).min / 2
            logits = logits.masked_fill(attention_mask.unsqueeze(-1) == 0, neg)
            return logits[..., 0], logits[..., 1]

    return SpanModel()


def _save(path: Path, state: dict[str, Any]) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _comparable(fingerprint: dict[str, Any]) -> dict[str, Any]:
    """What must match to resume: everything but the budget, which may be cut short (the
    learning rate then decays over the steps left) or lengthened."""
    config = {**asdict(Config()), **fingerprint["config"]}
    del config["examples"]
    return {**fingerprint, "config": config}


def command_of(fingerprint: dict[str, Any], work_dir: str = "runs/reader") -> str:
    """The training command that makes a run with this fingerprint (its options that differ
    from the defaults), after the command of the run it started from."""
    start = fingerprint.get("init_from")
    first = command_of(start["fingerprint"], work_dir) if start else ""
    config = fingerprint["config"]
    line = "python -m bot.reader.train --squad ../shared/train/squad"
    line += f" --work-dir {work_dir}{'-2' if start else ''} --examples {config['examples']}"
    defaults = asdict(Config())
    for name in OPTIONS:
        if config.get(name, defaults[name]) != defaults[name]:
            line += f" --{name.replace('_', '-')} {config[name]}"
    return f"{first} && {line} --init-from {work_dir}/final.pt" if start else line


def train(args: argparse.Namespace) -> Path:
    import torch
    from tqdm import tqdm

    from bot.config import load_settings
    from index.embed import bundled_model_dir

    cfg = Config(**{name: getattr(args, name) for name in ("examples", *OPTIONS)})
    torch.set_num_threads(args.threads)
    torch.manual_seed(cfg.seed)
    work: Path = args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    base = bundled_model_dir(load_settings().model_cache_dir)
    features = Features(base / "tokenizer.json")
    fingerprint: dict[str, Any] = {"config": asdict(cfg), "data_sha256": data_hash(args.squad)}
    start = torch.load(args.init_from, weights_only=False) if args.init_from else None
    if start is not None:
        before = start["fingerprint"]["config"]
        if (before["seed"], before["dev_v2_train_share"]) != (cfg.seed, cfg.dev_v2_train_share):
            sys.exit(f"error: {args.init_from} held out other dev v2.0 articles; use its --seed")
        fingerprint["init_from"] = {
            "sha256": sha256_file(args.init_from),
            "fingerprint": start["fingerprint"],
        }
    checkpoint = work / "checkpoint.pt"

    print(f"reading SQuAD from {args.squad} ...", file=sys.stderr)
    all_batches = batches(build_items(args.squad, cfg, features), cfg)
    steps = min(len(all_batches), cfg.examples // cfg.batch_size)
    model = span_model(base)
    if start is not None:
        model.load_state_dict(start["model"])
        del start
    for p in model.bert.embeddings.parameters():
        p.requires_grad = False
    for layer in model.bert.encoder.layer[: cfg.freeze_layers]:
        for p in layer.parameters():
            p.requires_grad = False
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = max(1, int(steps * cfg.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    step = 0
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        if _comparable(state["fingerprint"]) != _comparable(fingerprint):
            sys.exit(
                f"error: {checkpoint} was made with another config or data; use a new --work-dir"
            )
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        torch.set_rng_state(state["rng"])
        print(f"resuming at step {step} of {steps}", file=sys.stderr)
    (work / "config.json").write_text(json.dumps(fingerprint, indent=2), "utf-8")

    def save() -> None:
        _save(
            checkpoint,
            {
                "fingerprint": fingerprint,
                "model": model.state_dict(),
                "optim": optim.state_dict(),
                "sched": sched.state_dict(),
                "step": step,
                "rng": torch.get_rng_state(),
            },
        )

    stop = False

    def interrupted(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    model.train()
    loss_fn = torch.nn.CrossEntropyLoss()
    log = (work / "loss.jsonl").open("a", encoding="utf-8")
    bar = tqdm(total=steps, initial=step, unit="batch", dynamic_ncols=True)
    running = None
    while step < steps and not stop:
        batch = tensors(all_batches[step])
        start, end = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        loss = (loss_fn(start, batch["start"]) + loss_fn(end, batch["end"])) / 2
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        sched.step()
        step += 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        bar.update(1)
        bar.set_postfix(loss=f"{running:.3f}")
        if step % 50 == 0:
            log.write(json.dumps({"step": step, "loss": running, "t": time.time()}) + "\n")
            log.flush()
        if step % args.checkpoint_every == 0:
            save()
    bar.close()
    save()
    if step < steps:
        print(f"stopped at step {step} of {steps}; run the same command to resume", file=sys.stderr)
        sys.exit(130)
    final = work / "final.pt"
    _save(final, {"fingerprint": fingerprint, "model": model.state_dict(), "steps": steps})
    return final


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=Path("../shared/train/squad"))
    parser.add_argument("--work-dir", type=Path, default=Path("runs/reader"))
    parser.add_argument("--examples", type=int, default=Config.examples)
    parser.add_argument("--batch-size", type=int, default=Config.batch_size)
    parser.add_argument("--lr", type=float, default=Config.lr)
    parser.add_argument("--seed", type=int, default=Config.seed)
    parser.add_argument(
        "--made-share",
        type=float,
        default=Config.made_share,
        help="share of questions given each kind of made unanswerable example",
    )
    parser.add_argument(
        "--swap-share",
        type=float,
        default=Config.swap_share,
        help="share of questions also asked about a name from another article (unanswerable)",
    )
    parser.add_argument(
        "--train-share",
        type=float,
        default=Config.train_share,
        help="share of SQuAD v1.1 train's questions used",
    )
    parser.add_argument(
        "--dev-v2-repeat",
        type=int,
        default=Config.dev_v2_repeat,
        help="times each training-share dev v2.0 example (half of them unanswerable) is used",
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        help="start from the weights of another run's final.pt (a second stage)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--export", type=Path, help="then export int8 ONNX + card to this folder")
    args = parser.parse_args(argv)
    final = train(args)
    if args.export:
        from bot.reader.export import export

        export(final, args.export, args)


if __name__ == "__main__":
    main()
