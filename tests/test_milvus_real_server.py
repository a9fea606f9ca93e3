"""Footnote against a real Milvus server with token authentication: the `milvus` package's
Milvus standalone 2.3.5 ("embedded Milvus"), the one real server that installs from PyPI.

Too old for BM25, it is refused before anything is created in it; a wrong token is named as
such and never shown; once the server is stopped, its index is unavailable. The fakes of
test_backends_milvus.py stand for these answers; here the server gives them.

Slow (the server takes 5-10 s to start and unpacks 450 MB into its base directory, removed
afterwards). The package is in the `test` extra on Linux x86_64, the only platform it has
wheels for; elsewhere, or when the ports 2379 and 2380 are taken, the tests are skipped. By hand:
`pip install milvus==2.3.5`, then `pytest -m slow tests/test_milvus_real_server.py`.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import bot.service
from index.backends.milvus import MIN_SERVER
from tests.cli_runner import run_cli
from tests.fakes import FakeEmbedder
from tests.milvus_server import MilvusStandalone, PortInUse, milvus_env

pytestmark = pytest.mark.slow

WRONG_TOKEN = "root:n0t-the-passw0rd"
QUESTION = "Who won the chess championship?"

Footnote = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusStandalone]:
    """One server for the module; its 450 MB base directory is removed afterwards."""
    pytest.importorskip(
        "milvus", reason="needs the `milvus` package (Milvus standalone): pip install milvus==2.3.5"
    )
    base = tmp_path_factory.mktemp("milvus-standalone")
    server = MilvusStandalone(base)
    try:
        try:
            server.start()
        except PortInUse as exc:
            pytest.skip(str(exc))
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def milvus(standalone: MilvusStandalone) -> MilvusStandalone:
    """The module's server, started again if a test stopped it."""
    if not standalone.running:
        standalone.start()
    return standalone


@pytest.fixture
def footnote(
    tmp_path: Path,
    news_corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> Footnote:
    """footnote(uri, token, *args): the console script on Milvus; exit code, stdout, stderr as
    the process's file descriptors saw them (grpc's own C logs included)."""
    monkeypatch.setattr(bot.service, "make_embedder", lambda settings: FakeEmbedder())

    def run(uri: str, token: str, *args: str) -> tuple[int, str, str]:
        milvus_env(monkeypatch, tmp_path / "data", news_corpus, uri, token, timeout=3)
        return run_cli(list(args), monkeypatch, capfd)

    return run


def test_milvus_2_3_is_refused_and_nothing_is_created(
    milvus: MilvusStandalone, footnote: Footnote
) -> None:
    client = milvus.client()
    try:
        version = str(client.get_server_version())
        found = re.match(r"v?(\d+)\.(\d+)", version)
        assert found is not None and (int(found[1]), int(found[2])) < MIN_SERVER, version
        for args in (["index"], ["ask", QUESTION]):
            code, out, err = footnote(milvus.uri, MilvusStandalone.ROOT_TOKEN, *args)
            assert (code, err) == (
                7,
                f"Error: the Milvus server at {milvus.uri} is version {version}; Footnote needs "
                "Milvus 2.5 or later (BM25 full-text search)",
            ), (args, out)
        # Nothing left behind. (So too without the version check: the build would create its
        # two collections, fail at its first insert, 2.3 having no BM25 function, and drop them.)
        assert client.list_collections() == []
    finally:
        client.close()


def test_a_wrong_token_is_named_and_never_shown(
    milvus: MilvusStandalone, footnote: Footnote, caplog: pytest.LogCaptureFixture
) -> None:
    for args in (["index"], ["ask", QUESTION]):
        code, out, err = footnote(milvus.uri, WRONG_TOKEN, *args)
        assert (code, err) == (
            7,
            f"Error: the Milvus server at {milvus.uri} refused the token (authentication "
            "failed): check FOOTNOTE_MILVUS_TOKEN",
        ), (args, out)
        password = WRONG_TOKEN.split(":")[1]
        assert password not in out + err + caplog.text


def test_a_stopped_server_is_unavailable(milvus: MilvusStandalone, footnote: Footnote) -> None:
    milvus.stop()
    code, out, err = footnote(milvus.uri, WRONG_TOKEN, "index")
    assert code == 7, out
    assert err.startswith(f"Error: the Milvus index at {milvus.uri} is unavailable ("), err
    assert WRONG_TOKEN.split(":")[1] not in out + err
