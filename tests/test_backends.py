"""Embedding backends: selection, the manifest's backend, the ONNX cache's hash checks."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest

import bot.service
import index.embed
import index.onnx_model as onnx_model
from bot.config import Settings, load_settings
from index.build import build_index
from index.chunk import ChunkSettings
from index.embed import BUNDLED_SHA256, bundled_model_dir, sha256_file
from index.errors import ConfigError, IndexMismatchError, ModelError
from index.onnx_model import META_FILE, MODEL_FILE, RECIPE, TOKENIZER_FILE, OnnxMeta, cached_onnx
from index.search import Retriever, SearchSettings
from index.store import MANIFEST, Manifest, Snapshot
from tests.fakes import FakeEmbedder


class Recorder:
    """Stands in for an embedder class: remembers how it was constructed."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.args, self.kwargs = args, kwargs


@pytest.mark.parametrize(
    ("backend", "quantized"), [("torch", None), ("onnx-int8", True), ("onnx-fp32", False)]
)
def test_the_configured_backend_is_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, backend: str, quantized: bool | None
) -> None:
    class Torch(Recorder): ...

    class Onnx(Recorder): ...

    monkeypatch.setattr(bot.service, "SentenceTransformerEmbedder", Torch)
    monkeypatch.setattr(bot.service, "OnnxEmbedder", Onnx)
    monkeypatch.setenv("FOOTNOTE_EMBED_BACKEND", backend)
    monkeypatch.setenv("FOOTNOTE_EMBED_WORKERS", "3")
    settings = load_settings(data_dir=tmp_path)
    made = bot.service.make_embedder(settings)
    assert isinstance(made, Torch if quantized is None else Onnx)
    if quantized is None:
        assert made.kwargs == {"cache_dir": tmp_path / "models", "threads": 1}
    else:
        assert made.kwargs == {"quantized": quantized, "workers": 3}
        assert made.args == (tmp_path / "models",)


def test_onnx_runs_only_the_bundled_model(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, embed_backend="onnx-int8", model="other/model")
    with pytest.raises(ConfigError, match="FOOTNOTE_EMBED_BACKEND=torch"):
        bot.service.make_embedder(settings)


def test_an_unknown_backend_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOOTNOTE_EMBED_BACKEND", "tensorflow")
    with pytest.raises(ConfigError, match="FOOTNOTE_EMBED_BACKEND"):
        load_settings()


def test_the_manifest_records_the_backend(tmp_path: Path, news_corpus: Path) -> None:
    report = build_index(news_corpus, tmp_path, FakeEmbedder(backend="onnx-int8"), ChunkSettings())
    manifest = Manifest.read(tmp_path / "index" / str(report.generation) / MANIFEST)
    assert manifest.backend == "onnx-int8"


def test_an_index_made_before_backends_reads_as_torch(tmp_path: Path, news_corpus: Path) -> None:
    report = build_index(news_corpus, tmp_path, FakeEmbedder(backend="torch"), ChunkSettings())
    path = tmp_path / "index" / str(report.generation) / MANIFEST
    data = json.loads(path.read_text())
    del data["backend"]
    path.write_text(json.dumps(data))
    assert Manifest.read(path).backend == "torch"


def test_a_backend_change_is_explained_and_rebuilt(tmp_path: Path, news_corpus: Path) -> None:
    first = build_index(news_corpus, tmp_path, FakeEmbedder(backend="torch"), ChunkSettings())
    other = FakeEmbedder(backend="onnx-int8")
    # Same model name and dimensions, other backend: questions are refused, with the way out.
    retriever = Retriever(tmp_path, other, SearchSettings())
    with pytest.raises(IndexMismatchError, match=r"torch backend .* onnx-int8.*footnote index"):
        retriever.search("Who won the chess final?")
    # The next build re-embeds everything rather than mixing vectors of the two backends.
    second = build_index(news_corpus, tmp_path, other, ChunkSettings())
    assert second.full_rebuild_reason is not None
    assert "backend changed from torch to onnx-int8" in second.full_rebuild_reason
    assert second.chunks_embedded == first.chunks_total == second.chunks_total
    assert len(other.embedded) == second.chunks_total + second.sentences_embedded
    assert Snapshot.open_current(tmp_path).manifest.backend == "onnx-int8"
    assert retriever.search("Who won the chess final?")


# --- the ONNX cache, with a fake export standing in for torch ---------------------------------


class FakeExport:
    """Writes a cache as the real export would (files, then meta.json last); counts its runs."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, target: Path, cache_dir: Path, quantized: bool) -> OnnxMeta:
        self.runs += 1
        target.mkdir(parents=True)
        (target / MODEL_FILE).write_bytes(b"onnx graph %d" % self.runs)
        (target / TOKENIZER_FILE).write_text("{}")
        meta = OnnxMeta(
            source_sha256=BUNDLED_SHA256,
            quantized=quantized,
            recipe=RECIPE,
            max_seq_length=256,
            dimensions=384,
            model_sha256=sha256_file(target / MODEL_FILE),
            tokenizer_sha256=sha256_file(target / TOKENIZER_FILE),
        )
        (target / META_FILE).write_text(json.dumps(asdict(meta)))
        return meta


@pytest.fixture
def fake_export(monkeypatch: pytest.MonkeyPatch) -> FakeExport:
    export = FakeExport()
    monkeypatch.setattr(onnx_model, "_make", export)
    return export


def test_the_onnx_model_is_made_once_then_reused(tmp_path: Path, fake_export: FakeExport) -> None:
    directory, meta = cached_onnx(tmp_path, quantized=True)
    assert fake_export.runs == 1 and meta.quantized
    again, _ = cached_onnx(tmp_path, quantized=True)
    assert again == directory and fake_export.runs == 1
    # int8 and fp32 are cached apart.
    fp32, _ = cached_onnx(tmp_path, quantized=False)
    assert fp32 != directory and fake_export.runs == 2


@pytest.mark.parametrize(
    "damage",
    [
        "model bytes",
        "model missing",
        "tokenizer bytes",
        "meta missing",
        "meta garbage",
        "other recipe",
    ],
)
def test_a_damaged_onnx_cache_is_made_again(
    tmp_path: Path, fake_export: FakeExport, damage: str
) -> None:
    directory, _ = cached_onnx(tmp_path, quantized=True)
    if damage == "model bytes":
        with (directory / MODEL_FILE).open("r+b") as fh:
            fh.write(b"X")
    elif damage == "model missing":
        (directory / MODEL_FILE).unlink()
    elif damage == "tokenizer bytes":
        (directory / TOKENIZER_FILE).write_text('{"x": 1}')
    elif damage == "meta missing":
        (directory / META_FILE).unlink()
    elif damage == "meta garbage":
        (directory / META_FILE).write_text("{not json")
    else:
        data = json.loads((directory / META_FILE).read_text())
        data["recipe"] = RECIPE - 1
        (directory / META_FILE).write_text(json.dumps(data))
    again, meta = cached_onnx(tmp_path, quantized=True)
    assert fake_export.runs == 2 and again == directory
    assert sha256_file(directory / MODEL_FILE) == meta.model_sha256
    assert (directory / MODEL_FILE).read_bytes() == b"onnx graph 2"


# --- hash checks are remembered, never trusted past a change ------------------------------------


def test_the_weights_hash_check_is_remembered_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[Path] = []

    def counting_sha256(path: Path) -> str:
        hashed.append(path)
        return sha256_file(path)

    monkeypatch.setattr(index.embed, "sha256_file", counting_sha256)
    directory = bundled_model_dir(tmp_path)
    assert len(hashed) == 1
    bundled_model_dir(tmp_path)
    assert len(hashed) == 1  # unpacked and hashed once
    weights = directory / "model.safetensors"
    # Rewritten in place with its mtime put back: the ctime still gives it away.
    st = weights.stat()
    data = bytearray(weights.read_bytes())
    data[1000] ^= 0xFF
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ModelError, match="expected the official"):
        bundled_model_dir(tmp_path)
    assert len(hashed) == 2


def test_the_onnx_hash_check_is_remembered(
    tmp_path: Path, fake_export: FakeExport, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_onnx(tmp_path, quantized=True)
    hashed: list[Path] = []

    def counting_sha256(path: Path) -> str:
        hashed.append(path)
        return sha256_file(path)

    monkeypatch.setattr(onnx_model, "sha256_file", counting_sha256)
    cached_onnx(tmp_path, quantized=True)
    first = len(hashed)
    cached_onnx(tmp_path, quantized=True)
    assert len(hashed) == first <= 2 and fake_export.runs == 1
