"""Shared fixtures: a tiny news corpus, a fake embedder, settings in tmp_path."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.service import Footnote
from index.embed import SentenceTransformerEmbedder
from tests.fakes import FakeEmbedder

NEWS = Path(__file__).parent / "data" / "news"
# The shipped sample corpus, as shipped: users add their own articles to corpus/.
SAMPLE = Path(__file__).parent / "data" / "sample"


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read a developer's .env or FOOTNOTE_* / DISCORD_* variables."""
    import os

    for key in list(os.environ):
        if key.startswith(("FOOTNOTE_", "DISCORD_")):
            monkeypatch.delenv(key)
    monkeypatch.setitem(Settings.model_config, "env_file", None)


@pytest.fixture
def news_corpus(tmp_path: Path) -> Path:
    """A writable copy of the tiny invented news corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(NEWS, target)
    return target


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path: Path, news_corpus: Path) -> Settings:
    # The fake embedder's cosines run lower than a real model's: thresholds to match.
    return Settings(
        data_dir=tmp_path / "data", corpus_dir=news_corpus, min_similarity=0.2, min_confidence=0.6
    )


@pytest.fixture
def service(settings: Settings, fake_embedder: FakeEmbedder) -> Footnote:
    """A Footnote over the news corpus, indexed with the fake embedder."""
    footnote = Footnote(settings, embedder=fake_embedder)
    footnote.index()
    return footnote


@pytest.fixture(scope="session")
def real_embedder(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SentenceTransformerEmbedder]:
    """The real bundled all-MiniLM-L6-v2, loaded once per test session."""
    yield SentenceTransformerEmbedder(cache_dir=tmp_path_factory.mktemp("models"))
