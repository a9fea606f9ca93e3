"""Question + passage -> the token windows the reader reads, with each token's characters.

One function serves training and reading, so the model reads exactly what it was trained on:
[CLS] question [SEP] passage window [SEP], long passages in overlapping windows (Hugging Face's
question-answering examples: doc stride), each passage token mapped back to its characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

MAX_TOKENS = 192
STRIDE = 64
MAX_QUESTION_TOKENS = 48


@dataclass(frozen=True)
class Window:
    """One window's token ids and, for each token, its (start, end) in the passage or None."""

    ids: list[int]
    type_ids: list[int]
    offsets: list[tuple[int, int] | None]

    @property
    def first_passage_token(self) -> int:
        return next(i for i, o in enumerate(self.offsets) if o is not None)


class Features:
    """The bundled tokenizer, set up for windows (no truncation or padding of its own)."""

    def __init__(
        self,
        tokenizer_file: Path,
        max_tokens: int = MAX_TOKENS,
        stride: int = STRIDE,
        max_question_tokens: int = MAX_QUESTION_TOKENS,
    ) -> None:
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        cls, sep = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        if cls is None or sep is None:
            raise ValueError(f"{tokenizer_file} is no BERT tokenizer ([CLS], [SEP])")
        self.cls: int = cls
        self.sep: int = sep
        self.max_tokens = max_tokens
        self.stride = stride
        self.max_question_tokens = max_question_tokens

    def question_ids(self, question: str) -> list[int]:
        ids: list[int] = self.tokenizer.encode(question, add_special_tokens=False).ids
        return ids[: self.max_question_tokens]

    def windows(self, question: str | list[int], passage: str) -> list[Window]:
        """The passage's windows after the question; every passage token lies in one of them."""
        q = self.question_ids(question) if isinstance(question, str) else question
        enc = self.tokenizer.encode(passage, add_special_tokens=False)
        ids, offsets = enc.ids, enc.offsets
        room = self.max_tokens - len(q) - 3
        head = [self.cls, *q, self.sep]
        head_types = [0] * len(head)
        out: list[Window] = []
        start = 0
        while True:
            end = min(start + room, len(ids))
            body = ids[start:end]
            out.append(
                Window(
                    ids=[*head, *body, self.sep],
                    type_ids=[*head_types, *([1] * (len(body) + 1))],
                    offsets=[None] * len(head)
                    + [(int(a), int(b)) for a, b in offsets[start:end]]
                    + [None],
                )
            )
            if end >= len(ids):
                return out
            start += max(1, room - self.stride)
