"""The bundled model as an ONNX file: exported offline from the hash-checked weights, cached.

    <cache>/all-MiniLM-L6-v2-<weights sha>-onnx-int8/
        model.onnx      input_ids, attention_mask, token_type_ids -> unit-length sentence vectors
        tokenizer.json  the model's own tokenizer
        meta.json       sha256 of model.onnx and tokenizer.json, how they were made

The export needs torch (once, on first use) and runs in a child process, so the process that
asked for it never imports torch nor keeps its memory. Loading the cached file needs only
onnxruntime, and checks the file against the sha256 written when it was made. A damaged or
half-written cache is made again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock

from index.checksum import remember_verified, sha256_file, verified_before
from index.embed import BUNDLED_MODEL, BUNDLED_SHA256, bundled_model_dir
from index.errors import ModelError

log = logging.getLogger(__name__)

# Bump when the export or quantization recipe changes: an older cache is then made again.
RECIPE = 2
OPSET = 17
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "meta.json"


@dataclass(frozen=True)
class OnnxMeta:
    """How a cached ONNX model was made, and the hashes it is checked against."""

    source_sha256: str
    quantized: bool
    recipe: int
    max_seq_length: int
    dimensions: int
    model_sha256: str
    tokenizer_sha256: str


def onnx_dir(cache_dir: Path, quantized: bool) -> Path:
    kind = "onnx-int8" if quantized else "onnx-fp32"
    return cache_dir / f"{BUNDLED_MODEL}-{BUNDLED_SHA256[:12]}-{kind}-r{RECIPE}"


def cached_onnx(cache_dir: Path, quantized: bool) -> tuple[Path, OnnxMeta]:
    """The cached ONNX model directory, made from the bundled weights if missing or damaged.

    Raises:
        ModelError: the bundled weights are missing or not the official ones, or the export
            failed (the message says what to install).
    """
    target = onnx_dir(cache_dir, quantized)
    meta = _verified(target, quantized)
    if meta is not None:
        return target, meta
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_name(target.name + ".lock"))):
        meta = _verified(target, quantized)  # another process may have made it meanwhile
        if meta is None:
            if target.exists():
                log.warning("the cached ONNX model in %s is damaged; making it again", target)
                shutil.rmtree(target, ignore_errors=True)
            meta = _make(target, cache_dir, quantized)
    return target, meta


def _verified(target: Path, quantized: bool) -> OnnxMeta | None:
    """The cache's meta if every file is present and matches its recorded sha256."""
    try:
        meta = OnnxMeta(**json.loads((target / META_FILE).read_text("utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        return None
    expected = (BUNDLED_SHA256, quantized, RECIPE)
    if (meta.source_sha256, meta.quantized, meta.recipe) != expected:
        return None
    try:
        for name, sha256 in (
            (MODEL_FILE, meta.model_sha256),
            (TOKENIZER_FILE, meta.tokenizer_sha256),
        ):
            path = target / name
            if not verified_before(path, sha256):
                if sha256_file(path) != sha256:
                    return None
                remember_verified(path, sha256)
    except OSError:
        return None
    return meta


def _make(target: Path, cache_dir: Path, quantized: bool) -> OnnxMeta:
    """Make the cache in a child process (torch's import and memory stay there)."""
    log.warning("making the ONNX model in %s (once; under a minute)", target)
    kind = "int8" if quantized else "fp32"
    done = subprocess.run(
        [sys.executable, "-m", "index.onnx_model", str(target), str(cache_dir), kind],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ModelError(f"making the ONNX model in {target} failed: {detail}")
    meta = _verified(target, quantized)
    if meta is None:
        raise ModelError(f"making the ONNX model in {target} left no usable model")
    return meta


def make_here(target: Path, cache_dir: Path, quantized: bool) -> OnnxMeta:
    """Export (and quantize) the bundled model into target, in this process."""
    source = bundled_model_dir(cache_dir)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        fp32 = tmp / "fp32.onnx"
        max_seq_length, dimensions = _export(source, fp32)
        if quantized:
            quantize_int8(fp32, tmp / MODEL_FILE)
            fp32.unlink()
        else:
            fp32.replace(tmp / MODEL_FILE)
        shutil.copyfile(source / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
        meta = OnnxMeta(
            source_sha256=BUNDLED_SHA256,
            quantized=quantized,
            recipe=RECIPE,
            max_seq_length=max_seq_length,
            dimensions=dimensions,
            model_sha256=sha256_file(tmp / MODEL_FILE),
            tokenizer_sha256=sha256_file(tmp / TOKENIZER_FILE),
        )
        # meta.json last: a cache without it is incomplete and is made again.
        (tmp / META_FILE).write_text(json.dumps(asdict(meta), indent=2), "utf-8")
        tmp.replace(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return meta


def _export(source: Path, out: Path) -> tuple[int, int]:
    """Export BERT + mean pooling + normalisation to ONNX; returns (max tokens, dimensions)."""
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:  # pragma: no cover - torch is a dependency
        raise ModelError(f"making the ONNX model needs torch and transformers: {exc}") from exc

    config = json.loads((source / "sentence_bert_config.json").read_text("utf-8"))
    # Eager attention exports as plain MatMul + Softmax (SDPA adds NaN guards and mask copies).
    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    dummy = torch.ones((2, 16), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            Pooled(),
            (dummy, dummy, torch.zeros_like(dummy)),
            str(out),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "embedding": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
    return int(config["max_seq_length"]), int(bert.config.hidden_size)


def quantize_int8(fp32: Path, out: Path, ops: tuple[str, ...] = ("MatMul",)) -> None:
    """Dynamic int8 quantization of the matrix multiplications (weights int8, per channel);
    ops may add "Gather" (the token embeddings: a quarter of the file's size)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=list(ops),
    )


if __name__ == "__main__":
    try:
        make_here(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "int8")
    except ModelError as exc:
        sys.exit(f"error: {exc}")
