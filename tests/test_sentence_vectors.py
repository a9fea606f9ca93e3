"""Sentence vectors stored by the build: questions look them up instead of embedding them."""

from __future__ import annotations

import logging
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from bot.answer.model import Answer
from bot.config import Settings
from bot.service import Footnote
from index.build import build_index
from index.search import Passage
from index.sentence_vectors import DIRECTORY, Stored, open_store, store_path
from index.sentences import statements
from index.store import current_generation, index_dir
from index.vector_cache import vector_keys
from tests.damage import garble_middle, garble_pages
from tests.fakes import FakeEmbedder

QUESTIONS = [
    # Multi-part: the reranker embeds the sentences of the first 15 passages.
    "Did the Harbor City Herald report the bridge toll, and did the Daily Pawn report the chess "
    "final?",
    "How much did the bridge cost, and who won the national chess championship?",
    "How much did the bridge cost?",
    "Who won the national chess championship?",
]
PANDA = (
    "The city zoo welcomed a giant panda named Bao on Tuesday morning.\n\n"
    "Keepers said the panda ate forty kilograms of bamboo in its first week at the zoo."
)


def _write(path: Path, title: str, text: str) -> None:
    path.write_text(f"---\ntitle: {title}\nsource: Zoo Wire\n---\n{text}\n")


def _settings(data: Path, corpus: Path, **kw: object) -> Settings:
    # The fake embedder's cosines run lower than a real model's: thresholds to match.
    return Settings(data_dir=data, corpus_dir=corpus, min_similarity=0.2, min_confidence=0.6, **kw)  # type: ignore[arg-type]


def _asked(settings: Settings) -> tuple[FakeEmbedder, list[tuple[list[Passage], Answer]]]:
    """Each question asked once in a fresh process's service: its passages and its answer."""
    embedder = FakeEmbedder()
    service = Footnote(settings, embedder=embedder)
    out = [(service.search(q), service.ask(q)) for q in QUESTIONS]
    return embedder, out


def _index_sentences(settings: Settings) -> set[str]:
    """Every sentence a question could embed: the statements of every indexed chunk."""
    service = Footnote(settings, embedder=FakeEmbedder())
    snapshot = service.retriever.snapshot()
    with closing(sqlite3.connect(snapshot.path / "meta.sqlite")) as db:  # type: ignore[attr-defined]
        chunks = [text for (text,) in db.execute("SELECT text FROM chunks")]
    return {s for text in chunks for s in statements(text)}


def _store(settings: Settings) -> Path:
    generation = current_generation(index_dir(settings.data_dir))
    assert generation is not None
    return store_path(settings.data_dir, generation)


def _stored_keys(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as db:
        return {key for (key,) in db.execute("SELECT key FROM vectors")}


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "index.sentence_vectors"
    ]


@pytest.fixture
def built(tmp_path: Path, news_corpus: Path) -> Settings:
    settings = _settings(tmp_path / "data", news_corpus)
    report = Footnote(settings, embedder=FakeEmbedder()).index()
    assert report.sentences_embedded > 0
    return settings


@pytest.fixture
def without_store(built: Settings, tmp_path: Path) -> list[tuple[list[Passage], Answer]]:
    """The answers of a copy of the index whose sentence store was deleted."""
    copy = tmp_path / "copy"
    shutil.copytree(built.data_dir, copy)
    shutil.rmtree(index_dir(copy) / DIRECTORY)
    embedder, answers = _asked(_settings(copy, built.corpus_dir))
    # The questions do embed sentences when nothing is stored: what the store saves.
    assert set(embedder.embedded) & _index_sentences(built)
    return answers


def test_after_a_build_asking_embeds_no_stored_sentence_and_answers_the_same(
    built: Settings,
    without_store: list[tuple[list[Passage], Answer]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    embedder, answers = _asked(built)
    assert not set(embedder.embedded) & _index_sentences(built)
    assert answers == without_store
    assert any(answer.found for _, answer in answers)
    assert _warnings(caplog) == []


@pytest.mark.parametrize("kind", ["files", "milvus-lite"])
def test_both_backends_store_the_sentences_beside_the_generation(
    kind: str, tmp_path: Path, news_corpus: Path
) -> None:
    extra = {} if kind == "files" else {"backend": "milvus", "milvus_uri": str(tmp_path / "m.db")}
    settings = _settings(tmp_path / "data", news_corpus, **extra)
    Footnote(settings, embedder=FakeEmbedder()).index()
    embedder = FakeEmbedder()
    service = Footnote(settings, embedder=embedder)
    passages = service.search(QUESTIONS[0], 15)
    generation = service.retriever.snapshot().generation
    assert store_path(settings.data_dir, generation).exists()
    asked = {s for p in passages for s in statements(p.text)}
    assert asked and not asked & set(embedder.embedded)
    assert service.ask(QUESTIONS[0]).found


def test_a_lookup_is_exactly_the_embedders_vector(built: Settings) -> None:
    embedder = FakeEmbedder()
    store = open_store(_store(built), embedder)
    assert store is not None
    stored = Stored(embedder)
    stored.use(store)
    texts = [*sorted(_index_sentences(built))[:20], "a text no article holds"]
    vectors = stored.embed([*texts, texts[0]])
    assert embedder.embedded == ["a text no article holds"]
    expected = FakeEmbedder().embed([*texts, texts[0]])
    assert vectors.dtype == np.float32 and vectors.tobytes() == expected.tobytes()
    # Another model's embedder never takes them.
    assert open_store(_store(built), FakeEmbedder(name="other-model")) is None


def test_an_incremental_build_embeds_only_the_new_articles_sentences(built: Settings) -> None:
    corpus, data = built.corpus_dir, built.data_dir
    before = _stored_keys(_store(built))
    embedder = FakeEmbedder()
    _write(corpus / "zoo.md", "Zoo welcomes panda", PANDA)
    report = build_index(corpus, data, embedder, built.chunking)
    assert report.added == 1 and report.sentences_embedded == 2
    sentences = [t for t in embedder.embedded if not t.startswith("Zoo welcomes panda")]
    assert sentences == PANDA.split("\n\n")  # the chunks' headed texts, then its sentences
    after = _stored_keys(_store(built))
    assert before < after and len(after - before) == 2

    # Removing an article embeds nothing and drops the sentences only it held.
    embedder.embedded.clear()
    (corpus / "zoo.md").unlink()
    report = build_index(corpus, data, embedder, built.chunking)
    assert report.removed == 1 and embedder.embedded == []
    assert _stored_keys(_store(built)) == before
    # Only the published generation's store and the one it replaced are kept.
    assert len(list((index_dir(data) / DIRECTORY).iterdir())) == 2


def test_an_index_built_before_stores_them_on_its_next_build(built: Settings) -> None:
    path = _store(built)
    keys = _stored_keys(path)
    path.unlink()
    embedder = FakeEmbedder()
    report = build_index(built.corpus_dir, built.data_dir, embedder, built.chunking)
    assert not report.published and report.sentences_embedded == len(keys)
    assert _stored_keys(path) == keys and len(embedder.embedded) == len(keys)
    embedder.embedded.clear()
    again = build_index(built.corpus_dir, built.data_dir, embedder, built.chunking)
    assert again.sentences_embedded == 0 and embedder.embedded == []


def _zero_the_vectors(path: Path) -> None:
    """Every vector's bytes changed, its sha256 left as it was."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE vectors SET vec = zeroblob(length(vec))")
        db.commit()


def _not_a_database(path: Path) -> None:
    path.write_bytes(b"not a database" * 100)


def _another_model(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE info SET value = 'other-model' WHERE key = 'model'")
        db.commit()


@pytest.mark.parametrize(
    ("damage", "warnings"),
    [
        (Path.unlink, {1}),
        (_not_a_database, {1}),
        (_zero_the_vectors, {1}),
        (_another_model, {1}),
        # Random bytes: a page the questions never read goes unnoticed until the next build.
        (garble_middle, {0, 1}),
        (garble_pages, {0, 1}),
    ],
)
def test_a_damaged_or_missing_store_means_embedding_with_the_same_answers(
    built: Settings,
    without_store: list[tuple[list[Passage], Answer]],
    damage: Callable[[Path], None],
    warnings: set[int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = _store(built)
    damage(path)
    caplog.clear()
    _, answers = _asked(built)
    assert answers == without_store
    assert len(_warnings(caplog)) in warnings

    # The next build stores them again, embedding no sentence the store still holds intact.
    embedder = FakeEmbedder()
    _write(built.corpus_dir / "zoo.md", "Zoo welcomes panda", PANDA)
    report = build_index(built.corpus_dir, built.data_dir, embedder, built.chunking)
    assert report.published and report.sentences_embedded >= 2
    caplog.clear()
    asking, _ = _asked(built)
    assert not set(asking.embedded) & _index_sentences(built)
    assert _warnings(caplog) == []


def test_keys_name_the_embedder() -> None:
    text = ["The bridge cost 1.2 billion dollars."]
    keys = {
        vector_keys(FakeEmbedder(), text)[0],
        vector_keys(FakeEmbedder(name="other"), text)[0],
        vector_keys(FakeEmbedder(backend="onnx-int8"), text)[0],
        vector_keys(FakeEmbedder(dimensions=32), text)[0],
    }
    assert len(keys) == 4


def test_a_build_killed_while_embedding_sentences_resumes_them(
    built: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("index.build.EMBED_BATCH", 1)
    _write(built.corpus_dir / "zoo.md", "Zoo welcomes panda", PANDA)

    def killed(done: int, total: int, stage: str = "embedding") -> None:
        if stage == "sentences" and done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_index(
            built.corpus_dir, built.data_dir, FakeEmbedder(), built.chunking, progress=killed
        )
    embedder = FakeEmbedder()
    report = build_index(built.corpus_dir, built.data_dir, embedder, built.chunking)
    assert (report.sentences_embedded, report.sentences_reused) == (1, 1)
    assert embedder.embedded == PANDA.split("\n\n")[1:]
    assert not list((index_dir(built.data_dir) / DIRECTORY).glob(".tmp-*"))
