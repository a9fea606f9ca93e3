"""`footnote eval realtimeqa`: end-to-end answers on news-quiz questions over full articles.

The benchmark folder holds corpus.jsonl (articles) and questions.jsonl (answerable questions
with accepted answers and gold articles, and unanswerable ones). Its corpus is indexed through
the product's own build and every question goes through Footnote.ask; the metrics are the
folder README's: accuracy (the shown answer contains an accepted answer), the same with the
gold article cited, false abstention, abstention on unanswerable questions, verbatim citations.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.answer import Answer, when
from bot.config import load_settings
from bot.eval import (
    _work_dir,
    contains_answer,
    eval_app,
    peak_rss_mb,
    percentile,
    prepare_data_dir,
)
from bot.service import Footnote, make_embedder
from index.build import build_index
from index.chunk import ChunkSettings
from index.embed import Embedder
from index.errors import ConfigError

CORPUS = "corpus.jsonl"
QUESTIONS = "questions.jsonl"


@dataclass(frozen=True)
class QuizQuestion:
    id: str
    text: str
    answers: tuple[str, ...]
    answerable: bool
    gold_urls: frozenset[str]
    week: date | None = None  # the day the question was asked (the quiz's Friday)


def load_quiz(data: Path) -> list[QuizQuestion]:
    """The benchmark's questions, their gold articles named by url (as the index names them).

    Raises:
        ConfigError: a benchmark file is missing or unreadable.
    """
    urls = {row["id"]: row["url"] for row in _jsonl(data / CORPUS)}
    return [
        QuizQuestion(
            id=row["id"],
            text=row["question"],
            answers=tuple(row["answers"]),
            answerable=bool(row["answerable"]),
            gold_urls=frozenset(urls[g] for g in row["gold_article_ids"] if g in urls),
            week=date.fromisoformat(row["week"]) if row.get("week") else None,
        )
        for row in _jsonl(data / QUESTIONS)
    ]


def _jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    except FileNotFoundError as exc:
        raise ConfigError(f"benchmark file {path} is missing") from exc
    except ValueError as exc:
        raise ConfigError(f"benchmark file {path} is not valid JSON lines: {exc}") from exc


@dataclass(frozen=True)
class Outcome:
    """What Footnote showed for one question, judged."""

    id: str
    question: str
    answerable: bool
    found: bool
    correct: bool  # the shown answer contains an accepted answer
    gold_cited: bool  # ... in a quote (or short answer) citing a gold article
    short_correct: bool  # the short answer alone contains an accepted answer
    short_shown: bool  # a short answer was shown at all
    verbatim: bool
    shown: str
    kind: str
    ms: float
    # The question speaks of a time relative to its date ("this week", "recently").
    windowed: bool = False
    # What a read answer rests on, its reader margin among it (Answer.evidence).
    evidence: dict[str, float] = field(default_factory=dict)


def judge(q: QuizQuestion, answer: Answer, articles: Callable[[str], str], ms: float) -> Outcome:
    """Score one answer; articles(article_id) gives the full text to check quotes against."""
    shown = answer.text if answer.found else ""
    correct = answer.found and any(contains_answer(shown, a) for a in q.answers)
    cited = False
    if answer.found:
        pieces = [(c.text, answer.source(c.n)) for c in answer.claims]
        if answer.short is not None and answer.short.kind == "span":
            pieces.append((answer.short.text, answer.source(answer.short.n)))
        cited = any(
            src is not None
            and src.url in q.gold_urls
            and any(contains_answer(text, a) for a in q.answers)
            for text, src in pieces
        )
    short = answer.short.text if answer.found and answer.short else ""
    return Outcome(
        id=q.id,
        question=q.text,
        answerable=q.answerable,
        found=answer.found,
        correct=correct,
        gold_cited=cited,
        short_correct=bool(short) and any(contains_answer(short, a) for a in q.answers),
        short_shown=bool(short),
        verbatim=all(
            articles(s.article_id)[s.snippet_start : s.snippet_end] == s.snippet
            for s in answer.sources
        ),
        shown=answer.text,
        kind=answer.kind,
        ms=ms,
        windowed=q.week is not None and when.window(q.text, q.week) is not None,
        evidence=dict(answer.evidence),
    )


@dataclass(frozen=True)
class QuizResult:
    answerable: int
    unanswerable: int
    accuracy: float
    accuracy_gold_cited: float
    short_answer_accuracy: float
    # Of the answerable questions shown a short answer, the share where it holds an accepted
    # answer; and the share of unanswerable questions shown one (always wrong).
    short_answer_precision: float
    short_answer_on_unanswerable: float
    false_abstention: float
    abstention: float
    citations_verbatim: float
    ask_p50_ms: float
    ask_p95_ms: float
    peak_rss_mb: float
    outcomes: list[Outcome] = field(default_factory=list)
    # The same three figures on the questions that speak of a relative time ("this week").
    windowed_accuracy: float = 0.0
    windowed_false_abstention: float = 0.0
    windowed_abstention: float = 0.0
    windowed: tuple[int, int] = (0, 0)  # (answerable, unanswerable) such questions

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


def score_quiz(outcomes: Sequence[Outcome]) -> QuizResult:
    yes = [o for o in outcomes if o.answerable]
    no = [o for o in outcomes if not o.answerable]
    ms = [o.ms for o in outcomes]
    return QuizResult(
        answerable=len(yes),
        unanswerable=len(no),
        accuracy=_share(o.correct for o in yes),
        accuracy_gold_cited=_share(o.gold_cited for o in yes),
        short_answer_accuracy=_share(o.short_correct for o in yes),
        short_answer_precision=_share(o.short_correct for o in yes if o.short_shown),
        short_answer_on_unanswerable=_share(o.short_shown for o in no),
        false_abstention=_share(not o.found for o in yes),
        abstention=_share(not o.found for o in no),
        citations_verbatim=_share(o.verbatim for o in outcomes),
        ask_p50_ms=percentile(ms, 50),
        ask_p95_ms=percentile(ms, 95),
        peak_rss_mb=peak_rss_mb(),
        outcomes=list(outcomes),
        windowed_accuracy=_share(o.correct for o in yes if o.windowed),
        windowed_false_abstention=_share(not o.found for o in yes if o.windowed),
        windowed_abstention=_share(not o.found for o in no if o.windowed),
        windowed=(sum(o.windowed for o in yes), sum(o.windowed for o in no)),
    )


def _share(flags: Any) -> float:
    values = [bool(f) for f in flags]
    return sum(values) / len(values) if values else 0.0


def index_quiz_corpus(
    data: Path, embedder: Embedder, work: Path, log: Callable[[str], None] = lambda _: None
) -> tuple[Path, Path]:
    """Index the benchmark's corpus.jsonl under work (reused when unchanged); returns the data
    and corpus directories a Footnote settings object takes."""
    chunking = ChunkSettings()
    data_dir = prepare_data_dir(work, data, chunking, embedder.name, corpus_file=CORPUS)
    corpus_dir = data_dir.parent / "corpus"
    log(f"indexing {data / CORPUS} into {data_dir}")
    build_index(corpus_dir, data_dir, embedder, chunking)
    return data_dir, corpus_dir


def run_quiz(
    data: Path,
    embedder: Embedder,
    work_dir: Path | None = None,
    top_k: int | None = None,
    log: Callable[[str], None] = lambda _: None,
    dated: bool = True,
) -> QuizResult:
    """Index the benchmark corpus, ask every question through Footnote and score the answers;
    dated: each question asked on its week's date (else with no date)."""
    questions = load_quiz(data)
    with _work_dir(work_dir) as work:
        data_dir, corpus_dir = index_quiz_corpus(data, embedder, work, log)
        settings = load_settings(data_dir=data_dir, corpus_dir=corpus_dir, top_k=top_k)
        service = Footnote(settings, embedder=embedder)
        texts: dict[str, str] = {}

        def article(article_id: str) -> str:
            if article_id not in texts:
                texts[article_id] = service.article(article_id).text
            return texts[article_id]

        service.ask(questions[0].text)  # warm up
        log(f"asking {len(questions)} questions")
        outcomes = []
        for q in questions:
            started = time.perf_counter()
            answer = service.ask(q.text, as_of=q.week if dated else None)
            ms = (time.perf_counter() - started) * 1000
            outcomes.append(judge(q, answer, article, ms))
    return score_quiz(outcomes)


def quiz_summary(result: QuizResult) -> str:
    r = result
    return "\n".join(
        [
            f"RealTimeQA dev: {r.answerable} answerable, {r.unanswerable} unanswerable questions",
            f"  accuracy {r.accuracy:.3f} (gold article cited {r.accuracy_gold_cited:.3f}; "
            f"short answer alone {r.short_answer_accuracy:.3f})",
            f"  false abstention {r.false_abstention:.3f}; abstention on unanswerable "
            f"{r.abstention:.3f}",
            f"  short answer shown: right {r.short_answer_precision:.3f} of the times on "
            f"answerable questions; shown on {r.short_answer_on_unanswerable:.3f} of unanswerable",
            f"  questions about a relative time ({r.windowed[0]} answerable, {r.windowed[1]} "
            f"unanswerable): accuracy {r.windowed_accuracy:.3f}, false abstention "
            f"{r.windowed_false_abstention:.3f}, abstention {r.windowed_abstention:.3f}",
            f"  citations verbatim {r.citations_verbatim:.3f}; ask p50 {r.ask_p50_ms:.0f} ms, "
            f"p95 {r.ask_p95_ms:.0f} ms; peak RSS {r.peak_rss_mb:.0f} MB",
        ]
    )


@eval_app.command()
def realtimeqa(
    data: Annotated[Path, typer.Option("--data", help="The realtimeqa-dev folder.")],
    work_dir: Annotated[
        Path | None, typer.Option("--work-dir", help="Keep the index here to reuse between runs.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the results (every answer) here.")
    ] = None,
    k: Annotated[int | None, typer.Option("-k", min=1, max=20, help="Passages per answer.")] = None,
    dates: Annotated[
        bool,
        typer.Option(
            "--dates/--no-dates", help="Ask each question on its week's date, or with none."
        ),
    ] = True,
) -> None:
    """Answer RealTimeQA's news-quiz questions end to end and print accuracy and abstention."""
    settings = load_settings()
    embedder = make_embedder(settings)
    result = run_quiz(
        data, embedder, work_dir, k, log=lambda line: typer.echo(line, err=True), dated=dates
    )
    typer.echo(quiz_summary(result))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(result.to_json() + "\n", "utf-8")
