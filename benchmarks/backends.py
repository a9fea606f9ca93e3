"""Embedding backends side by side on MultiHop-RAG: build speed, quality, latency, memory.

    python -m benchmarks.backends --data ../shared/eval/multihop-rag --work-dir /tmp/onnx/bench

In one run, for each backend (default: torch fp32 on one thread, the old path, and int8 ONNX
on every core, the new one):
- `footnote eval multihop --split dev --no-answers --rebuild` in its own process (so neither
  path's imports or memory leak into the other's figures): full build time and chunks/s,
  Hits@10 / MRR@10 / Hits@4 / MAP@10 on dev, query p50/p95 (question -> 10 passages), the
  process's peak RSS. `--reuse torch` keeps an index an earlier run built instead (a torch
  build takes 10-15 minutes); its build speed then comes from the bare-model figure below.
- the bare model's chunks/s on one random sample of the corpus's embedded chunk texts,
  the backends taking turns (so both see the same machine load), and its share of the
  machine's arithmetic peak: model FLOPs (from the token counts) per second over the peak of
  a large fp32 matrix multiply measured on each core (int8 dot products, AVX-512 VNNI, peak
  at 4x that);
- question -> passages latency while a build of part of the corpus (--during articles) runs
  in the same process, as in `footnote serve`: the bot answers during rebuilds;
- cold `footnote ask` wall time (new process, index on disk) against that backend's index.

The bare-model runs go at nice 10 (as the ONNX backend's build threads do anyway), so other
jobs on the machine slow both paths alike. In the evaluations the torch build runs at normal
priority and the ONNX build threads at nice 10 as always: on a loaded machine that favours
the old path.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.eval import embedded_texts, index_key, load_questions, percentile, prepare_data_dir
from index.build import EMBED_BATCH, build_index
from index.chunk import ChunkSettings
from index.embed import Embedder, bundled_model_dir
from index.search import Retriever, SearchSettings

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Which company did the Verge report was fined by the European Commission?"
NICE = 10


@dataclass
class Figures:
    backend: str
    eval: dict
    model_rate: float = 0.0
    flops_per_chunk: float = 0.0
    cold_ask_s: list[float] | None = None
    during_build_ms: list[float] | None = None
    during_build_s: float = 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the MultiHop-RAG folder")
    parser.add_argument("--work-dir", type=Path, required=True, help="indexes and the model cache")
    parser.add_argument("--backends", default="torch,onnx-int8")
    parser.add_argument("--reuse", default="", help="backends whose earlier index is kept")
    parser.add_argument("--sample", type=int, default=512, help="chunks for the bare-model rate")
    parser.add_argument("--rounds", type=int, default=2, help="turns each backend takes on it")
    parser.add_argument("--asks", type=int, default=5, help="cold `footnote ask` runs")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument(
        "--during", type=int, default=40, help="articles built while questions are timed"
    )
    args = parser.parse_args()
    backends = args.backends.split(",")
    reuse = set(filter(None, args.reuse.split(",")))
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FOOTNOTE_MODEL_CACHE": str(work / "models")}

    figures = {b: Figures(b, run_eval(b, args, work, env, b not in reuse)) for b in backends}
    rates, flops = bare_model_rates(backends, args, work)
    for b in backends:
        figures[b].model_rate, figures[b].flops_per_chunk = rates[b], flops
        figures[b].during_build_ms, figures[b].during_build_s = questions_during_build(
            b, args, work
        )
        figures[b].cold_ask_s = cold_asks(b, args, work, env)
    peak = fp32_peak_per_core() * (os.cpu_count() or 1)
    print(report(figures, backends, peak, load_note()))


def run_eval(backend: str, args, work: Path, env: dict, rebuild: bool) -> dict:
    out = work / f"eval-{backend}.json"
    command = [
        sys.executable, "-c", "from bot.cli import main; main()", "eval", "multihop",
        "--data", str(args.data), "--split", "dev", "--work-dir", str(work), "--no-answers",
        "--encode-sample", "8", "--json", str(out),
    ]  # fmt: skip
    if rebuild:
        command.append("--rebuild")
    if args.limit:
        command += ["--limit", str(args.limit)]
    started = time.perf_counter()
    print(f"[{backend}] {'building and ' if rebuild else ''}evaluating ...", file=sys.stderr)
    subprocess.run(
        command,
        env={**env, "FOOTNOTE_EMBED_BACKEND": backend},
        check=True,
    )
    print(f"[{backend}] done in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return json.loads(out.read_text())


def make(backend: str, work: Path) -> Embedder:
    from bot.config import Settings
    from bot.service import make_embedder

    return make_embedder(Settings(embed_backend=backend, model_cache=work / "models"))


def bare_model_rates(backends: list[str], args, work: Path) -> tuple[dict[str, float], float]:
    """Chunks/s of each backend on one random sample, taking turns; FLOPs per sample chunk."""
    embedders = {b: make(b, work) for b in backends}
    first = embedders[backends[0]]
    corpus = corpus_dir(args, work, backends[0])
    texts = embedded_texts(corpus, first, ChunkSettings(), args.sample)[: args.sample]
    tokens = [min(first.count_tokens(t), first.max_tokens) for t in texts]
    flops = statistics.fmean(model_flops(n, work) for n in tokens)
    times: dict[str, list[float]] = {b: [] for b in backends}
    for b in backends:
        embedders[b].embed(texts[:32])  # warm up
    for _ in range(args.rounds):
        for b in backends:
            times[b].append(niced(lambda b=b: embed_all(embedders[b], texts)))
            print(f"[{b}] {len(texts) / times[b][-1]:.1f} chunks/s", file=sys.stderr)
    return {b: len(texts) / statistics.median(times[b]) for b in backends}, flops


def embed_all(embedder: Embedder, texts: list[str]) -> None:
    for lo in range(0, len(texts), EMBED_BATCH):
        embedder.embed(texts[lo : lo + EMBED_BATCH])


def niced(work: Callable[[], None]) -> float:
    """Seconds work takes on a thread of nice 10 (Linux nice is per thread)."""
    seconds: list[float] = []

    def run() -> None:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seconds[0]


def questions_during_build(backend: str, args, work: Path) -> tuple[list[float], float]:
    """Latencies (ms) of questions asked while the first --during articles are built anew."""
    embedder = make(backend, work)
    retriever = Retriever(data_dir(args, work, backend), embedder, SearchSettings())
    questions = [q.text for q in load_questions(args.data, "dev", None) if not q.is_null]
    retriever.search(questions[0], 10)
    part = work / f"during-{backend}"
    shutil.rmtree(part, ignore_errors=True)
    (part / "corpus").mkdir(parents=True)
    articles = json.loads((args.data / "corpus.json").read_text())[: args.during]
    (part / "corpus" / "corpus.json").write_text(json.dumps(articles))
    done = threading.Event()
    started = time.perf_counter()

    def build() -> None:
        try:
            build_index(part / "corpus", part / "data", embedder, ChunkSettings())
        finally:
            done.set()

    builder = threading.Thread(target=build)
    builder.start()
    latencies: list[float] = []
    i = 0
    while not done.is_set():
        asked = time.perf_counter()
        retriever.search(questions[i % len(questions)], 10)
        latencies.append((time.perf_counter() - asked) * 1000)
        i += 1
    builder.join()
    return latencies, time.perf_counter() - started


def corpus_dir(args, work: Path, backend: str) -> Path:
    return data_dir(args, work, backend).parent / "corpus"


def data_dir(args, work: Path, backend: str) -> Path:
    from bot.config import Settings

    return prepare_data_dir(work, args.data, ChunkSettings(), index_key(Settings().model, backend))


_CONFIG: dict = {}


def model_flops(tokens: int, work: Path) -> float:
    """Multiply-add FLOPs of one BERT forward pass over `tokens` tokens (pooling left out)."""
    if not _CONFIG:
        _CONFIG.update(json.loads((bundled_model_dir(work / "models") / "config.json").read_text()))
    layers, d, ff = (
        _CONFIG["num_hidden_layers"],
        _CONFIG["hidden_size"],
        _CONFIG["intermediate_size"],
    )
    per_token = 4 * d * d + 2 * d * ff + 2 * tokens * d  # Q, K, V, O; FFN; scores + context
    return 2.0 * layers * tokens * per_token


def cold_asks(backend: str, args, work: Path, env: dict) -> list[float]:
    """Wall seconds of `footnote ask` in a new process, each run."""
    command = [str(Path(sys.executable).with_name("footnote")), "ask", QUESTION]
    run_env = {
        **env,
        "FOOTNOTE_EMBED_BACKEND": backend,
        "FOOTNOTE_DATA_DIR": str(data_dir(args, work, backend)),
    }
    seconds = []
    for _ in range(args.asks):
        started = time.perf_counter()
        subprocess.run(command, env=run_env, check=True, stdout=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
    return seconds


def fp32_peak_per_core() -> float:
    """FLOP/s of a large fp32 matrix multiply on one core (numpy's BLAS, one thread)."""
    code = (
        "import numpy as np, time\n"
        "a = np.random.rand(2048, 2048).astype(np.float32)\n"
        "best = float('inf')\n"
        "for _ in range(6):\n"
        "    t = time.perf_counter(); a @ a; best = min(best, time.perf_counter() - t)\n"
        "print(2 * 2048**3 / best)\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip())


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def report(figures: dict[str, Figures], backends: list[str], peak: float, load: str) -> str:
    old, new = figures[backends[0]], figures[backends[-1]]
    lines = [
        f"MultiHop-RAG dev, {load}; fp32 peak {peak / 1e9:.0f} GFLOP/s "
        f"({peak / 1e9 / (os.cpu_count() or 1):.0f} per core, measured), int8 peak 4x that",
        "",
        "| backend | build s | build chunks/s | model chunks/s | share of peak fp32 / int8 | "
        "Hits@10 | MRR@10 | Hits@4 | MAP@10 | query p50 ms | query p95 ms | cold ask s "
        "(median, max) | build peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in backends:
        f = figures[b]
        s, r = f.eval["speed"], f.eval["retrieval"]
        built = s["chunks_embedded"] > 0
        asks = f.cold_ask_s or [0.0]
        share = f.model_rate * f.flops_per_chunk / peak
        shares = f"{share:.1%} / {share / 4:.1%}" if "int8" in b else f"{share:.1%} / -"
        lines.append(
            f"| {b} | {s['build_seconds']:.0f}{'' if built else ' (reused)'} | "
            f"{s['build_chunks_per_s']:.1f} | {f.model_rate:.1f} | {shares} | "
            f"{r['hits_at_10']:.4f} | {r['mrr_at_10']:.4f} | {r['hits_at_4']:.4f} | "
            f"{r['map_at_10']:.4f} | {s['query_p50_ms']:.1f} | {s['query_p95_ms']:.1f} | "
            f"{statistics.median(asks):.2f}, {max(asks):.2f} | "
            f"{s['peak_rss_mb']:.0f}{'' if built else ' (no build)'} |"
        )
    so, sn = old.eval["speed"], new.eval["speed"]
    lines.append("")
    lines.append(
        f"{new.backend} vs {old.backend}: bare model {new.model_rate / old.model_rate:.2f}x "
        f"(same sample, taking turns)"
        + (
            f"; full build {sn['build_chunks_per_s'] / so['build_chunks_per_s']:.2f}x"
            if so["chunks_embedded"] and sn["chunks_embedded"]
            else "; full build of the old path not rerun (--reuse)"
        )
    )
    ro, rn = old.eval["retrieval"], new.eval["retrieval"]
    lines.append(
        f"quality: Hits@10 {rn['hits_at_10'] - ro['hits_at_10']:+.4f}, "
        f"MRR@10 {rn['mrr_at_10'] - ro['mrr_at_10']:+.4f}, "
        f"Hits@4 {rn['hits_at_4'] - ro['hits_at_4']:+.4f}, "
        f"MAP@10 {rn['map_at_10'] - ro['map_at_10']:+.4f}"
    )
    lines.append(f"model FLOPs per chunk (mean of the sample): {old.flops_per_chunk / 1e9:.2f} G")
    for b in backends:
        f = figures[b]
        during = f.during_build_ms or [0.0]
        lines.append(
            f"{b}: {len(during)} questions during a {f.during_build_s:.0f}s build of part of "
            f"the corpus: p50 {percentile(during, 50):.0f} ms, p95 {percentile(during, 95):.0f} "
            f"ms, max {max(during):.0f} ms"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
