"""Which faiss index to publish for how many chunks: exact up to EXACT_MAX_CHUNKS, IVF above.

Measured by benchmarks/scale.py on 2 busy cores: exact search takes ~1 ms at 10^4 chunks,
16-70 ms at 10^5 and ~0.8 s at 10^6; IVF at 10^6 (2,000 lists, 96 probed) ~21 ms with recall@10
0.92 on hard synthetic data (0.98-1.0 on real chunk vectors). IVF rather than HNSW because
builds delete changed articles' vectors (remove_ids), which faiss HNSW cannot, and because
HNSW builds far slower (6 min for 10^5 chunks here).
"""

from __future__ import annotations

import math

import numpy as np

EXACT_MAX_CHUNKS = 50_000
TRAIN_POINTS_PER_LIST = 40
KMEANS_ITERATIONS = 10


def ivf_lists(chunks: int) -> int:
    """Inverted lists for an index of this many chunks: about 2 sqrt(n), at most n / 8."""
    return max(1, min(int(2 * math.sqrt(chunks)), chunks // 8))


def ivf_probes(lists: int) -> int:
    """Lists searched per query (a 16th: recall@10 >= ~0.92 in benchmarks/scale.py)."""
    return min(lists, max(8, lists // 16))


def ivf_index(dimensions: int, sample: np.ndarray, chunks: int | None = None):
    """An empty, trained IVF index (inner product) that keeps chunk ids and can remove them.

    Args:
        dimensions: vector size.
        sample: vectors to train the coarse quantiser on (a random subset is used).
        chunks: how many vectors the index will hold (default: len(sample)).
    """
    import faiss

    lists = ivf_lists(chunks or len(sample))
    quantiser = faiss.IndexFlatIP(dimensions)
    index = faiss.IndexIVFFlat(quantiser, dimensions, lists, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = KMEANS_ITERATIONS
    limit = lists * TRAIN_POINTS_PER_LIST
    if len(sample) > limit:
        pick = np.random.default_rng(0).choice(len(sample), limit, replace=False)
        sample = sample[np.sort(pick)]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    index.nprobe = ivf_probes(lists)
    # Lets a build remove a changed article's vectors and the answer code reconstruct one.
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
    return index


def fit_index(vectors):
    """The index to publish for vectors' size: unchanged while exact is fast enough.

    A flat index that has outgrown EXACT_MAX_CHUNKS is rebuilt as IVF with the same ids; an
    IVF index stays IVF (its lists keep working as it grows; a full rebuild retrains them).
    """
    import faiss

    if vectors.ntotal <= EXACT_MAX_CHUNKS or not isinstance(vectors, faiss.IndexIDMap2):
        return vectors
    ids = faiss.vector_to_array(vectors.id_map).astype(np.int64)
    data = faiss.downcast_index(vectors.index).reconstruct_n(0, vectors.ntotal)
    index = ivf_index(vectors.d, data)
    index.add_with_ids(data, ids)
    return index
