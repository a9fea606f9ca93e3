"""Optional generated answers: an OpenAI-compatible model writes the answer from the numbered
passages, and only its sentences that pass the check (check.py) are shown.

The passages are the extractive answer's sources, so the generated sentences cite the same [n]
the quotes under them do. The prompt (instructions, the conversation so far, the numbered
passages, the question) is budgeted in cl100k tokens; passages that do not fit are left out
and may not be cited. The answer streams: each sentence is checked as soon as the next one
begins, and only then handed on (the Discord bot edits its reply with it). When the model is
unreachable, too slow, rate-limited, answers with an error or something unreadable, or none of
its sentences passes the check, the extractive answer is returned with a one-line note saying
so. Nothing unchecked is ever handed on or returned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.answer.check import Verdict, check, complete_sentences, split_sentences
from bot.answer.model import Answer, Generated
from bot.conversation import Turn
from index.chunk import DEFAULT_ENCODING
from index.embed import Embedder
from index.errors import ConfigError

log = logging.getLogger(__name__)

INSTRUCTIONS = (
    "You answer questions about news articles using only the numbered passages given. "
    "Answer in one to three short sentences. End every sentence with the number of the passage "
    "it comes from in square brackets, like [1]. Use only names, numbers and dates written in "
    "that passage. If the passages do not answer the question, say so."
)
FALLBACK = "showing the answer quoted from the articles instead."


@dataclass(frozen=True)
class LLMSettings:
    base_url: str
    model: str
    api_key: str = ""
    timeout: float = 30.0
    context_tokens: int = 4096
    max_tokens: int = 300
    min_similarity: float = 0.5


@dataclass(frozen=True)
class Rejected:
    """A generated sentence that failed the check (logged and counted, never shown)."""

    sentence: Generated
    reason: str


class GenerationFailed(Exception):
    """The model gave no usable answer; the message is the one line shown to the user."""


OnSentence = Callable[[Generated], None]


class Generator:
    """Generated answers from one OpenAI-compatible endpoint, checked sentence by sentence.

    Blocking (network and the embedder); thread-safe.
    """

    def __init__(self, settings: LLMSettings, embedder: Embedder) -> None:
        try:
            import openai
            import tiktoken
        except ImportError as exc:  # pragma: no cover - both are dependencies
            raise ConfigError(f"generated answers need the openai package: {exc}") from exc
        self.settings = settings
        self.embedder = embedder
        self._openai = openai
        self._encoding = tiktoken.get_encoding(DEFAULT_ENCODING)
        self._client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key or "none",  # local servers want no key; the client wants one
            timeout=settings.timeout,
            max_retries=0,  # a 429 or a slow model falls back to the extractive answer at once
        )
        # The last answer's rejected sentences, for benchmarks (answers running at once each
        # count their own in Answer.dropped; this holds whichever finished last).
        self.rejected: list[Rejected] = []

    def answer(
        self,
        extractive: Answer,
        question: str,
        history: Sequence[Turn] = (),
        on_sentence: OnSentence | None = None,
    ) -> Answer:
        """The generated answer, or extractive with a note when generation fails.

        Args:
            extractive: the extractive answer; its sources are the numbered passages.
            question: the question as looked up (a follow-up's references resolved).
            on_sentence: called with each sentence that passed the check, as it streams in.
        """
        rejected: list[Rejected] = []
        self.rejected = rejected
        if not extractive.found or not extractive.sources:
            return extractive  # no quotes to stand under it: abstaining stays abstaining
        messages, passages = self.prompt(question, history, extractive)
        try:
            kept = self._generate(messages, passages, on_sentence, rejected)
        except GenerationFailed as exc:
            log.info("generation failed: %s", exc)
            return replace(extractive, note=f"{exc}; {FALLBACK}", dropped=len(rejected))
        finally:
            self.rejected = rejected
        return replace(extractive, generated=kept, dropped=len(rejected))

    def prompt(
        self, question: str, history: Sequence[Turn], extractive: Answer
    ) -> tuple[list[dict[str, str]], dict[int, str]]:
        """The chat messages, and the passages they number (n -> text the check reads)."""
        budget = self.settings.context_tokens - self.settings.max_tokens
        head = [f"Question: {question}"]
        if history:
            said = [f"Q: {t.read_as}\nA: {t.answer or '(no short answer)'}" for t in history[-3:]]
            head.insert(0, "The conversation so far:\n" + "\n".join(said))
        used = self._tokens(INSTRUCTIONS) + sum(self._tokens(h) for h in head) + 16
        passages: dict[int, str] = {}
        blocks: list[str] = []
        for source in extractive.sources:
            text = f"{source.label()}\n{source.passage}"
            room = budget - used - 8
            if room < 32:
                break
            tokens = self._encoding.encode(text)
            if len(tokens) > room:  # the passage's opening is kept; its snippet may be cut
                text = self._encoding.decode(tokens[:room])
            passages[source.n] = text
            blocks.append(f"[{source.n}] {text}")
            used += min(len(tokens), room) + 8
        if not passages:
            raise ConfigError("FOOTNOTE_LLM_CONTEXT_TOKENS leaves no room for a passage; raise it")
        user = "\n\n".join([*head[:-1], "Passages:\n" + "\n\n".join(blocks), head[-1]])
        return (
            [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": user}],
            passages,
        )

    def _tokens(self, text: str) -> int:
        return len(self._encoding.encode(text))

    def _generate(
        self,
        messages: list[dict[str, str]],
        passages: Mapping[int, str],
        on_sentence: OnSentence | None,
        rejected: list[Rejected],
    ) -> list[Generated]:
        kept: list[Generated] = []

        def take(sentences: list[Generated]) -> None:
            for sentence in sentences:
                verdict = self._check(sentence, passages)
                if verdict.ok:
                    kept.append(sentence)
                    if on_sentence is not None:
                        on_sentence(sentence)
                else:
                    rejected.append(Rejected(sentence, verdict.reason))
                    log.info("generated sentence dropped (%s): %s", verdict.reason, sentence.text)

        text = ""
        for piece in self._stream(messages):
            text += piece
            done, text = complete_sentences(text)
            take(done)
        take(split_sentences(text))
        if not kept:
            if rejected:
                raise GenerationFailed(
                    "The model's answer did not pass the check against its sources"
                )
            raise GenerationFailed("The model gave no answer")
        return kept

    def _check(self, sentence: Generated, passages: Mapping[int, str]) -> Verdict:
        return check(sentence, passages, self.embedder, self.settings.min_similarity)

    def _stream(self, messages: list[dict[str, str]]) -> Any:
        """The answer's text as it streams in; GenerationFailed for every way it can fail."""
        openai = self._openai
        deadline = time.monotonic() + self.settings.timeout
        try:
            stream: Any = self._client.chat.completions.create(
                model=self.settings.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=self.settings.max_tokens,
                temperature=0,
                stream=True,
            )
            with stream:
                for chunk in stream:
                    if time.monotonic() > deadline:
                        raise GenerationFailed("The model did not answer in time")
                    for choice in chunk.choices or []:
                        piece = choice.delta.content if choice.delta else None
                        if piece:
                            yield piece
        except openai.APITimeoutError as exc:
            raise GenerationFailed("The model did not answer in time") from exc
        except openai.RateLimitError as exc:
            raise GenerationFailed("The model is rate-limited (HTTP 429)") from exc
        except openai.APIConnectionError as exc:
            raise GenerationFailed("The model could not be reached") from exc
        except openai.APIStatusError as exc:
            raise GenerationFailed(
                f"The model answered with an error (HTTP {exc.status_code})"
            ) from exc
        except (openai.OpenAIError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # A reply that is not what the API describes (malformed JSON, missing fields).
            raise GenerationFailed("The model's reply could not be read") from exc
