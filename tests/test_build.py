from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest

from index.build import build_index, build_lock
from index.chunk import ChunkSettings
from index.errors import IndexLockedError, IndexMismatchError, IndexMissingError
from index.search import Retriever
from index.store import Snapshot, current_generation, index_dir
from tests.fakes import FakeEmbedder

SETTINGS = ChunkSettings(max_tokens=60, overlap_tokens=10)


def _build(corpus: Path, data: Path, embedder: FakeEmbedder, **kw: object):  # type: ignore[no-untyped-def]
    return build_index(corpus, data, embedder, SETTINGS, **kw)  # type: ignore[arg-type]


def _article(path: Path, title: str, text: str) -> None:
    path.write_text(f"---\ntitle: {title}\nsource: Test Wire\n---\n{text}\n")


def test_first_build_indexes_everything(news_corpus: Path, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    report = _build(news_corpus, tmp_path / "data", embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (7, 0, 0, 0)
    assert report.published and report.chunks_total == report.chunks_embedded > 0
    snap = Snapshot.open_current(tmp_path / "data")
    assert snap.manifest.model == "fake-hash" and snap.manifest.articles == 7
    assert snap.manifest.chunking == SETTINGS.as_dict()
    assert len(snap.articles()) == 7


def test_incremental_add_change_delete_embeds_only_those(news_corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    embedder = FakeEmbedder()
    _build(news_corpus, data, embedder)
    first_generation = current_generation(index_dir(data))

    embedder.embedded.clear()
    _article(news_corpus / "new.md", "Zoo welcomes panda", "The city zoo welcomed a giant panda.")
    report = _build(news_corpus, data, embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 0, 0, 7)
    assert embedder.embedded and all("panda" in t for t in embedder.embedded)

    embedder.embedded.clear()
    _article(news_corpus / "new.md", "Zoo welcomes panda", "The city zoo welcomed two red pandas.")
    report = _build(news_corpus, data, embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 7)
    assert embedder.embedded and all("red pandas" in t for t in embedder.embedded)

    embedder.embedded.clear()
    (news_corpus / "chess-final.md").unlink()
    report = _build(news_corpus, data, embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 1, 7)
    assert embedder.embedded == []

    snap = Snapshot.open_current(data)
    assert snap.generation != first_generation
    titles = {a.title for a in snap.articles()}
    assert "Zoo welcomes panda" in titles
    assert not any("chess" in t for t in titles)
    # The deleted article's chunks are gone from both the vectors and the keyword index.
    assert snap.keyword("Nandakumar chess", 5) == []
    assert snap.manifest.chunks == sum(a.chunks for a in snap.articles())


def test_unchanged_corpus_publishes_nothing_new(news_corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    embedder = FakeEmbedder()
    first = _build(news_corpus, data, embedder)
    embedder.embedded.clear()
    again = _build(news_corpus, data, embedder)
    assert not again.published and again.generation == first.generation
    assert again.unchanged == 7 and again.chunks_total == first.chunks_total
    assert embedder.embedded == []


def test_incremental_index_equals_a_clean_build(news_corpus: Path, tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    _build(news_corpus, tmp_path / "inc", embedder)
    _article(news_corpus / "new.md", "Zoo welcomes panda", "The city zoo welcomed a giant panda.")
    (news_corpus / "wire.jsonl").unlink()
    _build(news_corpus, tmp_path / "inc", embedder)
    _build(news_corpus, tmp_path / "clean", embedder)
    inc, clean = Snapshot.open_current(tmp_path / "inc"), Snapshot.open_current(tmp_path / "clean")
    question = embedder.embed(["zoo panda bridge coffee"])[0]

    def texts(snap: Snapshot) -> list[str]:
        ids = [cid for cid, _ in snap.dense(question, 50)]
        return [snap.chunks(ids)[i].text for i in ids]

    assert texts(inc) == texts(clean)


def test_model_change_forces_full_rebuild_and_search_detects_mismatch(
    news_corpus: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    _build(news_corpus, data, FakeEmbedder())
    with pytest.raises(IndexMismatchError, match="built with fake-hash"):
        Retriever(data, FakeEmbedder(name="other-model")).search("bridge")
    other = FakeEmbedder(name="other-model", dimensions=32)
    report = _build(news_corpus, data, other)
    assert report.full_rebuild_reason and "fake-hash" in report.full_rebuild_reason
    assert report.added == 7 and Snapshot.open_current(data).manifest.dimensions == 32


def test_chunk_settings_change_forces_full_rebuild(news_corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _build(news_corpus, data, FakeEmbedder())
    report = build_index(
        news_corpus, data, FakeEmbedder(), ChunkSettings(max_tokens=30, overlap_tokens=5)
    )
    assert report.full_rebuild_reason and "chunk settings changed" in report.full_rebuild_reason


def test_a_second_builder_is_refused_with_a_clear_message(
    news_corpus: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    with build_lock(data), pytest.raises(IndexLockedError, match="another build is running"):
        _build(news_corpus, data, FakeEmbedder())


def test_missing_index_is_explained(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="footnote index"):
        Retriever(tmp_path / "data", FakeEmbedder()).search("anything")


def test_bad_article_is_reported_and_the_rest_indexed(news_corpus: Path, tmp_path: Path) -> None:
    (news_corpus / "broken.json").write_text("{not json")
    report = _build(news_corpus, tmp_path / "data", FakeEmbedder())
    assert report.articles_total == 7
    assert [e.path for e in report.errors] == ["broken.json"]


def test_old_generations_are_collected(news_corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    embedder = FakeEmbedder()
    for i in range(4):
        _article(news_corpus / f"n{i}.md", f"Note {i}", f"Short note number {i} about kites.")
        _build(news_corpus, data, embedder)
    generations = sorted(p.name for p in index_dir(data).glob("gen-*"))
    assert len(generations) == 2 and current_generation(index_dir(data)) == generations[-1]


def test_a_running_retriever_keeps_its_index_when_a_bad_one_is_published(
    news_corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    embedder = FakeEmbedder()
    _build(news_corpus, data, embedder)
    retriever = Retriever(data, embedder)
    good = retriever.search("bridge cost")
    for bad in ("garbage\n", "gen-does-not-exist\n"):
        (index_dir(data) / "CURRENT").write_text(bad)
        for _ in range(3):
            assert retriever.search("bridge cost") == good
    # Each bad state is logged once, not on every question.
    assert len([r for r in caplog.records if "unusable" in r.getMessage()]) == 2


def test_a_large_index_is_published_as_ivf_and_stays_incremental(
    news_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import faiss

    import index.ann

    monkeypatch.setattr(index.ann, "EXACT_MAX_CHUNKS", 5)
    data = tmp_path / "data"
    embedder = FakeEmbedder()
    _build(news_corpus, data, embedder)
    retriever = Retriever(data, embedder)
    generation = current_generation(index_dir(data))
    assert generation is not None
    vectors = faiss.read_index(str(index_dir(data) / generation / "vectors.faiss"))
    assert isinstance(vectors, faiss.IndexIVFFlat)
    assert retriever.search("Nandakumar chess championship")[0].article_id == "chess-final.md"
    (news_corpus / "chess-final.md").unlink()
    _article(news_corpus / "zoo.md", "Zoo welcomes panda", "The city zoo welcomed a giant panda.")
    report = _build(news_corpus, data, embedder)
    assert (report.added, report.removed) == (1, 1)
    assert retriever.search("giant panda zoo")[0].article_id == "zoo.md"
    assert all(p.article_id != "chess-final.md" for p in retriever.search("Nandakumar chess", 8))


def test_a_build_says_how_it_goes_and_warns_of_a_huge_article(
    news_corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import index.build

    # Far larger than a news article; the threshold is lowered so the test stays quick.
    monkeypatch.setattr(index.build, "LARGE_ARTICLE_CHARS", 20_000)
    huge = " ".join(f"Paragraph {i} of the minutes lists budget line {i * 3}." for i in range(1500))
    _article(news_corpus / "minutes.md", "Council minutes", huge)
    calls: list[tuple[str, int, int]] = []

    def progress(done: int, total: int, stage: str = "embedding") -> None:
        calls.append((stage, done, total))

    report = _build(news_corpus, tmp_path / "data", FakeEmbedder(), progress=progress)
    stages = [stage for stage, _, _ in calls]
    # Chunking is told first (its total: characters to cut), then embedding (passages).
    assert stages == sorted(stages) and {"chunking", "embedding"} <= set(stages)
    chunking = [(done, total) for stage, done, total in calls if stage == "chunking"]
    assert len(chunking) > 2 and chunking[-1][0] == chunking[-1][1] >= len(huge)
    embedded = [done for stage, done, _ in calls if stage == "embedding"]
    assert embedded[-1] == report.chunks_embedded > 256
    assert max(b - a for a, b in itertools.pairwise(embedded)) <= index.build.EMBED_BATCH <= 128
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "minutes.md" in warned[0] and "far larger than" in warned[0]
