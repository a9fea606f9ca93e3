"""Typed errors whose messages are safe to show a user.

The library raises these; only the edges (CLI, bot) turn them into words and exit codes.
"""

from __future__ import annotations


class FootnoteError(Exception):
    """Base class: the message explains what went wrong and what to do about it."""

    exit_code = 1


class ConfigError(FootnoteError):
    """A setting is missing or invalid."""

    exit_code = 2


class QuestionError(FootnoteError):
    """The question cannot be asked as given (empty, too long)."""

    exit_code = 2


class ArticleError(FootnoteError):
    """One article file could not be read; the rest of the corpus still indexes."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class CorpusError(FootnoteError):
    """The corpus directory itself is missing or unreadable."""

    exit_code = 3


class IndexMissingError(FootnoteError):
    """No index has been built yet in the data directory."""

    exit_code = 3


class IndexCorruptError(FootnoteError):
    """The published index is damaged or incomplete; a plain `footnote index` rebuilds it."""

    exit_code = 4

    def __init__(self, detail: str) -> None:
        super().__init__(f"the index is damaged: {detail}; `footnote index` rebuilds it")
        self.detail = detail


class IndexMismatchError(FootnoteError):
    """The index was built with another model or other settings than the ones configured."""

    exit_code = 4


class IndexLockedError(FootnoteError):
    """Another build holds the index lock."""

    exit_code = 5


class ModelError(FootnoteError):
    """The embedding model cannot be loaded or failed its integrity check."""

    exit_code = 6


class NotFoundError(FootnoteError):
    """A requested source, passage or article does not exist."""

    exit_code = 2


class DataDirError(FootnoteError):
    """The data directory cannot be written (a read-only mount, or another user's folder)."""

    exit_code = 8


class IndexUnavailableError(FootnoteError):
    """The index's storage (a Milvus server) cannot be reached or refused the request."""

    exit_code = 7


class IndexRefusedError(IndexUnavailableError):
    """The index's storage answered but will not serve Footnote: it refused the credentials, or
    it is a Milvus too old for what the index needs. The same exit code as unavailable: both are
    found only by asking the server, and the operator, not the person asking, must act."""
