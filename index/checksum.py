"""sha256 checks of files, remembered while a file stays as it was hashed."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes, read 1 MiB at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino}"


def verified_before(path: Path, sha256: str) -> bool:
    """path was hashed to sha256 before and has not changed since.

    Hashing 90 MB on every start slows a cold `footnote ask`. Any write to the file changes its
    ctime (which, unlike mtime, cannot be set back), so the stamp then no longer matches and
    the hash is checked again.
    """
    try:
        return path.with_name(path.name + ".verified").read_text("utf-8") == _stamp(path, sha256)
    except OSError:
        return False


def remember_verified(path: Path, sha256: str) -> None:
    """Record that path hashed to sha256, as it is now."""
    stamp = path.with_name(path.name + ".verified")
    tmp = stamp.with_name(f"{stamp.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(_stamp(path, sha256), "utf-8")
        tmp.replace(stamp)
    except OSError as exc:  # a read-only cache still works, it just hashes every time
        log.debug("cannot record the hash check of %s: %s", path, exc)
