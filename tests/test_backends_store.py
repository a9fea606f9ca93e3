"""The index backends pass the same build and retrieval tests.

Each test runs on the embedded default (files), on Milvus Lite in a local .db file, and on
Milvus Lite's gRPC server in a child process (pymilvus over the network, as with a cluster).
The retrieval tests of test_search.py run here again, once per backend.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings, load_settings
from bot.service import Footnote, make_backend
from index.backends import Backend, Reader, Where
from index.backends.milvus import MilvusBackend
from index.build import BuildReport, build_index
from index.chunk import ChunkSettings
from index.errors import ConfigError, IndexUnavailableError
from index.search import Retriever, SearchSettings
from tests.fakes import FakeEmbedder
from tests.milvus_server import MilvusServer, free_port, milvus_env
from tests.test_search import (  # noqa: F401 - collected here again, once per backend
    test_hybrid_retrieval_ranks_the_right_article_first,
    test_k_limits_results_and_scores_descend,
    test_keyword_side_finds_rare_names,
    test_passages_are_exact_spans_with_metadata,
)

REPO = Path(__file__).resolve().parent.parent
CHUNKING = ChunkSettings(max_tokens=60, overlap_tokens=10)
BACKENDS = ["files", "milvus-lite", "milvus-server"]


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusServer]:
    server = MilvusServer(tmp_path_factory.mktemp("milvus-server")).start()
    yield server
    server.stop()


def backend_settings(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict:
    if kind == "files":
        return {}
    if kind == "milvus-lite":
        return {"backend": "milvus", "milvus_uri": str(tmp_path / "milvus" / "index.db")}
    server: MilvusServer = request.getfixturevalue("milvus_server")
    # One server for the module: each test its own alias (and so its own collections).
    collection = f"t{uuid.uuid4().hex[:12]}"
    return {"backend": "milvus", "milvus_uri": server.uri, "milvus_collection": collection}


@pytest.fixture(params=BACKENDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(
    kind: str, tmp_path: Path, news_corpus: Path, request: pytest.FixtureRequest
) -> Settings:
    """conftest's settings, on each backend in turn (test_search's tests use them too)."""
    return Settings(
        data_dir=tmp_path / "data",
        corpus_dir=news_corpus,
        min_similarity=0.2,
        min_confidence=0.6,
        **backend_settings(kind, tmp_path, request),
    )


@pytest.fixture
def backend(settings: Settings) -> Backend:
    return make_backend(settings)


def build(
    settings: Settings, backend: Backend, embedder: FakeEmbedder, **kw: object
) -> BuildReport:
    return build_index(
        settings.corpus_dir,
        settings.data_dir,
        embedder,
        CHUNKING,
        backend=backend,
        **kw,  # type: ignore[arg-type]
    )


def write(path: Path, title: str, text: str) -> None:
    path.write_text(f"---\ntitle: {title}\nsource: Test Wire\n---\n{text}\n")


def generations(backend: Backend) -> set[str]:
    """The generations a backend holds (published or not)."""
    if backend.name == "files":
        return {p.name for p in (Path(backend.describe())).glob("gen-*")}
    return set(backend._generations())  # type: ignore[attr-defined]


def test_incremental_add_change_delete(settings: Settings, backend: Backend) -> None:
    embedder = FakeEmbedder()
    first = build(settings, backend, embedder)
    assert (first.added, first.chunks_total) == (7, first.chunks_embedded) and first.published
    corpus = settings.corpus_dir

    embedder.embedded.clear()
    write(corpus / "new.md", "Zoo welcomes panda", "The city zoo welcomed a giant panda.")
    report = build(settings, backend, embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 0, 0, 7)
    assert embedder.embedded and all("panda" in t for t in embedder.embedded)

    embedder.embedded.clear()
    write(corpus / "new.md", "Zoo welcomes panda", "The city zoo welcomed two red pandas.")
    report = build(settings, backend, embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 7)
    assert embedder.embedded and all("red pandas" in t for t in embedder.embedded)

    embedder.embedded.clear()
    (corpus / "chess-final.md").unlink()
    replaced = backend.current()
    report = build(settings, backend, embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 1, 7)
    assert embedder.embedded == []

    reader = backend.open(backend.current() or "")
    assert reader.generation == report.generation != first.generation
    titles = {a.title for a in reader.articles()}
    assert "Zoo welcomes panda" in titles and not any("chess" in t for t in titles)
    assert reader.article("new.md").text.strip() == "The city zoo welcomed two red pandas."  # type: ignore[union-attr]
    assert reader.article("chess-final.md") is None
    # The deleted article's chunks are gone from both the vectors and the keyword index.
    assert reader.keyword("Nandakumar chess", 5) == []
    dense_ids = [cid for cid, _ in reader.dense(embedder.embed(["chess final"])[0], 50)]
    assert all(r.article_id != "chess-final.md" for r in reader.chunks(dense_ids).values())
    assert len(dense_ids) == reader.manifest.chunks == sum(a.chunks for a in reader.articles())
    # The new generation and the one it replaced are kept (readers may be on it), no other.
    assert generations(backend) == {report.generation, replaced}


def test_unchanged_corpus_publishes_nothing_new(settings: Settings, backend: Backend) -> None:
    embedder = FakeEmbedder()
    first = build(settings, backend, embedder)
    embedder.embedded.clear()
    again = build(settings, backend, embedder)
    assert not again.published and again.generation == first.generation == backend.current()
    assert again.unchanged == 7 and again.chunks_total == first.chunks_total
    assert embedder.embedded == []


def test_incremental_index_equals_a_clean_build(
    settings: Settings, backend: Backend, tmp_path: Path
) -> None:
    embedder = FakeEmbedder()
    build(settings, backend, embedder)
    write(settings.corpus_dir / "new.md", "Zoo welcomes panda", "The city zoo welcomed a panda.")
    (settings.corpus_dir / "wire.jsonl").unlink()
    build(settings, backend, embedder)
    clean_settings = settings.model_copy(
        update={
            "data_dir": tmp_path / "clean",
            "milvus_collection": settings.milvus_collection + "_c",
        }
    )
    if settings.milvus_uri.endswith(".db"):
        clean_settings = clean_settings.model_copy(update={"milvus_uri": str(tmp_path / "c.db")})
    clean_backend = make_backend(clean_settings)
    build(clean_settings, clean_backend, embedder)
    question = "zoo panda bridge coffee"
    vector = embedder.embed([question])[0]

    def ranked(b: Backend) -> tuple[list[str], list[str]]:
        reader = b.open(b.current() or "")
        dense = [cid for cid, _ in reader.dense(vector, 50)]
        keyword = [cid for cid, _ in reader.keyword(question, 50)]
        records = reader.chunks(dense + keyword)
        return [records[i].text for i in dense], [records[i].text for i in keyword]

    assert ranked(backend) == ranked(clean_backend)


class Failing(FakeEmbedder):
    """Fails on its second batch, as a build killed while embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def embed(self, texts: list[str], batch_size: int = 64):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("embedding failed")
        return super().embed(texts, batch_size)


def test_a_failed_build_leaves_the_published_index_and_the_next_resumes(
    settings: Settings, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.build

    first = build(settings, backend, FakeEmbedder())
    service = Footnote(settings, embedder=FakeEmbedder())
    before = [p.chunk_id for p in service.search("Who won the chess championship?")]
    for n in range(6):
        write(settings.corpus_dir / f"zoo{n}.md", f"Zoo news {n}", f"The zoo got {n} pandas.")
    monkeypatch.setattr(index.build, "EMBED_BATCH", 2)
    with pytest.raises(RuntimeError, match="embedding failed"):
        build(settings, backend, Failing())
    assert backend.current() == first.generation
    assert generations(backend) == {first.generation}  # the staged generation was dropped
    assert [p.chunk_id for p in service.search("Who won the chess championship?")] == before

    resumed = build(settings, backend, FakeEmbedder())
    assert resumed.published and resumed.added == 6 and resumed.chunks_reused == 2
    assert service.search("How many pandas did the zoo get?")[0].title.startswith("Zoo news")


# A build in a child process, killed while it embeds (a slow fake embedder, tiny batches).
CHILD = """
import sys, time
import index.build
from bot.config import load_settings
from bot.service import make_backend
from index.chunk import ChunkSettings
from tests.fakes import FakeEmbedder

class Slow(FakeEmbedder):
    def embed(self, texts, batch_size=64):
        time.sleep(0.2)
        return super().embed(texts, batch_size)

def progress(done, total, stage="embedding"):
    if stage == "embedding":
        print(done, total, flush=True)

settings = load_settings()
index.build.EMBED_BATCH = 2
index.build.build_index(
    settings.corpus_dir, settings.data_dir, Slow(), ChunkSettings(max_tokens=60, overlap_tokens=10),
    progress=progress, backend=make_backend(settings),
)
print("finished", flush=True)
"""


def test_a_build_killed_midway(settings: Settings, backend: Backend) -> None:
    if settings.milvus_uri.endswith(".db"):
        pytest.skip("Milvus Lite's .db is one process's at a time; the server case covers Milvus")
    first = build(settings, backend, FakeEmbedder())
    for n in range(10):
        write(settings.corpus_dir / f"zoo{n}.md", f"Zoo news {n}", f"The zoo got {n} pandas.")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTNOTE_")}
    env.update(
        FOOTNOTE_DATA_DIR=str(settings.data_dir),
        FOOTNOTE_CORPUS_DIR=str(settings.corpus_dir),
        FOOTNOTE_BACKEND=settings.backend,
        FOOTNOTE_MILVUS_URI=settings.milvus_uri,
        FOOTNOTE_MILVUS_COLLECTION=settings.milvus_collection,
        PYTHONPATH=str(REPO),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdout=subprocess.PIPE, env=env, cwd=settings.data_dir.parent
    )
    assert child.stdout is not None
    for line in child.stdout:
        done, _total = map(int, line.split())
        if done >= 4:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    time.sleep(0.2)
    assert backend.current() == first.generation
    service = Footnote(settings, embedder=FakeEmbedder())
    assert service.search("Who won the chess championship?")[0].article_id == "chess-final.md"

    resumed = build(settings, backend, FakeEmbedder())
    assert resumed.published and resumed.added == 10 and resumed.chunks_reused >= 4
    assert generations(backend) == {first.generation, resumed.generation}
    assert service.search("How many pandas did the zoo get?")[0].title.startswith("Zoo news")


def test_milvus_matches_the_default_backend(tmp_path: Path, news_corpus: Path) -> None:
    """Same vectors, same folded words: the same dense lists, document frequencies, answers."""
    embedder = FakeEmbedder()
    files = Settings(data_dir=tmp_path / "files", corpus_dir=news_corpus)
    milvus = Settings(
        data_dir=tmp_path / "milvus",
        corpus_dir=news_corpus,
        backend="milvus",
        milvus_uri=str(tmp_path / "m" / "index.db"),
    )
    services = [Footnote(s, embedder=embedder) for s in (files, milvus)]
    for service in services:
        service.index()
    readers = [s.retriever.snapshot() for s in services]
    vector = embedder.embed(["harbor bridge cost council"])[0]
    a, b = (r.dense(vector, 100) for r in readers)  # every chunk, best first (ties aside)
    assert len(a) == readers[0].manifest.chunks and dict(a) == pytest.approx(dict(b), abs=1e-5)
    assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-5)
    for word in ("chess", "championships", "bridge", "coffee", "the", "Nandakumar", "zzz"):
        assert readers[0].document_frequency(word) == readers[1].document_frequency(word), word
    assert [a.id for a in readers[0].articles()] == [a.id for a in readers[1].articles()]
    for question in ("Why are coffee prices rising?", "Who won the chess championship?"):
        first, second = (s.ask(question) for s in services)
        assert first.text == second.text


def test_an_unreachable_milvus_is_a_clear_error_and_recovers(
    tmp_path: Path, news_corpus: Path
) -> None:
    port = free_port()
    token = "root:s3cret-t0ken"
    settings = Settings(
        data_dir=tmp_path / "data",
        corpus_dir=news_corpus,
        backend="milvus",
        milvus_uri=f"http://127.0.0.1:{port}",
        milvus_token=token,
        milvus_timeout=1.0,
        min_similarity=0.2,
        min_confidence=0.6,
    )
    service = Footnote(settings, embedder=FakeEmbedder())
    with pytest.raises(IndexUnavailableError) as failed:
        service.ask("Who won the chess championship?")
    assert f"http://127.0.0.1:{port}" in str(failed.value) and "s3cret" not in str(failed.value)
    with pytest.raises(IndexUnavailableError):
        service.index()

    server = MilvusServer(tmp_path / "server", port).start()
    try:
        service.index()
        assert "Nandakumar" in service.ask("Who won the chess championship?").text
        server.stop()
        with pytest.raises(IndexUnavailableError, match=f"127.0.0.1:{port}"):
            service.ask("Who won the chess championship?")
        server.start()  # the same data: the index is back, and so are the answers
        assert "Nandakumar" in service.ask("Who won the chess championship?").text
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"backend": "milvus"}, "FOOTNOTE_BACKEND=milvus needs FOOTNOTE_MILVUS_URI"),
        ({"milvus_uri": "index"}, "FOOTNOTE_MILVUS_URI: .*ending in .db"),
        ({"backend": "files", "milvus_timeout": 0}, "FOOTNOTE_MILVUS_TIMEOUT"),
    ],
)
def test_milvus_settings_are_checked(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(**overrides)


def test_a_bad_collection_name_is_a_config_error(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, backend="milvus", milvus_uri="x.db", milvus_collection="foot-note"
    )
    with pytest.raises(ConfigError, match="FOOTNOTE_MILVUS_COLLECTION"):
        make_backend(settings)


def test_the_default_backend_needs_no_milvus(tmp_path: Path, news_corpus: Path) -> None:
    service = Footnote(Settings(data_dir=tmp_path / "d", corpus_dir=news_corpus), FakeEmbedder())
    assert service.backend.name == "files"
    service.index()
    assert isinstance(service.retriever, Retriever)
    assert service.retriever.backend is service.backend


HERALD = Where(sources=frozenset({"Harbor City Herald"}))


def _built_reader(settings: Settings, backend: Backend) -> tuple[Reader, np.ndarray]:
    """backend built over settings' corpus: its current snapshot, and a question's vector."""
    embedder = FakeEmbedder()
    build(settings, backend, embedder)
    reader = backend.open(backend.current() or "")
    return reader, embedder.embed(["council city schools week"])[0]


def test_filters_by_outlet_and_date(settings: Settings, backend: Backend) -> None:
    reader, vector = _built_reader(settings, backend)
    dense = reader.dense(vector, 50, HERALD)
    keyword = reader.keyword("council city week bridge", 50, HERALD)
    everything = [cid for cid, _ in reader.dense(vector, 50)]
    expected = {c for c, r in reader.chunks(everything).items() if r.source == "Harbor City Herald"}
    assert {c for c, _ in dense} == expected and len(expected) >= 2
    assert keyword and {c for c, _ in keyword} <= expected
    # The filtered lists keep the unfiltered order and scores.
    assert dense == [(c, s) for c, s in reader.dense(vector, 50) if c in expected]

    day = Where(dates=frozenset({"2024-06-05"}))
    (only,) = reader.dense(vector, 50, day)
    assert reader.chunks([only[0]])[only[0]].title.startswith("City council approves")
    both = Where(sources=frozenset({"Valley Gazette"}), dates=frozenset({"2024-06-05"}))
    assert reader.dense(vector, 50, both) == [] and reader.keyword("council", 50, both) == []


def test_a_large_filter_is_searched_through_faiss_with_the_same_result(
    tmp_path: Path, news_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above FILTER_EXACT_MAX chunks a filtered dense search goes through faiss's id selector
    instead of reconstructing every vector of the filter: same chunks, same scores."""
    import index.store

    settings = Settings(data_dir=tmp_path / "data", corpus_dir=news_corpus)
    reader, vector = _built_reader(settings, make_backend(settings))
    exact = reader.dense(vector, 50, HERALD)
    monkeypatch.setattr(index.store, "FILTER_EXACT_MAX", 0)
    within = reader.dense(vector, 50, HERALD)
    assert len(exact) >= 2
    assert [c for c, _ in within] == [c for c, _ in exact]
    assert [round(s, 5) for _, s in within] == [round(s, 5) for _, s in exact]


def test_named_outlets_and_days_are_searched_on_their_own(
    settings: Settings, backend: Backend
) -> None:
    """The outlet or day a question names is searched by the backend's filter, so its chunks
    are candidates even when the whole index's best matches are all elsewhere (at scale, the
    top 100 of 150M chunks may hold none of one outlet's)."""
    embedder = FakeEmbedder()
    build(settings, backend, embedder)
    # One candidate from each side (and one passage): the whole index's best is the chess article.
    narrow = SearchSettings(dense_candidates=1, keyword_candidates=1)
    question = "Did the Valley Gazette report the chess championship final of Priya Nandakumar?"
    on = Retriever(settings.data_dir, embedder, narrow, backend=backend).search(question, 1)
    off = Retriever(
        settings.data_dir, embedder, replace(narrow, named_searches=False), backend=backend
    ).search(question, 1)
    assert on[0].source == "Valley Gazette"
    assert "Valley Gazette" not in {p.source for p in off}

    # A day is a hint (a small boost), not a filter: the day's chunks become candidates, and
    # with the dense side alone the boost puts them first.
    day = "What was reported on 5 June 2024 about the chess championship final?"
    dense_only = replace(narrow, keyword_weight=0.0)
    for named, expected in ((True, True), (False, False)):
        retriever = Retriever(
            settings.data_dir, embedder, replace(dense_only, named_searches=named), backend=backend
        )
        (passage,) = retriever.search(day, 1)
        assert passage.title.startswith("City council approves") is expected


def test_the_cli_names_an_unreachable_milvus_in_one_line(
    tmp_path: Path,
    news_corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import bot.service
    from tests.cli_runner import run_cli

    monkeypatch.setattr(bot.service, "make_embedder", lambda settings: FakeEmbedder())
    uri = f"http://127.0.0.1:{free_port()}"
    milvus_env(monkeypatch, tmp_path / "data", news_corpus, uri, "admin:hunter2", timeout=1)
    for args in (["ask", "Who won the chess championship?"], ["index"], ["status"]):
        code, out, err = run_cli(args, monkeypatch, capsys)
        assert code == 7, (args, out, err)
        assert err.startswith(f"Error: the Milvus index at {uri} is unavailable"), err
        assert "hunter2" not in err + out and "Traceback" not in err


def test_a_milvus_lite_file_held_by_another_process_is_explained(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "index.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pymilvus import MilvusClient\n"
            f"MilvusClient({str(path)!r}).list_collections()\nprint('held', flush=True)\n"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        backend = MilvusBackend(str(path), data_dir=tmp_path / "data", timeout=2)
        with pytest.raises(IndexUnavailableError, match="one process's at a time"):
            backend.current()
        assert "Traceback" not in capfd.readouterr().err
    finally:
        holder.kill()
        holder.wait(10)


def test_milvus_publishes_hnsw_above_the_exact_limit(
    tmp_path: Path, news_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EXACT_MAX_CHUNKS the vectors get an HNSW index (searched with ef >= n); on this
    small corpus it finds the same neighbours as exact search."""
    import index.backends.milvus as milvus_module

    settings = Settings(
        data_dir=tmp_path / "data",
        corpus_dir=news_corpus,
        backend="milvus",
        milvus_uri=str(tmp_path / "m" / "index.db"),
    )
    backend = make_backend(settings)
    embedder = FakeEmbedder()
    build(settings, backend, embedder)
    exact = backend.open(backend.current() or "")
    vector = embedder.embed(["harbor bridge cost"])[0]
    expected = exact.dense(vector, 5)

    monkeypatch.setattr(milvus_module, "EXACT_MAX_CHUNKS", 2)
    report = build(settings, backend, embedder, rebuild=True)
    hnsw = backend.open(backend.current() or "")
    assert hnsw.generation == report.generation and not hnsw._exact  # type: ignore[attr-defined]
    described = backend.connection.call(  # type: ignore[attr-defined]
        "describing",
        lambda c: c.describe_index(hnsw._chunks, "vector"),  # type: ignore[attr-defined]
    )
    assert described["index_type"] == "HNSW"
    by_article = backend.connection.call(  # type: ignore[attr-defined]
        "describing",
        lambda c: c.describe_index(hnsw._chunks, "article_id"),  # type: ignore[attr-defined]
    )
    assert by_article["index_type"] == "INVERTED"  # each question looks up an article's lead
    got = hnsw.dense(vector, 5)
    assert [c for c, _ in got] == [c for c, _ in expected] or dict(got) == pytest.approx(
        dict(expected), abs=1e-5
    )


def test_the_lead_of_an_article_is_its_first_chunk(settings: Settings, backend: Backend) -> None:
    reader, _ = _built_reader(settings, backend)
    longest = max(reader.articles(), key=lambda a: a.chunks)
    article = reader.article(longest.id)
    lead = reader.lead(longest.id)
    assert article is not None and article.chunks >= 2 and lead is not None
    assert (lead.article_id, lead.ordinal, lead.start) == (article.id, 0, 0)
    assert article.text[lead.start : lead.end] == lead.text
    assert reader.lead("no-such-article") is None
