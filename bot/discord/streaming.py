"""A generated answer streamed into Discord: the reply is edited with each checked sentence.

The answer is generated in a worker thread; every sentence that passed the check is handed to
a StreamedReply from that thread, which wakes a task on the event loop that shows the sentences
so far, at most one edit per interval (Discord allows about five edits per five seconds), so
the loop never waits on the model and Discord is not flooded. Only checked sentences ever
reach it (bot/answer/generate.py); the final answer (embed, sources, buttons) replaces it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from bot.answer import Generated
from bot.discord.render import CONTENT_LIMIT, clip, verbatim
from bot.discord.replies import one_line

log = logging.getLogger(__name__)

# Seconds between edits of a streaming reply: within Discord's 5 edits per 5 s, with room.
STREAM_SECONDS = 1.2
WRITING = "✍️ writing, each sentence checked against its sources…"


class StreamedReply:
    """Shows checked sentences by calling show(text): first at once, then at most every
    interval seconds. Call push() from any thread; run() on the loop; stop() before the final
    reply, so that an edit in flight lands before it, never after."""

    def __init__(self, show: Callable[[str], Awaitable[object]], interval: float) -> None:
        self._show = show
        self.interval = interval
        self.sentences: list[Generated] = []
        self.shown = 0  # edits made
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopped = False

    def push(self, sentence: Generated) -> None:
        """A checked sentence, from the worker thread."""

        def add() -> None:
            self.sentences.append(sentence)
            self._wake.set()

        with suppress(RuntimeError):  # the loop has closed: nobody is left to show it to
            self._loop.call_soon_threadsafe(add)

    def text(self) -> str:
        body = " ".join(verbatim(s.shown) for s in self.sentences)
        return clip(f"{body}\n-# {WRITING}", CONTENT_LIMIT)

    async def run(self) -> None:
        last = -self.interval
        shown_count = 0
        while not self._stopped:
            await self._wake.wait()
            self._wake.clear()
            # Wall-clock time, as Discord's rate limits count it.
            wait = self.interval - (time.perf_counter() - last)
            if wait > 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._until_stopped(), wait)
            if self._stopped or len(self.sentences) == shown_count:
                continue
            shown_count = len(self.sentences)
            last = time.perf_counter()
            try:
                await self._show(self.text())
                self.shown += 1
            except Exception as exc:  # streaming is a courtesy: the final answer still comes
                log.warning("could not stream the answer: %s", one_line(exc))

    async def _until_stopped(self) -> None:
        while not self._stopped:
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
