"""Crashes, concurrent builders and damaged files never cost the published index."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from bot.config import Settings
from bot.service import Footnote
from index.build import BuildReport, build_index
from index.checksum import sha256_file
from index.chunk import ChunkSettings
from index.errors import IndexCorruptError, IndexLockedError
from index.search import Retriever
from index.store import CURRENT, META, VECTORS, Snapshot, current_generation, index_dir
from tests.cli_runner import run_cli
from tests.damage import garble_middle, garble_pages
from tests.fakes import FakeEmbedder

REPO = Path(__file__).resolve().parent.parent
CHUNKING = ChunkSettings(max_tokens=64, overlap_tokens=8)
TOWNS = [
    "Ardley", "Bexford", "Caldwick", "Dunmere", "Elsworth", "Farrowby", "Glenholt",
    "Harnsey", "Ivydale", "Jorvik", "Kestwell", "Lindmoor", "Marrowby", "Norcastle",
]  # fmt: skip
QUESTIONS = [
    "What did the Caldwick library committee decide?",
    "How many books does the Norcastle library hold?",
    "Which town opened a library with a rooftop garden?",
]

# A build in a child process: a slow fake embedder, tiny batches, progress on stdout.
CHILD = """
import sys, time
from pathlib import Path
import index.build
from index.checksum import sha256_file
from index.chunk import ChunkSettings
from tests.fakes import FakeEmbedder

class Slow(FakeEmbedder):
    def embed(self, texts, batch_size=64):
        time.sleep(0.15)
        return super().embed(texts, batch_size)

def progress(done, total, stage="embedding"):
    if stage == "embedding":
        print(done, total, flush=True)

index.build.EMBED_BATCH = 2
index.build.build_index(
    Path(sys.argv[1]), Path(sys.argv[2]), Slow(), ChunkSettings(max_tokens=64, overlap_tokens=8),
    progress=progress,
)
print("finished", flush=True)
"""


def write_articles(corpus: Path, towns: list[str]) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for n, town in enumerate(towns):
        books = 1000 + 137 * TOWNS.index(town)
        paragraphs = [
            f"The town of {town} opened a new public library on Saturday with {books} books.",
            f"The {town} library committee decided to open on Sundays and to lend tools. "
            f"Its chair, councillor number {n + 7}, said {town} had waited twenty years.",
            f"The building in {town} has a rooftop garden, a reading room for {n + 30} people "
            f"and a workshop where {town} residents repair bicycles and radios.",
            f"Funding came from the {town} council and {n + 2} local firms; the {town} library "
            "will host a book fair every spring.",
        ]
        body = "\n\n".join(paragraphs)
        (corpus / f"{town.lower()}-library.md").write_text(
            f'---\ntitle: "{town} opens a new public library"\nsource: "Invented Gazette"\n'
            f"published_at: 2024-0{1 + n % 9}-1{n % 10}\n"
            f'url: "https://gazette.example/{town.lower()}-library"\n---\n\n{body}\n',
            "utf-8",
        )


def dump(data_dir: Path) -> dict[str, object]:
    """Everything a build produced that answers depend on, generation name aside."""
    root = index_dir(data_dir)
    snapshot = Snapshot(root, current_generation(root) or "")
    try:
        with closing(sqlite3.connect(root / snapshot.generation / META)) as db:
            articles = db.execute("SELECT * FROM articles ORDER BY id").fetchall()
            chunks = db.execute("SELECT * FROM chunks ORDER BY id").fetchall()
        vectors = np.stack([snapshot.vector(row[0]) for row in chunks])
    finally:
        snapshot.close()
    retriever = Retriever(data_dir, FakeEmbedder())
    results = [[(p.chunk_id, p.score, p.text) for p in retriever.search(q)] for q in QUESTIONS]
    return {"articles": articles, "chunks": chunks, "vectors": vectors, "results": results}


def cached_vectors(data_dir: Path) -> int:
    with closing(sqlite3.connect(index_dir(data_dir) / "embed-cache.sqlite")) as db:
        return int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])


def build(corpus: Path, data: Path, embedder: FakeEmbedder | None = None) -> BuildReport:
    return build_index(corpus, data, embedder or FakeEmbedder(), CHUNKING)


def kill_build_midway(corpus: Path, data: Path, after_chunks: int) -> int:
    """Run a build in a child process and SIGKILL it once after_chunks are cached."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(corpus), str(data)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(60.0, child.kill)  # never hang the test run
    watchdog.start()
    try:
        assert child.stdout is not None
        for line in child.stdout:
            done, total = (int(x) for x in line.split())
            if done >= after_chunks:
                assert done < total, "the build finished before it could be killed"
                child.send_signal(signal.SIGKILL)
                break
        assert child.wait(30) == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
        return done
    finally:
        watchdog.cancel()
        child.kill()
        child.wait(30)


def test_a_killed_build_loses_nothing_and_the_next_one_embeds_only_what_is_missing(
    tmp_path: Path,
) -> None:
    corpus, killed, clean = tmp_path / "corpus", tmp_path / "killed", tmp_path / "clean"
    write_articles(corpus, TOWNS[:4])
    build(corpus, killed)
    build(corpus, clean)
    published = current_generation(index_dir(killed))
    before = dump(killed)
    write_articles(corpus, TOWNS)

    kill_build_midway(corpus, killed, after_chunks=6)

    # The published generation is untouched and still answers.
    assert current_generation(index_dir(killed)) == published
    assert _same(dump(killed), before)
    cached = cached_vectors(killed)
    assert cached >= 6

    embedder = FakeEmbedder()
    resumed = build(corpus, killed, embedder)
    reference = build(corpus, clean)

    assert resumed.published and resumed.added == len(TOWNS) - 4
    assert resumed.chunks_reused == cached
    assert resumed.chunks_embedded == reference.chunks_embedded - cached
    # The new articles' sentences are embedded after their chunks, and stored with the index.
    assert len(embedder.embedded) == resumed.chunks_embedded + resumed.sentences_embedded
    assert resumed.sentences_embedded == reference.sentences_embedded > 0
    assert not list(index_dir(killed).glob(".tmp-gen-*"))
    assert not (index_dir(killed) / "embed-cache.sqlite").exists()
    assert _same(dump(killed), dump(clean))


def _same(a: dict[str, object], b: dict[str, object]) -> bool:
    vectors_a, vectors_b = a["vectors"], b["vectors"]
    assert isinstance(vectors_a, np.ndarray) and isinstance(vectors_b, np.ndarray)
    assert np.array_equal(vectors_a, vectors_b)
    for key in ("articles", "chunks", "results"):
        assert a[key] == b[key], key
    return True


class GatedEmbedder(FakeEmbedder):
    """Blocks in embed until released, so a build can be held mid-way."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.entered.set()
        assert self.release.wait(30), "never released"
        return super().embed(texts, batch_size)


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI builds its service with the fake embedder instead of the real model."""
    monkeypatch.setattr("bot.service.make_embedder", lambda settings: FakeEmbedder())


@pytest.fixture
def cli_dirs(settings: Settings) -> list[str]:
    return ["--data-dir", str(settings.data_dir), "--corpus", str(settings.corpus_dir)]


def test_two_builders_at_once_one_is_refused_and_the_index_stays_intact(
    settings: Settings,
    fake_model: None,
    cli_dirs: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus, data = settings.corpus_dir, settings.data_dir
    first = build_index(corpus, data, FakeEmbedder(), settings.chunking)
    write_articles(corpus, TOWNS[:2])
    gated = GatedEmbedder()
    outcome: list[BuildReport | BaseException] = []

    def slow_build() -> None:
        try:
            outcome.append(build_index(corpus, data, gated, settings.chunking))
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    holder = threading.Thread(target=slow_build, daemon=True)
    holder.start()
    try:
        assert gated.entered.wait(20)
        with pytest.raises(IndexLockedError, match=r"another build is running on .*build\.lock"):
            build_index(corpus, data, FakeEmbedder(), settings.chunking)
        code, _, err = run_cli(["index", *cli_dirs], monkeypatch, capsys)
        assert code == 5
        assert "Error: another build is running" in err and "wait for it to finish" in err
        # Questions are still answered from the published index meanwhile.
        service = Footnote(settings, embedder=FakeEmbedder())
        assert service.status().articles == first.articles_total
        assert service.ask("Who won the national chess championship?").found
    finally:
        gated.release.set()
        holder.join(30)

    [report] = outcome
    assert isinstance(report, BuildReport) and report.added == 2
    snapshot = Snapshot.open_current(data)  # checks chunks == vectors == manifest
    assert snapshot.manifest.articles == first.articles_total + 2
    snapshot.close()


def _truncate(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size // 2)


def _generation(data: Path) -> Path:
    root = index_dir(data)
    return root / (current_generation(root) or "")


CORRUPTIONS = {
    "truncated vectors": (lambda d: _truncate(_generation(d) / VECTORS), "vectors.faiss"),
    "truncated database": (lambda d: _truncate(_generation(d) / META), "meta.sqlite"),
    "emptied database": (lambda d: (_generation(d) / META).write_bytes(b""), "meta.sqlite"),
    "garbage in CURRENT": (
        lambda d: (index_dir(d) / CURRENT).write_bytes(b"\x00\x17garbage {"),
        "names no generation",
    ),
    "garbled database pages": (lambda d: garble_pages(_generation(d) / META), "meta.sqlite"),
    "garbled vectors": (lambda d: garble_middle(_generation(d) / VECTORS), "vectors.faiss"),
    "CURRENT not UTF-8": (
        lambda d: (index_dir(d) / CURRENT).write_bytes(b"\x00\xff"),
        "CURRENT",
    ),
    "missing manifest": (lambda d: (_generation(d) / "manifest.json").unlink(), "is missing"),
    "CURRENT names a deleted generation": (
        lambda d: (index_dir(d) / CURRENT).write_text("gen-20000101T000000000000\n"),
        "is missing",
    ),
}


@pytest.fixture(params=sorted(CORRUPTIONS))
def corruption(request: pytest.FixtureRequest) -> Iterator[tuple[str, object, str]]:
    damage, message = CORRUPTIONS[request.param]
    yield request.param, damage, message


def test_a_damaged_index_is_reported_clearly_and_footnote_index_rebuilds_it(
    settings: Settings,
    corruption: tuple[str, object, str],
    fake_model: None,
    cli_dirs: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, damage, message = corruption
    built = build_index(settings.corpus_dir, settings.data_dir, FakeEmbedder(), settings.chunking)
    assert callable(damage)
    damage(settings.data_dir)

    with pytest.raises(IndexCorruptError, match=message):
        Retriever(settings.data_dir, FakeEmbedder()).snapshot()
    ask = ["ask", "--data-dir", str(settings.data_dir)]
    for command in ([*ask, "Who won the chess final?"], ["sources", *cli_dirs[:2]]):
        code, out, err = run_cli(command, monkeypatch, capsys)
        assert code == 4 and err.startswith("Error: ") and message in err, (command, err)
        assert not out and "Traceback" not in err and "Warning" not in err
    code, out, err = run_cli(["status", *cli_dirs[:2]], monkeypatch, capsys)
    assert code == 4 and err.startswith("Error: the index is damaged: ") and message in err
    assert "`footnote index` rebuilds it" in err and not out

    code, out, err = run_cli(["index", *cli_dirs], monkeypatch, capsys)
    assert code == 0, err
    assert "Full rebuild: the published index is damaged" in err
    assert f"index: {built.articles_total} articles, {built.chunks_total} chunks" in out

    code, out, err = run_cli([*ask, "Who won the chess championship?"], monkeypatch, capsys)
    assert code == 0, err
    assert "Nandakumar" in out


def test_index_rebuild_recovers_from_a_current_that_is_not_utf8(
    settings: Settings,
    fake_model: None,
    cli_dirs: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    built = build_index(settings.corpus_dir, settings.data_dir, FakeEmbedder(), settings.chunking)
    (index_dir(settings.data_dir) / CURRENT).write_bytes(b"\x00\xff")

    code, out, err = run_cli(["index", "--rebuild", *cli_dirs], monkeypatch, capsys)
    assert code == 0, err
    assert f"index: {built.articles_total} articles, {built.chunks_total} chunks" in out


class FailingEmbedder(FakeEmbedder):
    """Embeds one batch, then fails as a killed build would stop."""

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if self.embedded:
            raise RuntimeError("killed")
        return super().embed(texts, batch_size)


def _interrupted_build(corpus: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """A build of corpus that stops after its first batch, leaving the vector cache behind."""
    write_articles(corpus, TOWNS)
    monkeypatch.setattr("index.build.EMBED_BATCH", 8)
    with pytest.raises(RuntimeError, match="killed"):
        build(corpus, data, FailingEmbedder())
    monkeypatch.undo()
    return cached_vectors(data)


def test_a_vector_cache_entry_that_fails_its_check_is_embedded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, data, clean = tmp_path / "corpus", tmp_path / "data", tmp_path / "clean"
    cached = _interrupted_build(corpus, data, monkeypatch)
    assert cached == 8
    # Damage SQLite cannot see: the bytes of one vector changed, its length kept.
    with closing(sqlite3.connect(index_dir(data) / "embed-cache.sqlite")) as db:
        [(table,)] = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        key, vec = db.execute(f"SELECT key, vec FROM {table} LIMIT 1").fetchone()
        garbled = bytes(b ^ 0x5A for b in vec)
        db.execute(f"UPDATE {table} SET vec = ? WHERE key = ?", (garbled, key))
        db.commit()

    embedder = FakeEmbedder()
    resumed = build(corpus, data, embedder)
    build(corpus, clean)

    assert resumed.chunks_reused == cached - 1
    assert _same(dump(data), dump(clean))


def test_a_damaged_vector_cache_is_not_used_and_the_build_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, data, clean = tmp_path / "corpus", tmp_path / "data", tmp_path / "clean"
    assert _interrupted_build(corpus, data, monkeypatch) == 8
    garble_pages(index_dir(data) / "embed-cache.sqlite")

    resumed = build(corpus, data, FakeEmbedder())
    build(corpus, clean)

    assert resumed.published
    assert _same(dump(data), dump(clean))


def test_an_index_made_before_checksums_is_checked_by_sqlite(settings: Settings) -> None:
    build_index(settings.corpus_dir, settings.data_dir, FakeEmbedder(), settings.chunking)
    manifest_path = _generation(settings.data_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    del manifest["checksums"]
    manifest_path.write_text(json.dumps(manifest), "utf-8")
    Snapshot.open_current(settings.data_dir).close()  # still opens

    garble_pages(_generation(settings.data_dir) / META)
    with pytest.raises(IndexCorruptError, match=r"meta\.sqlite"):
        Snapshot.open_current(settings.data_dir)


def test_damage_found_while_a_generation_is_open_is_reported_as_damage(
    settings: Settings,
) -> None:
    build_index(settings.corpus_dir, settings.data_dir, FakeEmbedder(), settings.chunking)
    snapshot = Snapshot.open_current(settings.data_dir)
    try:
        garble_pages(_generation(settings.data_dir) / META)  # a disk failing under a running bot
        with pytest.raises(IndexCorruptError, match=r"meta\.sqlite"):
            snapshot.articles()
    finally:
        snapshot.close()


def test_a_files_hash_check_is_remembered_until_it_changes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(settings.corpus_dir, settings.data_dir, FakeEmbedder(), settings.chunking)
    hashed: list[str] = []

    def counting_sha256(path: Path) -> str:
        hashed.append(path.name)
        return sha256_file(path)

    monkeypatch.setattr("index.store.sha256_file", counting_sha256)
    monkeypatch.setattr("index.store.SETTLED_NS", 0)  # the files are seconds old
    for _ in range(2):
        Snapshot.open_current(settings.data_dir).close()
    assert sorted(hashed) == [META, VECTORS]  # hashed on the first open only

    time.sleep(0.05)  # past the filesystem's timestamp granularity
    garble_middle(_generation(settings.data_dir) / VECTORS)
    with pytest.raises(IndexCorruptError, match=r"vectors\.faiss does not match its sha256"):
        Snapshot.open_current(settings.data_dir)
