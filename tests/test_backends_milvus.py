"""The Milvus backend's handshake, against a fake pymilvus client: a server too old for BM25
and a refused token are each named for what they are, before anything is created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pymilvus
import pytest
from pymilvus.exceptions import MilvusException

import bot.service
from index.backends.milvus import MilvusBackend
from index.errors import IndexRefusedError, IndexUnavailableError
from tests.cli_runner import run_cli
from tests.fakes import FakeEmbedder
from tests.milvus_server import milvus_env

URI = "http://127.0.0.1:19530"
TOKEN = "root:s3cret-t0ken"


class Unauthenticated(grpc.RpcError):
    """What grpc raises when Milvus rejects the credentials."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAUTHENTICATED

    def details(self) -> str:
        return "auth check failure, please check username and password are correct"


def refused_connection() -> MilvusException:
    """pymilvus's error for a refused token: the cause is only in its __context__."""
    try:
        raise Unauthenticated()
    except Unauthenticated:
        try:
            raise MilvusException(
                message="Fail connecting to server on 127.0.0.1:19530, illegal connection "
                "params or server unavailable"
            )
        except MilvusException as exc:
            return exc


class FakeServer:
    """What the fake clients talk to: a version, or a refusal at connection."""

    def __init__(self, version: str = "2.5.4", refuse: bool = False) -> None:
        self.version = version
        self.refuse = refuse
        self.version_asked = 0
        self.created: list[str] = []

    def client_class(self) -> type[FakeClient]:
        """A stand-in for pymilvus.MilvusClient whose clients talk to this server."""
        server = self

        class Client(FakeClient):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                if server.refuse:
                    raise refused_connection()
                self.server = server

        return Client


class FakeClient:
    server: FakeServer
    create_schema = staticmethod(pymilvus.MilvusClient.create_schema)

    def get_server_version(self, timeout: float | None = None, **kwargs: Any) -> str:
        self.server.version_asked += 1
        return self.server.version

    def describe_alias(self, alias: str, **kwargs: Any) -> dict:
        raise MilvusException(message=f"alias={alias}: alias not exist")

    def list_collections(self, **kwargs: Any) -> list[str]:
        return []

    def has_collection(self, name: str, **kwargs: Any) -> bool:
        return False

    def create_collection(self, name: str, **kwargs: Any) -> None:
        self.server.created.append(name)

    def close(self) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()
    monkeypatch.setattr(pymilvus, "MilvusClient", fake.client_class())
    return fake


def backend(tmp_path: Path) -> MilvusBackend:
    return MilvusBackend(URI, token=TOKEN, data_dir=tmp_path, timeout=1.0)


@pytest.mark.parametrize("version", ["v2.3.5", "v2.3.5-lite", "2.4.17", "milvus_lite-2.4.10"])
def test_a_server_older_than_2_5_is_refused_before_anything_is_created(
    server: FakeServer, tmp_path: Path, version: str
) -> None:
    server.version = version
    milvus = backend(tmp_path)
    with pytest.raises(IndexRefusedError) as refused:
        milvus.stage("gen-20240101T000000", None, 4)
    assert str(refused.value) == (
        f"the Milvus server at {URI} is version {version}; Footnote needs Milvus 2.5 or later "
        "(BM25 full-text search)"
    )
    assert server.created == []
    assert isinstance(refused.value, IndexUnavailableError) and refused.value.exit_code == 7


@pytest.mark.parametrize(
    "version", ["2.5.4", "v2.6.0-rc1", "v3.0.0", "milvus_lite-3.2.2", "master-20250101", ""]
)
def test_a_recent_or_unreadable_version_is_served_and_asked_once(
    server: FakeServer, tmp_path: Path, version: str
) -> None:
    server.version = version
    milvus = backend(tmp_path)
    assert milvus.current() is None
    milvus.stage("gen-20240101T000000", None, 4)
    assert server.version_asked == 1  # once per connection, not once per call
    assert server.created == [
        "footnote_gen_20240101T000000",
        "footnote_gen_20240101T000000_articles",
    ]


def test_a_refused_token_is_named_without_the_token(server: FakeServer, tmp_path: Path) -> None:
    server.refuse = True
    with pytest.raises(IndexRefusedError) as refused:
        backend(tmp_path).current()
    assert str(refused.value) == (
        f"the Milvus server at {URI} refused the token (authentication failed): "
        "check FOOTNOTE_MILVUS_TOKEN"
    )
    assert "s3cret" not in str(refused.value)


def test_a_server_down_is_still_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def down(*args: Any, **kwargs: Any) -> None:
        try:
            raise OSError("connection refused")
        except OSError:
            raise MilvusException(message="Fail connecting to server on 127.0.0.1:19530") from None

    monkeypatch.setattr(pymilvus, "MilvusClient", down)
    with pytest.raises(IndexUnavailableError) as failed:
        backend(tmp_path).current()
    assert type(failed.value) is IndexUnavailableError
    assert str(failed.value).startswith(f"the Milvus index at {URI} is unavailable (reading its")


@pytest.mark.parametrize(
    ("fake", "line"),
    [
        (
            FakeServer(version="v2.3.5"),
            f"Error: the Milvus server at {URI} is version v2.3.5; Footnote needs Milvus 2.5 or "
            "later (BM25 full-text search)",
        ),
        (
            FakeServer(refuse=True),
            f"Error: the Milvus server at {URI} refused the token (authentication failed): "
            "check FOOTNOTE_MILVUS_TOKEN",
        ),
    ],
)
def test_the_cli_says_why_the_server_refused_in_one_line(
    fake: FakeServer,
    line: str,
    tmp_path: Path,
    news_corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(pymilvus, "MilvusClient", fake.client_class())
    monkeypatch.setattr(bot.service, "make_embedder", lambda settings: FakeEmbedder())
    milvus_env(monkeypatch, tmp_path / "data", news_corpus, URI, TOKEN)
    for args in (["index"], ["ask", "Who won the chess championship?"]):
        code, out, err = run_cli(args, monkeypatch, capsys)
        assert (code, err) == (7, line), (args, out)
        assert fake.created == []


def test_a_server_that_wants_a_token_says_so(server: FakeServer, tmp_path: Path) -> None:
    server.refuse = True
    with pytest.raises(IndexRefusedError) as refused:
        MilvusBackend(URI, data_dir=tmp_path, timeout=1.0).current()
    assert str(refused.value) == (
        f"the Milvus server at {URI} refused to connect (authentication failed): "
        "set FOOTNOTE_MILVUS_TOKEN"
    )


def test_the_member_gets_the_short_reply_and_the_log_the_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.discord.replies import member_text

    error = IndexRefusedError(
        f"the Milvus server at {URI} refused the token (authentication failed): "
        "check FOOTNOTE_MILVUS_TOKEN"
    )
    with caplog.at_level("WARNING"):
        text = member_text(error)
    assert text.startswith("The index is unavailable right now") and URI not in text
    assert "refused the token (authentication failed)" in caplog.text
