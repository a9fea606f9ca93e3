"""Hybrid retrieval: dense (faiss) + keyword (FTS5 BM25) -> reciprocal rank fusion -> passages."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embed import Embedder
from index.errors import IndexCorruptError, IndexMismatchError, QuestionError
from index.store import Snapshot, current_generation, index_dir

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: text == the article's text[start:end]."""

    chunk_id: int
    article_id: str
    title: str
    source: str
    url: str
    published: str
    text: str
    start: int
    end: int
    score: float
    similarity: float
    dense_rank: int | None
    keyword_rank: int | None


@dataclass(frozen=True)
class SearchSettings:
    """Fusion knobs, tuned on the MultiHop-RAG dev split."""

    dense_candidates: int = 60
    keyword_candidates: int = 60
    rrf_k: int = 60
    dense_weight: float = 1.0
    keyword_weight: float = 1.0


def clean_question(question: str) -> str:
    """The question with whitespace folded.

    Raises:
        QuestionError: empty, or longer than MAX_QUESTION_CHARS.
    """
    text = " ".join((question or "").split())
    if not text:
        raise QuestionError("Please ask a question: the text was empty.")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"Questions are limited to {MAX_QUESTION_CHARS:,} characters; yours has {len(text):,}. "
            "Please ask something shorter."
        )
    return text


class Retriever:
    """Ranks indexed passages for a question; picks up newly published indexes by itself.

    Safe to call from several threads: a rebuild publishes a new generation and the next
    search swaps to it, while searches under way finish on the one they started with.
    """

    def __init__(
        self, data_dir: Path, embedder: Embedder, settings: SearchSettings | None = None
    ) -> None:
        self.data_dir = data_dir
        self.embedder = embedder
        self.settings = settings or SearchSettings()
        self._root = index_dir(data_dir)
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        """The published index, reopened when a build has published a newer one.

        Raises:
            IndexMissingError, IndexCorruptError, IndexMismatchError.
        """
        with self._lock:
            current = self._snapshot
            name = current_generation(self._root)
            if current is not None and (name is None or name == current.generation):
                return current
            try:
                fresh = Snapshot.open_current(self.data_dir)
            except IndexCorruptError:
                if current is None:
                    raise
                log.exception(
                    "new index generation %s is unusable; keeping %s", name, current.generation
                )
                return current
            self._check_model(fresh)
            self._snapshot = fresh
            if current is not None:
                log.info("switched to index generation %s", fresh.generation)
            return fresh

    def _check_model(self, snapshot: Snapshot) -> None:
        manifest = snapshot.manifest
        if manifest.model != self.embedder.name or manifest.dimensions != self.embedder.dimensions:
            raise IndexMismatchError(
                f"the index was built with {manifest.model} ({manifest.dimensions}d) but the "
                f"configured model is {self.embedder.name} ({self.embedder.dimensions}d); "
                "run `footnote index` to rebuild it, or configure the index's model"
            )

    def search(self, question: str, k: int = 5) -> list[Passage]:
        """The k best passages for question, best first."""
        text = clean_question(question)
        snapshot = self.snapshot()
        query = self.embedder.embed([text])[0]
        return self.rank(snapshot, text, query, k)

    def rank(self, snapshot: Snapshot, question: str, query: np.ndarray, k: int) -> list[Passage]:
        s = self.settings
        dense = snapshot.dense(query, max(s.dense_candidates, k))
        keyword = snapshot.keyword(question, max(s.keyword_candidates, k))
        fused: dict[int, float] = {}
        dense_rank: dict[int, int] = {}
        keyword_rank: dict[int, int] = {}
        for rank, (chunk_id, _) in enumerate(dense, 1):
            dense_rank[chunk_id] = rank
            fused[chunk_id] = fused.get(chunk_id, 0.0) + s.dense_weight / (s.rrf_k + rank)
        for rank, (chunk_id, _) in enumerate(keyword, 1):
            keyword_rank[chunk_id] = rank
            fused[chunk_id] = fused.get(chunk_id, 0.0) + s.keyword_weight / (s.rrf_k + rank)
        best = sorted(fused, key=lambda cid: (-fused[cid], cid))[:k]
        dense_scores = dict(dense)
        records = snapshot.chunks(best)
        passages = []
        for chunk_id in best:
            rec = records.get(chunk_id)
            if rec is None:
                continue
            similarity = dense_scores.get(chunk_id)
            if similarity is None:
                similarity = float(snapshot.vector(chunk_id) @ query)
            passages.append(
                Passage(
                    chunk_id=chunk_id,
                    article_id=rec.article_id,
                    title=rec.title,
                    source=rec.source,
                    url=rec.url,
                    published=rec.published,
                    text=rec.text,
                    start=rec.start,
                    end=rec.end,
                    score=fused[chunk_id],
                    similarity=similarity,
                    dense_rank=dense_rank.get(chunk_id),
                    keyword_rank=keyword_rank.get(chunk_id),
                )
            )
        return passages
