"""A trained reader checkpoint -> the shipped int8 ONNX model, its tokenizer and its card."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bot.reader.model import CARD_FILE, MODEL_FILE, TOKENIZER_FILE
from index.checksum import sha256_file
from index.embed import BUNDLED_MODEL, BUNDLED_SHA256
from index.onnx_model import OPSET, quantize_int8

LICENCE = (
    "Weights: trained by the Footnote project from all-MiniLM-L6-v2 (Apache-2.0) on SQuAD v1.1 "
    "train and part of SQuAD v2.0 dev (CC BY-SA 4.0, Rajpurkar et al. 2016, 2018); the model "
    "is shared under CC BY-SA 4.0."
)


def export(checkpoint: Path, out_dir: Path, args: argparse.Namespace | None = None) -> Path:
    """Write reader-int8.onnx, tokenizer.json and reader.json into out_dir; returns the card."""
    import torch

    from bot.config import load_settings
    from bot.reader.train import command_of, span_model
    from index.embed import bundled_model_dir

    base = bundled_model_dir(load_settings().model_cache_dir)
    state = torch.load(checkpoint, weights_only=False)
    model = span_model(base)
    model.load_state_dict(state["model"])
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        dummy = torch.ones((2, 16), dtype=torch.int64)
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad():
            torch.onnx.export(
                model,
                (dummy, dummy, torch.zeros_like(dummy)),
                str(fp32),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["start_logits", "end_logits"],
                dynamic_axes={
                    "input_ids": axes,
                    "attention_mask": axes,
                    "token_type_ids": axes,
                    "start_logits": axes,
                    "end_logits": axes,
                },
                opset_version=OPSET,
                dynamo=False,
            )
        # The token embeddings too: the shipped file is a third the size (24 MB, not 58 MB).
        quantize_int8(fp32, out_dir / MODEL_FILE, ops=("MatMul", "Gather"))
    shutil.copyfile(base / "tokenizer.json", out_dir / TOKENIZER_FILE)
    fingerprint: dict[str, Any] = state["fingerprint"]
    card = {
        "name": "footnote-reader",
        "base_model": BUNDLED_MODEL,
        "base_sha256": BUNDLED_SHA256,
        "data": "SQuAD v1.1 train, unanswerable examples made from it, and SQuAD v2.0 dev "
        "articles of the training share",
        "licence": LICENCE,
        "training": {
            "command": command_of(fingerprint),
            **fingerprint,
        },
        "files": {
            MODEL_FILE: sha256_file(out_dir / MODEL_FILE),
            TOKENIZER_FILE: sha256_file(out_dir / TOKENIZER_FILE),
        },
        "metrics": {},
    }
    card_path = out_dir / CARD_FILE
    card_path.write_text(json.dumps(card, indent=2) + "\n", "utf-8")
    return card_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="final.pt or checkpoint.pt of a run")
    parser.add_argument("--out", type=Path, default=Path("bot/reader/model"))
    args = parser.parse_args(argv)
    print(export(args.checkpoint, args.out))


if __name__ == "__main__":
    main()
