"""Fakes for fast tests: a deterministic embedder that needs no model."""

from __future__ import annotations

import hashlib
import re

import numpy as np

_STOP = frozenset(
    "a an and are as at be by did do does for from had has have he her his how in is it its of "
    "on or she that the their they this to was were what when where which who why will with".split()
)


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


class FakeEmbedder:
    """Hashed bag of stemmed words: texts sharing words get similar unit vectors.

    Counts calls and embedded texts so tests can assert what was (re-)embedded.
    """

    def __init__(
        self,
        name: str = "fake-hash",
        dimensions: int = 256,
        max_tokens: int = 128,
        backend: str = "fake",
    ) -> None:
        self._name = name
        self._backend = backend
        self._dimensions = dimensions
        self._max_tokens = max_tokens
        self.embedded: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def dimensions(self) -> int:
        return self._dimensions

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        # Like a WordPiece tokenizer: words and punctuation, plus [CLS] and [SEP].
        return len(re.findall(r"\w+|[^\w\s]", text)) + 2

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self._dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                if word in _STOP:
                    continue
                digest = hashlib.blake2b(_stem(word).encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self._dimensions] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out
