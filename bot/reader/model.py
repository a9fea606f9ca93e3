"""The shipped reader: load once (sha256-checked), then read(question, passages) -> spans.

Every passage is read in windows (features.py); for each passage the reader gives its best
span (character offsets into that passage, so the text shown is a verbatim slice of it), the
span's score, and the no-answer score ([CLS]). Scores are logits of one model over one
question, so spans of different passages compare (haystack's extractive reader does the same).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.reader.features import Features, Window
from index.checksum import sha256_file
from index.errors import ModelError

MODEL_FILE = "reader-int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
CARD_FILE = "reader.json"
SHIPPED_DIR = Path(__file__).with_name("model")
MAX_ANSWER_TOKENS = 24


@dataclass(frozen=True)
class Span:
    """The reader's best answer in one passage: passage[start:end], and how sure it is.

    margin = score - no_answer: above 0 the model would rather answer from this passage than
    say it holds no answer.
    """

    passage: int
    start: int
    end: int
    text: str
    score: float
    no_answer: float

    @property
    def margin(self) -> float:
        return self.score - self.no_answer


class Reader:
    """The int8 ONNX span model and its tokenizer, checked against the card's sha256."""

    def __init__(self, model_dir: Path = SHIPPED_DIR, threads: int = 2) -> None:
        card_path = model_dir / CARD_FILE
        try:
            self.card: dict[str, Any] = json.loads(card_path.read_text("utf-8"))
            files: dict[str, str] = self.card["files"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"the reader's card {card_path} is missing or unreadable") from exc
        for name in (MODEL_FILE, TOKENIZER_FILE):
            path = model_dir / name
            expected = files.get(name)
            if not path.is_file():
                raise ModelError(f"the reader model file {path} is missing; reinstall Footnote")
            # Hashed on every load (about 50 ms): nothing is written beside the shipped files.
            if sha256_file(path) != expected:
                raise ModelError(
                    f"the reader model file {path} is damaged (sha256 does not match "
                    f"{card_path}); reinstall Footnote"
                )
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(
                str(model_dir / MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"the reader model {model_dir / MODEL_FILE} cannot be loaded") from exc
        self.features = Features(model_dir / TOKENIZER_FILE)
        self._lock = threading.Lock()

    def read(self, question: str, passages: list[str], batch_size: int = 16) -> list[Span]:
        """The best span of each passage (one per passage, in order; none for an empty one)."""
        q = self.features.question_ids(question)
        windows: list[tuple[int, Window]] = [
            (i, w) for i, p in enumerate(passages) if p.strip() for w in self.features.windows(q, p)
        ]
        best: dict[int, Span] = {}
        for lo in range(0, len(windows), batch_size):
            chunk = windows[lo : lo + batch_size]
            starts, ends = self._logits([w for _, w in chunk])
            for (i, w), s, e in zip(chunk, starts, ends, strict=True):
                span = _best_span(i, passages[i], w, s, e)
                old = best.get(i)
                if old is None:
                    best[i] = span
                else:  # a passage answers where its best window does; no answer, where none does
                    top = span if span.score > old.score else old
                    best[i] = _with(top, min(span.no_answer, old.no_answer))
        return [best[i] for i in sorted(best)]

    def _logits(self, windows: list[Window]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(w.ids) for w in windows)
        ids = np.zeros((len(windows), width), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, w in enumerate(windows):
            ids[row, : len(w.ids)] = w.ids
            types[row, : len(w.ids)] = w.type_ids
            mask[row, : len(w.ids)] = 1
        with self._lock:
            start, end = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            )
        return start, end


def _with(span: Span, no_answer: float) -> Span:
    return Span(span.passage, span.start, span.end, span.text, span.score, no_answer)


def _best_span(index: int, passage: str, w: Window, start: np.ndarray, end: np.ndarray) -> Span:
    """The highest start + end logit pair of passage tokens, end after start, not too long."""
    tokens = [k for k, o in enumerate(w.offsets) if o is not None]
    lo, hi = tokens[0], tokens[-1] + 1
    s = start[lo:hi]
    e = end[lo:hi]
    n = hi - lo
    # scores[i, j] = s[i] + e[j] for i <= j < i + MAX_ANSWER_TOKENS
    scores = s[:, None] + e[None, :]
    band = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(
        np.ones((n, n), dtype=bool), MAX_ANSWER_TOKENS
    )
    scores = np.where(band, scores, -np.inf)
    flat = int(np.argmax(scores))
    i, j = divmod(flat, n)
    first, last = w.offsets[lo + i], w.offsets[lo + j]
    assert first is not None and last is not None
    return Span(
        passage=index,
        start=first[0],
        end=last[1],
        text=passage[first[0] : last[1]],
        score=float(scores[i, j]),
        no_answer=float(start[0] + end[0]),
    )
