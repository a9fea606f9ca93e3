"""Reranking the fused candidates by a linear model over what retrieval knows of each passage.

Fusion ranks a chunk by its two list ranks; it does not see which of its sentences matches the
question or a part of it, how much of the question's rarer wording it holds, or that it is the
third chunk of an article already ranked. The reranker scores the first passages with
a logistic model over those signals and orders them by it:

- the passage's fused rank and score, its dense and keyword ranks, and its chunk vector's
  cosine to the question and to each part searched on its own;
- the share of the question's (and of each part's) word weight that the chunk and its
  headline hold, a word weighing its inverse document frequency in the index;
- whether the question names its outlet or its day, whether it is its article's lead, and how
  many chunks of its article rank at or above it;
- the best cosine of one of its sentences to the question, and to each part.

The weights were fit on the MultiHop-RAG dev split (`python -m benchmarks.rerank --fit`,
which prints them): a passage is relevant when it holds a gold fact. Retrieval uses it for
multi-part questions only (Retriever.multi_part). On the test split, int8 vectors, MAP@10 rose
from .358 to .395 and MRR@10 from .657 to .725. The sentence vectors were most of its cost when
they were embedded per question (one call, about 120 ms on 2 cores); the build now stores them
(index/sentence_vectors.py), so the embedder it is given looks them up and embeds only those
the store lacks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from index.articles import display_date
from index.embed import Embedder
from index.sentences import statements
from index.store import content_words

if TYPE_CHECKING:  # index.search imports this module
    from index.search import Passage

FEATURES = (
    "inverse_rank",
    "fused",
    "cosine",
    "part_cosine_max",
    "part_cosine_min",
    "dense_rank",
    "keyword_rank",
    "coverage",
    "part_coverage_max",
    "part_coverage_min",
    "outlet_named",
    "day_named",
    "outlets_named",
    "article_repeat",
    "lead",
    "sentence_cosine",
    "part_sentence_max",
    "part_sentence_min",
    "sentence_cosine_any",
)


@dataclass(frozen=True)
class RerankModel:
    """A logistic model's weights over standardised FEATURES: (x - mean) / scale."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]

    def score(self, rows: np.ndarray) -> np.ndarray:
        mean, scale = np.asarray(self.mean), np.asarray(self.scale)
        return ((rows - mean) / scale) @ np.asarray(self.coef)


# Ranks beyond the candidate lists count as this one.
_UNRANKED = 200


def features(
    candidates: Sequence[Passage],
    vectors: np.ndarray,
    chunk_vectors: np.ndarray,
    embedder: Embedder,
    weigh: Callable[[str], float],
    question: str,
    parts: Sequence[str],
    sources: frozenset[str],
    dates: frozenset[str],
) -> np.ndarray:
    """One row of FEATURES per candidate passage, in their order.

    Args:
        vectors: the question's vector, then one per part (parts searched on their own).
        chunk_vectors: the candidates' chunk vectors, one row each.
        weigh: a word's weight (its inverse document frequency).
    """
    if not candidates:
        return np.zeros((0, len(FEATURES)))
    vectors = np.atleast_2d(vectors)
    chunk_cos = chunk_vectors @ vectors.T  # candidates x (1 + parts)
    sentences = [statements(c.text) for c in candidates]
    flat = list(dict.fromkeys(s for group in sentences for s in group))
    where = {s: i for i, s in enumerate(flat)}
    sentence_cos = embedder.embed(flat) @ vectors.T  # sentences x (1 + parts)
    asked = set(content_words(question))
    part_words = [set(content_words(p)) for p in parts] or [asked]
    seen: dict[str, int] = {}
    rows = []
    for rank, (c, cos) in enumerate(zip(candidates, chunk_cos, strict=True), start=1):
        words = set(content_words(f"{c.text} {c.title}"))
        part_cover = [coverage(w, words, weigh) for w in part_words]
        best = sentence_cos[[where[s] for s in sentences[rank - 1]]].max(axis=0)
        part_cos = cos[1:] if len(cos) > 1 else cos
        part_best = best[1:] if len(best) > 1 else best
        seen[c.article_id] = seen.get(c.article_id, 0) + 1
        rows.append(
            (
                1.0 / rank,
                c.score,
                float(cos[0]),
                float(part_cos.max()),
                float(part_cos.min()),
                1.0 / (c.dense_rank or _UNRANKED),
                1.0 / (c.keyword_rank or _UNRANKED),
                coverage(asked, words, weigh),
                max(part_cover),
                min(part_cover),
                float(c.source in sources),
                float(display_date(c.published) in dates),
                float(bool(sources)),
                float(seen[c.article_id]),
                float(c.start == 0),
                float(best[0]),
                float(part_best.max()),
                float(part_best.min()),
                float(best.max()),
            )
        )
    return np.array(rows, dtype=np.float64)


def coverage(asked: Set[str], seen: Set[str], weigh: Callable[[str], float]) -> float:
    """The share of the asked words' weight that seen holds (the reranker's and the answer
    layer's measure of how much of a question a text holds)."""
    total = sum(weigh(w) for w in asked)
    return sum(weigh(w) for w in asked & seen) / total if total else 0.0


def idf(chunks: int, document_frequency: int) -> float:
    """A word's weight: its inverse document frequency among the index's chunks."""
    return max(math.log((chunks + 1) / (document_frequency + 0.5)), 0.1)


# Fit by `python -m benchmarks.rerank --fit` on MultiHop-RAG dev (see the module docstring).
MODEL = RerankModel(
    mean=(
        0.221215, 0.164231, 0.497246, 0.521427, 0.368797, 0.185799, 0.295768, 0.201547, 0.324759,
        0.128452, 0.955436, 0.188009, 0.993289, 2.734407, 0.129396, 0.459086, 0.496631, 0.3687,
        0.501478,
    ),
    scale=(
        0.237543, 0.036342, 0.139088, 0.132419, 0.167207, 0.263396, 0.294772, 0.103989, 0.175089,
        0.124444, 0.206344, 0.390719, 0.081648, 2.064588, 0.335638, 0.124403, 0.125547, 0.137401,
        0.125454,
    ),
    coef=(
        0.246405, 0.150827, -0.153672, -0.475447, 0.029605, 0.198608, 0.338541, 0.487379,
        -0.005135, -0.34556, 0.641924, 0.005136, -0.278325, -0.414201, 0.132668, 0.22514,
        0.954936, 0.121832, -0.333834,
    ),
)
