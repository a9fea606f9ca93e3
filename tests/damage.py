"""Damage done to an index's files, as disks and careless hands do it."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def garble_pages(path: Path, page: int = 4096) -> None:
    """Overwrite 1.5 kB in each 4 kB page with random bytes, the file's header left intact."""
    rng = np.random.default_rng(7)
    data = bytearray(path.read_bytes())
    for start in range(0, len(data), page):
        end = min(start + 2560, len(data))
        if end > start + 1024:
            data[start + 1024 : end] = rng.bytes(end - start - 1024)
    path.write_bytes(bytes(data))


def garble_middle(path: Path) -> None:
    """Overwrite 256 bytes in the middle of a file (its header and length left intact)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 256] = np.random.default_rng(7).bytes(256)
    path.write_bytes(bytes(data))
