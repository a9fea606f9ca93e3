"""Run the console script in-process, as tests of several modules need."""

from __future__ import annotations

import sys

import pytest

from bot import cli


def run_cli(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run `footnote args` through bot.cli.main: exit code, stdout, stderr (unwrapped)."""
    monkeypatch.setattr(sys, "argv", ["footnote", *args])
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, " ".join(captured.out.split()), " ".join(captured.err.split())
