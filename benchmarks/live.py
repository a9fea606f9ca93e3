"""Live corpus, measured with the real bundled model: how soon a dropped file is cited.

1. Freshness: a LiveIndexer watches a temp copy of the shipped sample corpus; an invented
   article is dropped in and questions about it are asked until an answer cites it. Another
   thread keeps asking about the old articles meanwhile (about 1 question a second): every
   question asked while a build ran must be answered.
2. Incremental vs full: a temp copy of the MultiHop-RAG corpus (609 articles, one JSON file;
   it is never copied into the repository) is built once in full, then one invented article
   is added and the incremental build is timed; then freshness again, on that large index.

Run: python -m benchmarks.live [--interval 1] [--skip-large]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import load_settings
from bot.service import Footnote
from index.build import BuildReport
from index.embed import SentenceTransformerEmbedder
from index.watch import LiveIndexer

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "corpus"
MULTIHOP = Path("/work/shared/eval/multihop-rag/corpus.json")

# Invented articles (no real events): (file name, front matter + text, question, needle).
DROPS = [
    (
        "quillfield-cable-car.md",
        "Quillfield approves a cable car to the summit of Mount Ossary",
        "The Quillfield town council approved a 14 million euro cable car to the summit of "
        "Mount Ossary on Tuesday. The line will have 38 cabins and carry 900 passengers an hour.",
        "How many cabins will the Mount Ossary cable car have?",
    ),
    (
        "brinmoor-lighthouse-library.md",
        "Brinmoor lighthouse reopens as a library for sailors",
        "The old Brinmoor lighthouse reopened on Friday as a lending library for sailors. "
        "Librarian Oona Feld said the tower holds 6,500 books about navigation and the sea.",
        "How many books does the Brinmoor lighthouse library hold?",
    ),
    (
        "velder-tram-strike.md",
        "Velder tram drivers end a nine-day strike",
        "Tram drivers in Velder ended a nine-day strike on Sunday after the transport "
        "authority offered a 7 percent pay rise. Trams will run to the normal timetable on Monday.",
        "How long did the Velder tram drivers strike?",
    ),
    (
        "korvan-bee-census.md",
        "Volunteers count 212 wild bee species in the Korvan hills",
        "Volunteers counted 212 species of wild bees in the Korvan hills during a two-week "
        "census, the regional nature trust said. Four species had not been seen there since 1950.",
        "How many wild bee species were counted in the Korvan hills?",
    ),
]


def article(title: str, text: str) -> str:
    return (
        f'---\ntitle: "{title}"\nsource: "Invented Courier"\npublished_at: 2026-11-20\n'
        f'url: "https://courier.example/{title.lower().replace(" ", "-")}"\n---\n\n{text}\n'
    )


@dataclass
class Traffic:
    """A thread asking questions in a loop, recording when each was asked and how it went."""

    service: Footnote
    questions: list[str]
    pause: float = 0.5
    log: list[tuple[float, float, bool]] = field(default_factory=list)  # start, end, ok
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                ok = self.service.ask(self.questions[i % len(self.questions)]).found
            except Exception:  # counted as a failure; the benchmark reports it
                ok = False
            self.log.append((started, time.monotonic(), ok))
            i += 1
            self._stop.wait(self.pause)

    def during(self, windows: list[tuple[float, float]]) -> tuple[int, int, float]:
        """(answered, failed, slowest seconds) of questions overlapping any window."""
        hits = [
            (end - start, ok)
            for start, end, ok in self.log
            if any(start < hi and end > lo for lo, hi in windows)
        ]
        slowest = max((d for d, _ in hits), default=0.0)
        return sum(ok for _, ok in hits), sum(not ok for _, ok in hits), slowest


class TimedBuilds:
    """Wraps a rebuild callable, recording each build's time window and report."""

    def __init__(self, rebuild: Callable[[], BuildReport]) -> None:
        self._rebuild = rebuild
        self.windows: list[tuple[float, float]] = []
        self.reports: list[BuildReport] = []

    def __call__(self) -> BuildReport:
        started = time.monotonic()
        try:
            report = self._rebuild()
        finally:
            self.windows.append((started, time.monotonic()))
        self.reports.append(report)
        return report


def freshness(
    service: Footnote,
    drops: list[tuple[str, str, str, str]],
    background: list[str],
    interval: float,
    timeout: float = 300.0,
) -> None:
    """Drop each article into the watched corpus; time until an answer cites it."""
    builds = TimedBuilds(service.index)
    live = LiveIndexer(builds, service.settings.corpus_dir, interval)
    traffic = Traffic(service, background)
    live.start()
    live.wait_for_builds(1, timeout)  # the start-up check
    traffic.start()
    latencies = []
    try:
        for name, title, text, question in drops:
            url = f"https://courier.example/{title.lower().replace(' ', '-')}"
            dropped = time.monotonic()
            (service.settings.corpus_dir / name).write_text(article(title, text), "utf-8")
            while time.monotonic() - dropped < timeout:
                # Retrieval alone (one embedding) watches for the swap cheaply; the answer
                # that cites the new article is then timed.
                if any(p.url == url for p in service.search(question)) and any(
                    s.url == url for s in service.ask(question).sources
                ):
                    break
                time.sleep(0.05)
            else:
                raise SystemExit(f"{name} was not cited within {timeout:.0f}s")
            latencies.append(time.monotonic() - dropped)
            time.sleep(interval)
    finally:
        traffic.stop()
        live.stop()
    answered, failed, slowest = traffic.during(builds.windows[1:])
    build_s = [r.seconds for r in builds.reports[1:]]
    print(
        f"  drop -> first answer citing it: {', '.join(f'{x:.1f}s' for x in latencies)} "
        f"(median {statistics.median(latencies):.1f}s; watch interval {interval:g}s)"
    )
    print(f"  incremental builds: {', '.join(f'{x:.2f}s' for x in build_s)}")
    print(
        f"  questions overlapping the builds: {answered} answered, {failed} failed "
        f"(slowest {slowest:.2f}s); all questions: {len(traffic.log)}, "
        f"{sum(not ok for _, _, ok in traffic.log)} failed"
    )


def small(embedder: SentenceTransformerEmbedder, tmp: Path, interval: float) -> None:
    corpus = tmp / "small" / "corpus"
    shutil.copytree(SAMPLE, corpus)
    settings = load_settings(data_dir=tmp / "small" / "data", corpus_dir=corpus)
    service = Footnote(settings, embedder)
    report = service.index()
    print(f"sample corpus ({report.articles_total} articles, {report.chunks_total} chunks):")
    freshness(service, DROPS[:3], ["Who heads Taobao and Tmall?"], interval)


def large(embedder: SentenceTransformerEmbedder, tmp: Path, interval: float) -> None:
    corpus = tmp / "large" / "corpus"
    corpus.mkdir(parents=True)
    shutil.copy(MULTIHOP, corpus / "corpus.json")
    settings = load_settings(data_dir=tmp / "large" / "data", corpus_dir=corpus)
    service = Footnote(settings, embedder)
    full = service.index()
    print(
        f"MultiHop-RAG corpus: full build of {full.articles_total} articles "
        f"({full.chunks_total} chunks): {full.seconds:.1f}s (embedding {full.embed_seconds:.1f}s)"
    )
    name, title, text, _ = DROPS[3]
    (corpus / name).write_text(article(title, text), "utf-8")
    inc = service.index()
    print(
        f"  +1 article, incremental build: {inc.seconds:.2f}s "
        f"({inc.chunks_embedded} chunks embedded, {inc.unchanged} articles unchanged); "
        f"incremental/full = {inc.seconds / full.seconds:.4f} "
        f"(full is {full.seconds / inc.seconds:.0f}x slower)"
    )
    print("  live, on the 610-article index:")
    background = ["What did Amazon offer on Cyber Monday?", "Who is the CEO of OpenAI?"]
    freshness(service, DROPS[:2], background, interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=1.0, help="watch interval, seconds")
    parser.add_argument("--skip-large", action="store_true", help="skip the 609-article part")
    parser.add_argument("--model-cache", type=Path, default=None, help="unpacked model cache")
    args = parser.parse_args()
    started = time.monotonic()
    embedder = SentenceTransformerEmbedder(cache_dir=args.model_cache)
    print(f"model {embedder.name} loaded in {time.monotonic() - started:.1f}s")
    with tempfile.TemporaryDirectory(prefix="footnote-live-") as name:
        tmp = Path(name)
        small(embedder, tmp, args.interval)
        if not args.skip_large:
            large(embedder, tmp, args.interval)


if __name__ == "__main__":
    main()
