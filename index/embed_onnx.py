"""The bundled model on ONNX Runtime (int8 or fp32): no torch at query time.

One inference session, one thread per call: a call runs on the calling thread, so nothing
spins between calls. A bulk embed (a build's batch) splits its texts over `workers` threads of
lowered CPU priority, so a question asked meanwhile, embedded on its own normal-priority
thread, still gets a core.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from index.embed import BUNDLED_MODEL
from index.errors import ModelError
from index.onnx_model import MODEL_FILE, TOKENIZER_FILE, cached_onnx

log = logging.getLogger(__name__)

# Texts per inference call. One: no padding, and a text's vector never depends on what it was
# embedded with (int8 activations are scaled per call). Measured per CPU second on
# MultiHop-RAG chunks, 1 text per call was also the fastest (62 chunks/s; 8: 50; 32: 47).
CALL_BATCH = 1
# Nice value of bulk-embedding threads (Linux: per thread), so questions come first.
BULK_NICE = 10
# From this many texts (a build's batch, not a question's candidate sentences) an embed is bulk.
BULK_MIN_TEXTS = 128


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime, made from the bundled weights; thread-safe."""

    def __init__(
        self,
        cache_dir: Path | None = None,
        *,
        quantized: bool = True,
        workers: int = 0,
    ) -> None:
        """Load (and on first use make) the ONNX model.

        Args:
            cache_dir: where the bundled model is unpacked and the ONNX file cached.
            quantized: int8 weights (the fast default) or fp32.
            workers: threads for bulk embedding; 0: one per CPU core.
        """
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelError(
                f"the ONNX backend needs onnxruntime and tokenizers ({exc}): "
                "pip install onnxruntime, or set FOOTNOTE_EMBED_BACKEND=torch"
            ) from exc
        self._quantized = quantized
        self._workers = workers or os.cpu_count() or 1
        directory, meta = cached_onnx(cache_dir or Path.home() / ".cache" / "footnote", quantized)
        self._dimensions = meta.dimensions
        self._max_tokens = meta.max_seq_length
        self._counter = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(directory / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(self._max_tokens)
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(f"cannot load the ONNX model in {directory}: {exc}") from exc
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def name(self) -> str:
        return BUNDLED_MODEL

    @property
    def backend(self) -> str:
        return "onnx-int8" if self._quantized else "onnx-fp32"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=True).ids)

    def embed(self, texts: list[str], batch_size: int = CALL_BATCH) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimensions), dtype=np.float32)
        batch_size = min(batch_size, CALL_BATCH)
        # Sorted by length, so each call pads its texts to about the same length.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches = [order[lo : lo + batch_size] for lo in range(0, len(order), batch_size)]
        out = np.empty((len(texts), self._dimensions), dtype=np.float32)
        if len(texts) < BULK_MIN_TEXTS or self._workers == 1:
            for batch in batches:
                out[batch] = self._run([texts[i] for i in batch])
            return out
        vectors = self._bulk_pool().map(lambda b: self._run([texts[i] for i in b]), batches)
        for batch, vecs in zip(batches, vectors, strict=True):
            out[batch] = vecs
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=True)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        (vectors,) = self._session.run(
            None,
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        return np.asarray(vectors, dtype=np.float32)

    def _bulk_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self._workers, thread_name_prefix="embed", initializer=_lower_priority
                )
            return self._pool

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None


def _lower_priority() -> None:
    """Run this thread at a lower CPU priority (Linux nice is per thread)."""
    try:
        thread = threading.get_native_id()
        # Never raise it: a process already started at a lower priority stays there.
        nice = max(os.getpriority(os.PRIO_PROCESS, thread), BULK_NICE)
        os.setpriority(os.PRIO_PROCESS, thread, nice)
    except (AttributeError, OSError) as exc:  # not Linux, or not permitted
        log.debug("cannot lower the embedding thread's priority: %s", exc)
