"""The int8 ONNX backend with the real bundled model (exported once per test session)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.service import Footnote
from index.embed import SentenceTransformerEmbedder
from index.embed_onnx import BULK_MIN_TEXTS, OnnxEmbedder
from index.onnx_model import MODEL_FILE, onnx_dir
from tests.conftest import SAMPLE

pytestmark = pytest.mark.model
SENTENCES = [
    "A cat sat on the mat.",
    "A kitten rested on a rug.",
    "Stock markets fell sharply on Monday after the central bank raised rates.",
    "Taobao and Tmall are run by Trudy Dai, according to LatePost.",
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache holding the bundled model and its int8 ONNX export."""
    cache = tmp_path_factory.mktemp("onnx-models")
    OnnxEmbedder(cache)
    return cache


def test_int8_vectors_match_torch(
    onnx_cache: Path, real_embedder: SentenceTransformerEmbedder
) -> None:
    onnx = OnnxEmbedder(onnx_cache)
    assert (onnx.name, onnx.backend, onnx.dimensions, onnx.max_tokens) == (
        real_embedder.name,
        "onnx-int8",
        real_embedder.dimensions,
        real_embedder.max_tokens,
    )
    ours, theirs = onnx.embed(SENTENCES), real_embedder.embed(SENTENCES)
    assert ours.dtype == np.float32 and np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    assert float(np.min((ours * theirs).sum(axis=1))) > 0.97
    assert ours[0] @ ours[1] > ours[0] @ ours[2] + 0.2
    long = " ".join(["Markets rallied."] * 200)
    for text in [*SENTENCES, long]:
        assert onnx.count_tokens(text) == real_embedder.count_tokens(text)


def test_a_bulk_embed_keeps_each_texts_vector_in_its_row(onnx_cache: Path) -> None:
    onnx = OnnxEmbedder(onnx_cache, workers=2)
    words = (
        "election harbor bridge coffee prices chess final storm vaccine tariff court ruling "
        "satellite launch merger strike drought festival museum bankruptcy earthquake lawsuit "
        "football transfer inflation budget wildfire protest telescope acquisition"
    ).split()
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 40, BULK_MIN_TEXTS + 9)
    texts = [" ".join(rng.choice(words, n)) for n in lengths]
    bulk = onnx.embed(texts)
    alone = np.vstack([onnx.embed([t]) for t in texts])
    # Each row is its own text's vector, the same as embedded alone (nothing batch-dependent).
    assert np.allclose(bulk, alone, atol=1e-5)
    onnx.close()


def test_the_export_is_made_once(onnx_cache: Path) -> None:
    model = onnx_dir(onnx_cache, quantized=True) / MODEL_FILE
    before = model.stat().st_mtime_ns
    OnnxEmbedder(onnx_cache)
    assert model.stat().st_mtime_ns == before


@pytest.mark.slow
def test_a_damaged_export_is_made_again(tmp_path: Path, onnx_cache: Path) -> None:
    cache = tmp_path / "models"
    shutil.copytree(onnx_cache, cache)
    model = onnx_dir(cache, quantized=True) / MODEL_FILE
    with model.open("r+b") as fh:
        fh.seek(model.stat().st_size // 2)
        fh.write(b"\x00" * 64)
    vectors = OnnxEmbedder(cache).embed(SENTENCES)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_asking_with_onnx_never_imports_torch(tmp_path: Path, onnx_cache: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        corpus_dir=SAMPLE,
        embed_backend="onnx-int8",
        model_cache=onnx_cache,
    )
    Footnote(settings).index()
    script = (
        "import sys\n"
        "sys.argv = ['footnote', 'ask', 'Who heads Taobao and Tmall?']\n"
        "from bot.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "heavy = {'torch', 'transformers', 'sentence_transformers'}\n"
        "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")},
        "FOOTNOTE_DATA_DIR": str(settings.data_dir),
        "FOOTNOTE_EMBED_BACKEND": "onnx-int8",
        "FOOTNOTE_MODEL_CACHE": str(onnx_cache),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "[1]" in done.stdout and "Taobao" in done.stdout
    assert "HEAVY []" in done.stdout
