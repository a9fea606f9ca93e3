"""The console script, end to end in-process, with the fake embedder standing in for the model."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import bot.service
from bot import cli
from bot.conversation import ConversationStore
from tests.fakes import FakeEmbedder


@pytest.fixture
def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    news_corpus: Path,
):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(bot.service, "make_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setenv("FOOTNOTE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FOOTNOTE_CORPUS_DIR", str(news_corpus))
    monkeypatch.setenv("FOOTNOTE_MIN_SIMILARITY", "0.2")
    monkeypatch.setenv("FOOTNOTE_MIN_CONFIDENCE", "0.6")

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["footnote", *args])
        code = 0
        try:
            cli.main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_index_ask_show_sources_status(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("index")
    assert code == 0 and "added 7, updated 0, removed 0, unchanged 0" in out
    code, out, _ = run("index")
    assert code == 0 and "unchanged 7" in out and "embedded 0 chunks" in out

    code, out, _ = run("ask", "How much did the bridge cost?")
    assert code == 0
    assert "1.2 billion dollars" in out and "[1]" in out
    assert "Harbor City Herald, 2024-03-14" in out and "https://herald.example/harbor-bridge" in out

    code, out, _ = run("show", "1")
    assert code == 0 and "»" in out and "1.2 billion dollars" in out and "characters" in out

    code, out, _ = run("sources")
    assert code == 0 and out.count("\n") == 7 and "Daily Pawn" in out

    code, out, _ = run("status")
    assert code == 0 and out.startswith("7 articles") and "fake-hash on fake" in out


def test_ask_json(run) -> None:  # type: ignore[no-untyped-def]
    run("index")
    code, out, _ = run("ask", "Who won the chess championship?", "--json", "-k", "3")
    data = json.loads(out)
    assert code == 0 and data["found"] and data["sources"][0]["title"].startswith("Teenager wins")


def test_not_found_is_said_plainly(run) -> None:  # type: ignore[no-untyped-def]
    run("index")
    code, out, _ = run("ask", "What is the airspeed velocity of an unladen swallow?")
    assert code == 0 and "couldn't find" in out and "Nearest sources" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("ask", "How much?"), 3, "no index"),
        (("show", "1"), 2, "no answer yet"),
        (("status",), 3, "footnote index"),
    ],
)
def test_errors_before_indexing(run, args, code, message) -> None:  # type: ignore[no-untyped-def]
    got, out, err = run(*args)
    assert got == code and message in err and "Traceback" not in err + out


def test_question_errors(run) -> None:  # type: ignore[no-untyped-def]
    run("index")
    code, _, err = run("ask", "   ")
    assert code == 2 and "empty" in err
    code, _, err = run("ask", "x" * 5000)
    assert code == 2 and "limited to 1,000 characters" in err
    run("ask", "How much did the bridge cost?")
    code, _, err = run("show", "9")
    assert code == 2 and "not 9" in err


def test_unreadable_corpus(run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FOOTNOTE_CORPUS_DIR", str(tmp_path / "missing"))
    code, _, err = run("index")
    assert code == 3 and "does not exist" in err


def test_invalid_setting_is_named(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FOOTNOTE_TOP_K", "lots")
    code, _, err = run("status")
    assert code == 2 and "FOOTNOTE_TOP_K" in err


def test_chat_session(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    run("index")
    lines = iter(["How much did the bridge cost?", "show 1", "", "never read"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    code, out, _ = run("chat")
    assert code == 0 and "across the bay. [1]" in out and "»" in out


def test_chat_follow_up_survives_a_restart(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    run("index")
    lines = iter(["Which teenager won the national chess championship?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    code, out, _ = run("chat")
    assert code == 0 and "Nandakumar" in out
    # A new session continues the conversation: "her" is the champion asked about before.
    lines = iter(["How many moves did her deciding game take?", "new", "How many moves?", ""])
    code, out, err = run("chat")
    assert code == 0 and "Continuing the conversation" in err
    assert "Read as: How many moves did" in out and "Nandakumar's deciding game" in out
    assert "41 moves" in out
    assert out.count("Read as:") == 1  # after `new`, nothing is carried over


def test_chat_show_in_a_new_session(run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run("index")
    lines = iter(["How much did the bridge cost?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    code, out, _ = run("chat")
    # In chat the command is `show N`, not the shell's `footnote show N`.
    assert code == 0 and "in full: show N" in out and "footnote show" not in out
    # A new session: `show 1` opens the last answer's source, it is no question to remember.
    lines = iter(["show 1", ""])
    code, out, _ = run("chat")
    assert code == 0 and "»" in out and "1.2 billion dollars" in out and "Read as" not in out
    store = ConversationStore(tmp_path / "data" / "conversations.sqlite3", ttl_seconds=600)
    assert [t.question for t in store.turns("chat")] == ["How much did the bridge cost?"]


def test_errors_and_skipped_files_are_one_line_each(  # type: ignore[no-untyped-def]
    run,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    news_corpus: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Not a terminal: rich must not wrap a long message at 80 columns.
    monkeypatch.setenv("FOOTNOTE_DATA_DIR", str(tmp_path / ("a-long-directory-name-" * 5)))
    code, _, err = run("status")
    assert code == 3 and "footnote index" in err and err.count("\n") == 1
    (news_corpus / "bad.md").write_text("---\ntitle: Fine\nsource: [unclosed\nurl: x\n---\nText")
    (news_corpus / "nothing.html").write_text("<html><body><nav>Home</nav></body></html>")
    code, _, err = run("index")
    assert code == 0
    lines = err.splitlines()
    assert [line.split(":")[0] for line in lines] == ["skipped bad.md", "skipped nothing.html"]
    noise = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not noise  # no log line repeats a skip, and trafilatura's "discarding data" is quiet


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """path and everything under it unwritable, for real: root ignores permission bits, so a
    test running as root runs as nobody meanwhile (the kernel then refuses every write)."""
    modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
    for p in modes:
        p.chmod(0o555 if p.is_dir() else 0o444)
    as_root = os.geteuid() == 0
    try:
        if as_root:
            os.seteuid(65534)
        yield
    finally:
        if as_root:
            os.seteuid(0)
        for p, mode in modes.items():
            p.chmod(mode)


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary directory any user can reach (pytest's tmp_path is its owner's alone)."""
    path = Path(tempfile.mkdtemp(prefix="footnote-test-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def test_a_read_only_data_directory_loses_no_answer(  # type: ignore[no-untyped-def]
    run, monkeypatch: pytest.MonkeyPatch, open_tmp: Path
) -> None:
    data = open_tmp / "data"
    monkeypatch.setenv("FOOTNOTE_DATA_DIR", str(data))
    run("index")
    lines = iter(["Which teenager won the national chess championship?", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    run("chat")  # the data directory holds a conversation and a last answer
    with read_only(data):
        code, out, err = run("ask", "How much did the bridge cost?")
        # The answer comes first; that it cannot be kept for `footnote show` is one line.
        assert code == 0 and "1.2 billion dollars" in out
        assert err.count("\n") == 1 and "cannot write" in err and "Traceback" not in err
        code, out, err = run("index")
        assert code == 8 and err.count("\n") == 1 and "cannot write" in err
        code, out, err = run("feeds", "list")
        assert code == 0 and "No feeds yet" in out and not err
        lines = iter(["How much did the bridge cost?", "show 1", "What about the tunnel?", ""])
        code, out, err = run("chat")
        assert code == 0 and "1.2 billion dollars" in out and "»" in out
        assert err.count("\n") == 1 and "cannot write" in err


def test_no_index_is_said_before_the_model_loads(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    loaded: list[object] = []  # making the ONNX model takes ~20 s the first time
    monkeypatch.setattr(bot.service, "make_embedder", lambda settings: loaded.append(settings))
    for args in (("ask", "How much?"), ("chat",)):
        code, _, err = run(*args)
        assert code == 3 and "no index" in err
    assert not loaded


def test_a_question_that_is_not_utf8_is_one_line(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    run("index")
    # What Python makes of `footnote ask $'chess \xff'`: the byte as a lone surrogate.
    code, out, err = run("ask", "chess \udcff")
    assert code == 2 and "UTF-8" in err and err.count("\n") == 1 and not out


def test_chat_goes_on_after_a_line_that_is_not_utf8(tmp_path: Path, news_corpus: Path) -> None:
    """Through a real stdin (not UTF-8 bytes and all), as a terminal would send them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOOTNOTE_", "DISCORD_"))}
    env |= {
        "FOOTNOTE_DATA_DIR": str(tmp_path / "data"),
        "FOOTNOTE_CORPUS_DIR": str(news_corpus),
        "FOOTNOTE_MIN_SIMILARITY": "0.2",
        "FOOTNOTE_MIN_CONFIDENCE": "0.6",
        "PYTHONIOENCODING": "utf-8",
    }
    script = (
        "import sys, bot.service\n"
        "from tests.fakes import FakeEmbedder\n"
        "bot.service.make_embedder = lambda settings: FakeEmbedder()\n"
        "from bot.cli import main\n"
        "sys.argv = ['footnote', *sys.argv[1:]]\n"
        "main()\n"
    )
    repo = Path(__file__).parent.parent

    def footnote(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, *args],
            input=stdin.decode("utf-8", "surrogateescape"),
            env=env,
            cwd=repo,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            timeout=120,
        )

    assert footnote("index").returncode == 0
    chat = footnote("chat", stdin=b"chess \xff\nHow much did the bridge cost?\n\n")
    assert chat.returncode == 0, chat.stderr
    assert "UTF-8" in chat.stderr and "Traceback" not in chat.stderr
    assert "1.2 billion dollars" in chat.stdout


def test_ask_as_of_a_day_is_answered_from_that_days_news(run) -> None:  # type: ignore[no-untyped-def]
    run("index")
    # The chess final was reported on 2024-05-02: the week before it has nothing.
    code, out, _ = run("ask", "Who won the chess championship this week?", "--as-of", "2024-04-20")
    assert code == 0
    assert out.startswith("Nothing from the week of 14 April 2024 in the indexed articles")
    code, out, _ = run(
        "ask", "Who won the chess championship this week?", "--as-of", "2024-05-03", "--json"
    )
    data = json.loads(out)
    assert data["as_of"] == "2024-05-03"
    assert data["found"] and data["sources"][0]["published"].startswith("2024-05-02")
    assert data["dated"] == "as of 2 May 2024 [1]"
    short = data["short_answer"]
    assert short["score"] is not None and short["no_answer"] is not None


def test_as_of_must_be_a_day(run) -> None:  # type: ignore[no-untyped-def]
    run("index")
    code, _, err = run("ask", "Who won?", "--as-of", "last tuesday")
    assert code == 2 and ("YYYY-MM-DD" in err or "%Y-%m-%d" in err)
