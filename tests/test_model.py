"""Integration tests with the real bundled all-MiniLM-L6-v2 (loaded once per session)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import Footnote
from index.articles import Article
from index.chunk import Chunker, ChunkSettings, embed_text
from index.embed import (
    BUNDLED_MODEL,
    BUNDLED_SHA256,
    SentenceTransformerEmbedder,
    bundled_model_dir,
)
from index.errors import ModelError
from tests.conftest import SAMPLE

pytestmark = pytest.mark.model


def test_bundled_weights_are_verified(tmp_path: Path) -> None:
    good = bundled_model_dir(tmp_path)
    assert good.name.startswith(BUNDLED_MODEL) and (good / "model.safetensors").exists()
    # Tamper with the unpacked weights: the next use refuses them, with the way out.
    with (good / "model.safetensors").open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelError, match=f"expected the official {BUNDLED_SHA256}"):
        bundled_model_dir(tmp_path)
    with pytest.raises(ModelError, match="reinstall"):
        SentenceTransformerEmbedder(cache_dir=tmp_path)


def test_unknown_model_name_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot load embedding model"):
        SentenceTransformerEmbedder(str(tmp_path / "no-such-model"), cache_dir=tmp_path)


def test_real_embeddings_are_unit_vectors_with_meaning(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    vecs = real_embedder.embed(
        ["A cat sat on the mat.", "A kitten rested on a rug.", "Stock markets fell."]
    )
    assert vecs.shape == (3, 384) and vecs.dtype.name == "float32"
    assert abs(float((vecs[0] ** 2).sum()) - 1.0) < 1e-4
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2


def test_no_chunk_exceeds_max_seq_length_in_the_models_tokenizer(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    # Material where WordPiece needs more tokens than cl100k: links, codes, figures.
    parts = [
        "Source: https://www.example.com/news/2023/11/16/alibaba-cloud-spinoff?utm_source=feed",
        "and https://example.org/2023/q3/results-1234567.89-yuan-us193456?ref=HK9988",
        "ISIN US01609W1027 NYSE:BABA: 戴珊 (Trudy Dai Shan) heads the unit.",
    ]
    text = " ".join(parts * 25)
    article = Article("x", "Alibaba results 阿里巴巴", "Wire", "", "2023-11-16", text, "x")
    settings = ChunkSettings(max_tokens=240, overlap_tokens=30)
    unbounded = Chunker(settings)
    # Without the model's own bound, some windows would overflow 256 and be silently truncated.
    assert any(
        real_embedder.count_tokens(embed_text(article, c.text, settings)) > real_embedder.max_tokens
        for c in unbounded.chunk(article)
    )
    chunks = Chunker(settings, real_embedder.count_tokens, real_embedder.max_tokens).chunk(article)
    assert chunks
    for chunk in chunks:
        assert real_embedder.count_tokens(embed_text(article, chunk.text, settings)) <= 256
        assert chunk.text == text[chunk.start : chunk.end]


@pytest.fixture
def sample_service(tmp_path: Path, real_embedder: SentenceTransformerEmbedder) -> Footnote:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=SAMPLE)
    service = Footnote(settings, embedder=real_embedder)
    service.index()
    return service


def test_sample_corpus_answers_who_heads_taobao_and_tmall(sample_service: Footnote) -> None:
    answer = sample_service.ask("Who heads Taobao and Tmall?")
    assert answer.found
    assert "Dai" in answer.text  # Trudy Dai Shan / Trudy Shan Dai
    cited = {s.title for s in answer.sources if "Dai" in s.snippet}
    assert cited & {a.title for a in sample_service.articles()}
    for source in answer.sources:
        article = sample_service.article(source.article_id)
        assert article.text[source.snippet_start : source.snippet_end] == source.snippet


def test_sample_corpus_seed_questions_answer(sample_service: Footnote) -> None:
    head = sample_service.ask("Who heads Taobao and Tmall?")
    assert head.short is not None and "Dai" in head.short.text
    directions = sample_service.ask("What three directions did Jack Ma point out?")
    assert directions.found
    assert directions.short is not None
    assert directions.short.text == (
        "Returning to Taobao, returning to users and returning to the internet"
    )
    quoted = directions.claims[0].text
    # The quote names all three directions, and "He" brings the sentence naming Jack Ma.
    for direction in ("Returning to Taobao", "returning to users", "returning to the internet"):
        assert direction in quoted
    assert "Jack Ma" in quoted


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Peru?",
        "Who won the 1998 football World Cup?",
        "Who is the CEO of Tesla?",
        "Which company did Alibaba buy in 2015?",
    ],
)
def test_sample_corpus_abstains_on_unrelated_questions(
    sample_service: Footnote, question: str
) -> None:
    assert not sample_service.ask(question).found


def test_readme_commands_work_from_a_shell(tmp_path: Path) -> None:
    """`footnote index` then `footnote ask` as a user types them, the real model included."""
    footnote = shutil.which("footnote") or str(Path(sys.executable).parent / "footnote")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOOTNOTE_", "DISCORD_"))}
    env |= {
        "FOOTNOTE_DATA_DIR": str(tmp_path / "data"),
        "FOOTNOTE_CORPUS_DIR": str(SAMPLE),
    }
    index = subprocess.run(
        [footnote, "index"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert index.returncode == 0, index.stderr
    assert "added 2, updated 0, removed 0, unchanged 0" in index.stdout
    ask = subprocess.run(
        [footnote, "ask", "Who heads Taobao and Tmall?"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ask.returncode == 0, ask.stderr
    assert "[1]" in ask.stdout and "Sources:" in ask.stdout and "Dai" in ask.stdout
    assert "Traceback" not in ask.stderr and "Loading weights" not in ask.stderr
