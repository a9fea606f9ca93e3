"""How faiss index types scale: query latency, memory per chunk and recall@10 against exact.

Synthetic 384-d unit vectors (clustered, like sentence embeddings of news about a few hundred
stories) stand in for chunks; queries are noisy copies of stored vectors, searched one at a
time as the bot does. Run: python -m benchmarks.scale [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DIM = 384
K = 10


@dataclass(frozen=True)
class Row:
    """One index type at one size."""

    chunks: int
    index: str
    build_s: float
    bytes_per_chunk: float
    p50_ms: float
    p95_ms: float
    recall_at_10: float


def synthetic(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """n unit vectors around n/100 random story directions (cosine ~0.5 within a story)."""
    clusters = max(100, n // 100)
    centres = _unit(rng.standard_normal((clusters, dim), dtype=np.float32))
    out = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        noise = rng.standard_normal((hi - lo, dim), dtype=np.float32) * 0.05
        out[lo:hi] = _unit(centres[rng.integers(0, clusters, hi - lo)] + noise)
    return out


def queries_near(data: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Noisy copies of random stored vectors: each has a meaningful neighbourhood."""
    picked = data[rng.integers(0, len(data), count)]
    return _unit(picked + rng.standard_normal(picked.shape, dtype=np.float32) * 0.03)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def flat(dim: int, _: np.ndarray) -> Any:
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def hnsw(dim: int, _: np.ndarray, m: int = 32, ef_construction: int = 64) -> Any:
    import faiss

    index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    return faiss.IndexIDMap2(index)


def ivf(dim: int, data: np.ndarray) -> Any:
    from index.ann import ivf_index

    return ivf_index(dim, data)


def set_probes(probes: int) -> Callable[[Any], None]:
    def tune(index: Any) -> None:
        index.nprobe = probes

    return tune


def set_ef(ef: int) -> Callable[[Any], None]:
    def tune(index: Any) -> None:
        import faiss

        hnsw_index: Any = faiss.downcast_index(index.index)
        hnsw_index.hnsw.efSearch = ef

    return tune


Variants = list[tuple[str, Callable[[Any], None]]]


def measure(
    make: Callable[[int, np.ndarray], Any],
    variants: Variants,
    data: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
) -> list[Row]:
    """Build one index over data, then time single-query searches for each search variant."""
    import faiss

    started = time.perf_counter()
    index = make(data.shape[1], data)
    index.add_with_ids(data, np.arange(len(data), dtype=np.int64))
    build = time.perf_counter() - started
    size = len(faiss.serialize_index(index)) / len(data)
    rows = []
    for name, tune in variants:
        tune(index)
        times, recall = _search(index, queries, truth)
        rows.append(
            Row(
                chunks=len(data),
                index=name,
                build_s=round(build, 2),
                bytes_per_chunk=round(size, 1),
                p50_ms=round(float(np.percentile(times, 50)), 3),
                p95_ms=round(float(np.percentile(times, 95)), 3),
                recall_at_10=round(recall, 4),
            )
        )
        print(json.dumps(asdict(rows[-1])), flush=True)
    return rows


def _search(index: Any, queries: np.ndarray, truth: np.ndarray) -> tuple[list[float], float]:
    """Per-query latencies in ms, and mean recall@10 against the exact neighbours."""
    times = []
    overlap = 0
    for q, exact in zip(queries, truth, strict=True):
        t = time.perf_counter()
        _, ids = index.search(q.reshape(1, -1), K)
        times.append((time.perf_counter() - t) * 1000)
        overlap += len(set(ids[0].tolist()) & set(exact.tolist()))
    return times, overlap / (K * len(queries))


def exact_neighbours(data: np.ndarray, queries: np.ndarray) -> np.ndarray:
    import faiss

    index = faiss.IndexFlatIP(data.shape[1])
    index.add(data)
    _, ids = index.search(queries, K)
    return ids


def real_vectors(
    path: str, queries: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A built index's chunk vectors, with `queries` of them held out as queries."""
    import faiss

    index: Any = faiss.read_index(path)
    data = faiss.downcast_index(index.index).reconstruct_n(0, index.ntotal)
    held = rng.permutation(len(data))
    return data[held[queries:]], data[held[:queries]]


def run(
    sizes: list[int],
    queries: int,
    hnsw_max: int,
    probes: list[int],
    real: str | None = None,
    seed: int = 0,
) -> list[Row]:
    """Measure flat, IVF (at each nprobe) and (up to hnsw_max chunks) HNSW at each size.

    With real (a vectors.faiss of a built index), its chunk vectors are measured instead.
    """
    from index.ann import ivf_lists

    rng = np.random.default_rng(seed)
    rows: list[Row] = []
    for n in [0] if real else sizes:
        if real:
            data, qs = real_vectors(real, queries, rng)
            n = len(data)
        else:
            data = synthetic(n, DIM, rng)
            qs = queries_near(data, queries, rng)
        truth = exact_neighbours(data, qs)
        builds: list[tuple[Callable[[int, np.ndarray], Any], Variants]] = [
            (flat, [("flat (exact)", lambda _: None)]),
            (ivf, [(f"ivf{ivf_lists(n)} nprobe={p}", set_probes(p)) for p in probes]),
        ]
        if n <= hnsw_max:
            builds.append((hnsw, [(f"hnsw32 ef={ef}", set_ef(ef)) for ef in (32, 64)]))
        for make, variants in builds:
            rows += measure(make, variants, data, qs, truth)
            gc.collect()
        del data
        gc.collect()
    return rows


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| chunks | index | build s | bytes/chunk | p50 ms | p95 ms | recall@10 |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.chunks:,} | {r.index} | {r.build_s:.1f} | {r.bytes_per_chunk:.0f} | "
            f"{r.p50_ms:.2f} | {r.p95_ms:.2f} | {r.recall_at_10:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--hnsw-max", type=int, default=100_000, help="No HNSW above this many chunks (slow)."
    )
    parser.add_argument("--probes", default="8,32,128", help="IVF lists searched per query.")
    parser.add_argument("--real", help="Measure the chunk vectors of this vectors.faiss instead.")
    parser.add_argument(
        "--threads", type=int, default=1, help="faiss threads (one query at a time: 1 is best)."
    )
    args = parser.parse_args()
    import faiss

    faiss.omp_set_num_threads(args.threads)
    rows = run(
        [int(s) for s in args.sizes.split(",")],
        args.queries,
        args.hnsw_max,
        [int(p) for p in args.probes.split(",")],
        args.real,
    )
    print(table(rows))


if __name__ == "__main__":
    main()
