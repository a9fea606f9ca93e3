"""Builds started from Discord (/reindex, /add) beside other builds, without Discord itself."""

from __future__ import annotations

import pytest

from bot.discord.building import AddQueued, add_and_index
from bot.service import Footnote
from index.build import build_lock
from index.intake import stage_file

FERRY = b"""---
title: Ferry strike ends after nine days
source: Island Courier
published_at: 2024-06-01
---

Ferry crews returned to work on Monday after a nine day strike over pay ended with a deal.
"""


class Told:
    """Stands in for the reply that shows a build's progress."""

    def __init__(self) -> None:
        self.waited = False

    def __call__(self, done: int, total: int, stage: str = "embedding") -> None:
        pass

    def wait_for_build(self, waiting: bool) -> None:
        self.waited = self.waited or waiting


def test_an_add_during_a_long_build_is_kept_for_the_next_build(service: Footnote) -> None:
    corpus = service.settings.corpus_dir
    staged = stage_file(corpus, "ferry.md", FERRY, 1_000_000)
    told = Told()
    # A build that outlasts the wait (a huge article, say) holds the index.
    with build_lock(service.settings.data_dir), pytest.raises(AddQueued) as queued:
        add_and_index(service, staged, told, wait=0.3)  # type: ignore[arg-type]
    assert told.waited and "Ferry strike ends after nine days" in str(queued.value)
    assert "the build after it" in str(queued.value)
    # The article is not lost with the /add: it waits in the corpus for the next build.
    assert (corpus / staged.rel).read_bytes() == FERRY
    assert service.index().added == 1
