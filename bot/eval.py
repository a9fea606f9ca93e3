"""`footnote eval multihop`: retrieval quality, answers and speed on the MultiHop-RAG benchmark.

The benchmark corpus is indexed through the product's own build (index.build.build_index) into a
throw-away data directory, and every question goes through the product's retriever and answer.
Retrieval is scored exactly as the paper's retrieval_evaluate.py does (Tang & Yang, 2024).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import resource
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from bot.config import load_settings
from bot.service import Footnote, make_embedder
from index.articles import load_corpus
from index.build import EMBED_BATCH, BuildReport, build_index
from index.chunk import Chunker, ChunkSettings, embed_text
from index.embed import Embedder
from index.errors import ConfigError
from index.search import Retriever, SearchSettings

CORPUS_FILE = "corpus.json"
QUERIES_FILE = "MultiHopRAG.json"
SPLIT_FILE = "split.json"
NULL_TYPE = "null_query"
INFERENCE_TYPE = "inference_query"
# A question's shown answer text, whether found, ms, what the gate weighed, the short answer.
Shown = tuple[str, bool, float, dict[str, float], str]
RETRIEVE_K = 10

eval_app = typer.Typer(
    help="Measure retrieval quality and speed on benchmarks.", no_args_is_help=True
)


# ---------------------------------------------------------------------------------------------
# The paper's retrieval metrics


def squash(text: str) -> str:
    """Text as the paper compares it: spaces and newlines removed (nothing else)."""
    return text.replace(" ", "").replace("\n", "")


@dataclass(frozen=True)
class QueryScores:
    """One question's retrieval scores."""

    hit4: bool
    hit10: bool
    reciprocal_rank: float
    average_precision: float


def score_query(retrieved: Sequence[str], gold: Sequence[str]) -> QueryScores:
    """Hits@4/@10, reciprocal rank@10 and AP@10 of one ranked list, as the paper defines them.

    A retrieved text is relevant when any gold fact is a substring of it (both squashed). AP@10
    adds, at each relevant rank r <= 10, (gold facts first found at r) / r, and divides by
    min(len(gold), 10).
    """
    facts = [squash(g) for g in gold]
    found: set[str] = set()
    first: int | None = None
    precision_sum = 0.0
    for rank, text in enumerate((squash(t) for t in retrieved[:RETRIEVE_K]), start=1):
        inside = [f for f in facts if f in text]
        if not inside:
            continue
        first = first or rank
        new = {f for f in inside if f not in found}
        found |= new
        precision_sum += len(new) / rank
    return QueryScores(
        hit4=first is not None and first <= 4,
        hit10=first is not None,
        reciprocal_rank=1.0 / first if first else 0.0,
        average_precision=precision_sum / min(len(facts), RETRIEVE_K) if facts else 0.0,
    )


@dataclass(frozen=True)
class RetrievalScores:
    """Mean retrieval scores over the questions with evidence."""

    questions: int
    hits_at_4: float
    hits_at_10: float
    mrr_at_10: float
    map_at_10: float


def aggregate(scores: Sequence[QueryScores]) -> RetrievalScores:
    n = len(scores)
    if not n:
        return RetrievalScores(0, 0.0, 0.0, 0.0, 0.0)
    return RetrievalScores(
        questions=n,
        hits_at_4=sum(s.hit4 for s in scores) / n,
        hits_at_10=sum(s.hit10 for s in scores) / n,
        mrr_at_10=sum(s.reciprocal_rank for s in scores) / n,
        map_at_10=sum(s.average_precision for s in scores) / n,
    )


_FOLD = str.maketrans("‘’“”–—", "''\"\"--")


def normalise(text: str) -> str:
    """NFKC, lower case, straight quotes, hyphens for dashes, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_FOLD)
    return " ".join(text.split())


def contains_answer(shown: str, gold: str) -> bool:
    """The shown answer contains the gold answer, normalised, on word boundaries (so the
    gold answer "No" is not found inside "know", nor "Yes" inside "yesterday")."""
    target = normalise(gold).rstrip(".")
    if not target:
        return False
    return re.search(rf"(?<!\w){re.escape(target)}(?!\w)", normalise(shown)) is not None


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of values, linearly interpolated; 0 for none."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else 0.0


# ---------------------------------------------------------------------------------------------
# The benchmark's questions


@dataclass(frozen=True)
class Question:
    """One benchmark question with its gold answer and evidence facts."""

    index: int
    text: str
    answer: str
    kind: str
    facts: tuple[str, ...]

    @property
    def is_null(self) -> bool:
        return self.kind == NULL_TYPE


def load_questions(data: Path, split: str, limit: int | None = None) -> list[Question]:
    """The questions of one split ("dev", "test" or "all"), in split order.

    Raises:
        ConfigError: a benchmark file is missing or the split is unknown.
    """
    raw = _read_json(data / QUERIES_FILE)
    if split == "all":
        indices = list(range(len(raw)))
    else:
        splits = _read_json(data / SPLIT_FILE)
        if split not in splits or not isinstance(splits[split], list):
            raise ConfigError(f"{data / SPLIT_FILE} has no split {split!r}")
        indices = splits[split]
    questions = [
        Question(
            index=i,
            text=raw[i]["query"],
            answer=raw[i]["answer"],
            kind=raw[i]["question_type"],
            facts=tuple(e["fact"] for e in raw[i]["evidence_list"]),
        )
        for i in indices
    ]
    return questions[:limit] if limit else questions


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"benchmark file {path} is missing") from exc
    except ValueError as exc:
        raise ConfigError(f"benchmark file {path} is not valid JSON: {exc}") from exc


# ---------------------------------------------------------------------------------------------
# Running it


@dataclass(frozen=True)
class SpeedScores:
    """Build throughput against the model's own, query latency and peak memory."""

    build_seconds: float
    chunks: int
    chunks_embedded: int
    build_chunks_per_s: float
    model_chunks_per_s: float
    pipeline_overhead: float
    query_p50_ms: float
    query_p95_ms: float
    peak_rss_mb: float


@dataclass(frozen=True)
class EvalResult:
    """Everything one evaluation run measured, with the settings it ran with."""

    benchmark: str
    split: str
    questions: int
    chunking: dict[str, Any]
    search: dict[str, Any]
    retrieval: RetrievalScores
    by_type: dict[str, RetrievalScores]
    answer_containment: float
    inference_questions: int
    abstention: float
    null_questions: int
    # The shown answer contains the gold answer (a null question: Footnote abstains), by
    # question type and over all types; and question -> answer latency.
    answer_accuracy: float
    answer_by_type: dict[str, float]
    # The short (bold) answer alone contains the gold answer, by type, null questions aside.
    short_by_type: dict[str, float]
    answered_questions: int
    ask_p50_ms: float
    ask_p95_ms: float
    speed: SpeedScores
    model: str
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    # Each answered question: its type, found, right, and what the answer gate weighed.
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


@dataclass(frozen=True)
class EvalOptions:
    """How to run one evaluation."""

    data: Path
    split: str = "dev"
    limit: int | None = None
    work_dir: Path | None = None
    chunking: ChunkSettings = field(default_factory=ChunkSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    rebuild: bool = False
    encode_sample: int = 1024
    answers: bool = True
    top_k: int = 5
    min_similarity: float = 0.35
    min_confidence: float = 0.95


def run_multihop(
    options: EvalOptions, embedder: Embedder, log: Callable[[str], None] = lambda _: None
) -> EvalResult:
    """Index the benchmark corpus, run the split's questions and score them.

    Args:
        options: the benchmark location, split and settings.
        embedder: the embedding model (the real one for figures, a fake one in tests).
        log: called with a line of progress now and then.
    """
    started = time.perf_counter()
    questions = load_questions(options.data, options.split, options.limit)
    with _work_dir(options.work_dir) as work:
        key = index_key(embedder.name, embedder.backend)
        data_dir = prepare_data_dir(work, options.data, options.chunking, key)
        corpus_dir = data_dir.parent / "corpus"
        log(f"indexing {options.data / CORPUS_FILE} into {data_dir}")
        report = build_index(
            corpus_dir, data_dir, embedder, options.chunking, rebuild=options.rebuild
        )
        log(
            f"{report.chunks_total} chunks ({report.chunks_embedded} embedded) in "
            f"{report.seconds:.1f}s"
        )
        retriever = Retriever(data_dir, embedder, options.search)
        model_rate = model_throughput(corpus_dir, embedder, options.chunking, options.encode_sample)
        evidence = [q for q in questions if not q.is_null]
        log(f"retrieving for {len(evidence)} questions")
        per_query, latencies = retrieve_all(retriever, evidence)
        shown = _answers(options, data_dir, embedder, questions, log) if options.answers else {}
    inference = [q for q in questions if q.kind == INFERENCE_TYPE]
    nulls = [q for q in questions if q.is_null]
    return EvalResult(
        benchmark="multihop-rag",
        split=options.split,
        questions=len(questions),
        chunking=options.chunking.as_dict(),
        search=asdict(options.search),
        retrieval=aggregate(list(per_query.values())),
        by_type=_by_type(evidence, per_query),
        answer_containment=_mean(
            contains_answer(shown[q.index][0], q.answer) for q in inference if q.index in shown
        ),
        inference_questions=len(inference) if shown else 0,
        abstention=_mean(not shown[q.index][1] for q in nulls if q.index in shown),
        null_questions=len(nulls) if shown else 0,
        answer_accuracy=_mean(_right(q, shown[q.index]) for q in questions if q.index in shown),
        answer_by_type={
            kind: _mean(_right(q, shown[q.index]) for q in questions if q.kind == kind)
            for kind in sorted({q.kind for q in questions})
        }
        if shown
        else {},
        short_by_type={
            kind: _mean(
                contains_answer(shown[q.index][4], q.answer) for q in evidence if q.kind == kind
            )
            for kind in sorted({q.kind for q in evidence})
        }
        if shown
        else {},
        answered_questions=len(shown),
        outcomes=[
            {
                "index": q.index,
                "kind": q.kind,
                "answerable": not q.is_null,
                "found": shown[q.index][1],
                "correct": not q.is_null and _right(q, shown[q.index]),
                "short_correct": not q.is_null and contains_answer(shown[q.index][4], q.answer),
                "evidence": shown[q.index][3],
            }
            for q in questions
            if q.index in shown
        ],
        ask_p50_ms=percentile([a[2] for a in shown.values()], 50),
        ask_p95_ms=percentile([a[2] for a in shown.values()], 95),
        speed=_speed(report, model_rate, latencies),
        model=embedder.name,
        seconds=time.perf_counter() - started,
    )


@contextmanager
def _work_dir(work_dir: Path | None) -> Iterator[Path]:
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        yield work_dir
        return
    with tempfile.TemporaryDirectory(prefix="footnote-eval-") as tmp:
        yield Path(tmp)


def index_key(model: str, backend: str) -> str:
    """What tells one benchmark index from another besides corpus and chunking: the model and
    its backend (torch keeps the key of the indexes made before backends)."""
    return model if backend == "torch" else f"{model}@{backend}"


def prepare_data_dir(
    work: Path, data: Path, chunking: ChunkSettings, model: str, corpus_file: str = CORPUS_FILE
) -> Path:
    """A data directory per (corpus, chunking, model) under work, its corpus linked in.

    Runs that differ only in search settings reuse one index; the build itself notices a
    changed corpus by content hash.
    """
    source = (data / corpus_file).resolve()
    if not source.is_file():
        raise ConfigError(f"benchmark corpus {source} is missing")
    key = json.dumps([str(source), chunking.as_dict(), model], sort_keys=True)
    root = work / f"index-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    corpus = root / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    link = corpus / corpus_file
    if not link.exists():
        link.symlink_to(source)
    return root / "data"


def model_throughput(
    corpus_dir: Path, embedder: Embedder, chunking: ChunkSettings, sample: int
) -> float:
    """Chunks/s of the bare model on the texts the build embeds (a random sample of them)."""
    texts = embedded_texts(corpus_dir, embedder, chunking, sample)
    if not texts:
        return 0.0
    embedder.embed(texts[:8])  # warm up
    started = time.perf_counter()
    for lo in range(0, len(texts), EMBED_BATCH):
        embedder.embed(texts[lo : lo + EMBED_BATCH])
    return len(texts) / max(time.perf_counter() - started, 1e-9)


def embedded_texts(
    corpus_dir: Path, embedder: Embedder, chunking: ChunkSettings, sample: int = 0
) -> list[str]:
    """What the build gives the model, for randomly picked articles totalling >= sample chunks."""
    articles = load_corpus(corpus_dir).articles
    random.Random(0).shuffle(articles)
    chunker = Chunker(chunking, embedder.count_tokens, embedder.max_tokens)
    texts: list[str] = []
    for article in articles:
        if sample and len(texts) >= sample:
            break
        texts.extend(embed_text(article, c.text, chunking) for c in chunker.chunk(article))
    return texts


def retrieve_all(
    retriever: Retriever, questions: Sequence[Question]
) -> tuple[dict[int, QueryScores], list[float]]:
    """Each question's scores over the top 10 passages, and each search's latency in ms."""
    if questions:
        retriever.search(questions[0].text, RETRIEVE_K)  # warm the model and the index
    scores: dict[int, QueryScores] = {}
    latencies: list[float] = []
    for q in questions:
        started = time.perf_counter()
        passages = retriever.search(q.text, RETRIEVE_K)
        latencies.append((time.perf_counter() - started) * 1000)
        scores[q.index] = score_query([p.text for p in passages], q.facts)
    return scores, latencies


def _answers(
    options: EvalOptions,
    data_dir: Path,
    embedder: Embedder,
    questions: Sequence[Question],
    log: Callable[[str], None],
) -> dict[int, Shown]:
    """Each question's shown answer text, whether an answer was found, the ms it took, what
    the answer gate weighed (for a read answer) and the short answer ("" if none)."""
    settings = load_settings(
        data_dir=data_dir,
        corpus_dir=data_dir.parent / "corpus",
        top_k=options.top_k,
        min_similarity=options.min_similarity,
        min_confidence=options.min_confidence,
    )
    service = Footnote(settings, embedder=embedder)
    log(f"answering {len(questions)} questions")
    out = {}
    for q in questions:
        started = time.perf_counter()
        answer = service.ask(q.text)
        ms = (time.perf_counter() - started) * 1000
        short = answer.short.text if answer.found and answer.short else ""
        out[q.index] = (answer.text, answer.found, ms, dict(answer.evidence), short)
    return out


def _right(q: Question, shown: Shown) -> bool:
    """A null question is answered right by abstaining; any other by showing the gold answer."""
    text, found = shown[0], shown[1]
    return not found if q.is_null else found and contains_answer(text, q.answer)


def _by_type(
    questions: Sequence[Question], scores: dict[int, QueryScores]
) -> dict[str, RetrievalScores]:
    kinds = sorted({q.kind for q in questions})
    return {k: aggregate([scores[q.index] for q in questions if q.kind == k]) for k in kinds}


def _mean(flags: Iterator[bool] | Any) -> float:
    values = [float(f) for f in flags]
    return sum(values) / len(values) if values else 0.0


def _speed(report: BuildReport, model_rate: float, latencies: list[float]) -> SpeedScores:
    build_rate = report.chunks_embedded / report.seconds if report.chunks_embedded else 0.0
    return SpeedScores(
        build_seconds=report.seconds,
        chunks=report.chunks_total,
        chunks_embedded=report.chunks_embedded,
        build_chunks_per_s=build_rate,
        model_chunks_per_s=model_rate,
        pipeline_overhead=model_rate / build_rate - 1 if build_rate and model_rate else 0.0,
        query_p50_ms=percentile(latencies, 50),
        query_p95_ms=percentile(latencies, 95),
        peak_rss_mb=peak_rss_mb(),
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# Printing and the command


def summary(result: EvalResult) -> str:
    """The figures as a few aligned lines."""
    r, s = result.retrieval, result.speed
    lines = [
        f"MultiHop-RAG {result.split}: {result.questions} questions "
        f"({r.questions} with evidence), model {result.model}",
        f"  Hits@4 {r.hits_at_4:.4f}  Hits@10 {r.hits_at_10:.4f}  "
        f"MRR@10 {r.mrr_at_10:.4f}  MAP@10 {r.map_at_10:.4f}",
    ]
    for kind, t in result.by_type.items():
        lines.append(
            f"    {kind:<18} n={t.questions:<4} Hits@4 {t.hits_at_4:.3f}  Hits@10 "
            f"{t.hits_at_10:.3f}  MRR@10 {t.mrr_at_10:.3f}  MAP@10 {t.map_at_10:.3f}"
        )
    if result.answered_questions:

        def by_kind(shares: dict[str, float]) -> str:
            return "  ".join(f"{k.removesuffix('_query')} {v:.3f}" for k, v in shares.items())

        lines += [
            f"  answer accuracy {result.answer_accuracy:.3f} over {result.answered_questions} "
            f"questions: {by_kind(result.answer_by_type)}",
            f"  short answer alone right: {by_kind(result.short_by_type)}",
            f"  null questions abstained {result.abstention:.3f} ({result.null_questions}); "
            f"ask p50 {result.ask_p50_ms:.0f} ms, p95 {result.ask_p95_ms:.0f} ms",
        ]
    if s.chunks_embedded:
        build = (
            f"  build {s.build_seconds:.1f}s for {s.chunks} chunks: {s.build_chunks_per_s:.1f} "
            f"chunks/s; model alone {s.model_chunks_per_s:.1f} chunks/s "
            f"(pipeline overhead {s.pipeline_overhead:+.1%})"
        )
    else:
        build = (
            f"  index of {s.chunks} chunks reused (--rebuild to time a build); "
            f"model alone {s.model_chunks_per_s:.1f} chunks/s"
        )
    lines += [
        build,
        f"  query latency p50 {s.query_p50_ms:.1f} ms, p95 {s.query_p95_ms:.1f} ms; "
        f"peak RSS {s.peak_rss_mb:.0f} MB; total {result.seconds:.0f}s",
    ]
    return "\n".join(lines)


Split = Annotated[str, typer.Option("--split", help="dev (tuning), test (report) or all.")]
Limit = Annotated[int | None, typer.Option("--limit", min=1, help="Only the first N questions.")]
WorkDir = Annotated[
    Path | None, typer.Option("--work-dir", help="Keep indexes here to reuse between runs.")
]
JsonPath = Annotated[Path | None, typer.Option("--json", help="Also write the results here.")]
Header = Annotated[
    bool, typer.Option("--header/--no-header", help="Embed title/outlet/date with each chunk.")
]
_DEFAULT_CHUNKING = ChunkSettings()


@eval_app.command()
def multihop(
    data: Annotated[Path, typer.Option("--data", help="The MultiHop-RAG folder.")],
    split: Split = "dev",
    limit: Limit = None,
    work_dir: WorkDir = None,
    json_path: JsonPath = None,
    chunk_tokens: Annotated[int, typer.Option(help="Chunk size in tokens.")] = (
        _DEFAULT_CHUNKING.max_tokens
    ),
    chunk_overlap: Annotated[int, typer.Option(help="Chunk overlap in tokens.")] = (
        _DEFAULT_CHUNKING.overlap_tokens
    ),
    header: Header = _DEFAULT_CHUNKING.context_header,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed even if cached.")] = False,
    encode_sample: Annotated[
        int, typer.Option(help="Chunks to time the bare model on (0: all).", min=0)
    ] = 1024,
    answers: Annotated[
        bool, typer.Option("--answers/--no-answers", help="Also score the shown answers.")
    ] = True,
) -> None:
    """Index MultiHop-RAG's corpus, run a split's questions and print the paper's metrics."""
    chunking = ChunkSettings(
        max_tokens=chunk_tokens, overlap_tokens=chunk_overlap, context_header=header
    )
    options = EvalOptions(
        data=data,
        split=split,
        limit=limit,
        work_dir=work_dir,
        chunking=chunking,
        rebuild=rebuild,
        encode_sample=encode_sample,
        answers=answers,
    )
    settings = load_settings()
    embedder = make_embedder(settings)
    result = run_multihop(options, embedder, log=lambda line: typer.echo(line, err=True))
    typer.echo(summary(result))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(result.to_json() + "\n", "utf-8")
