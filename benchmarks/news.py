"""What's new (`footnote news`, `/news`) on the RealTimeQA dev corpus: verbatim, ordered, fast.

    python -m benchmarks.news --data ../shared/eval/realtimeqa-dev [--work-dir DIR]

The corpus is indexed as `footnote eval realtimeqa` indexes it (reused from --work-dir). Then
whats_new runs for 20 topics the corpus reports on and 10 it does not (hand-picked, below;
found in no article, or named once in passing),
as of each quiz week of the questions (its Friday), over all time and over the 30 days before
it. Printed:
- items returned, and how many lists were empty;
- verbatim: every quote is the article's text at the quote's offsets, and every headline,
  outlet and date the article's own (must be 1.000);
- newest first: each list's dates never rise, undated last (must be 1.000); inside the window:
  nothing after the as-of date or before the since date (must be 1.000);
- off-topic: the share of the other topics' lists that are empty ("Nothing indexed about X");
- named: the share of items whose headline or quoted lead holds every word of the topic (a
  rough look at relevance: an article can be about the topic and its lead not name it);
- whats_new latency p50 / p95, warm.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from bot.answer.question import words_of
from bot.config import load_settings
from bot.eval_realtimeqa import index_quiz_corpus, load_quiz
from bot.news import NewsItem, whats_new
from bot.service import Footnote, make_embedder

TOPICS = (
    "gas prices",
    "monkeypox",
    "Sri Lanka",
    "Ukraine",
    "Taiwan",
    "Toyota recall",
    "Star Trek",
    "James Webb telescope",
    "Stanley Cup",
    "inflation",
    "earthquake",
    "student loans",
    "Covid vaccines for children",
    "abortion",
    "January 6 hearings",
    "Finland and Sweden joining NATO",
    "Jill Biden",
    "Mar-a-Lago search",
    "Emmy nominations",
    "Spirit Airlines",
)
# Named at most once in passing in the corpus's 204 articles (the first four), or never.
OFF_TOPICS = (
    "cryptocurrency",
    "Formula One racing",
    "Brexit",
    "Elon Musk",
    "quantum computing",
    "Mars rover",
    "Tour de France",
    "Bundesliga",
    "bird flu",
    "Mount Everest",
)
LIMIT = 10
WINDOW_DAYS = 30


def _checks(service: Footnote, items: Sequence[NewsItem]) -> tuple[int, bool]:
    """(items whose every shown line is the article's own, whether the list is newest first)."""
    verbatim = 0
    for item in items:
        s = item.source
        record = service.article(s.article_id)
        quote_ok = record.text[s.snippet_start : s.snippet_end] == s.snippet
        passage_ok = record.text[s.passage_start : s.passage_end] == s.passage
        meta_ok = (s.title, s.source, s.published) == (
            record.title,
            record.source,
            record.published,
        )
        verbatim += quote_ok and passage_ok and meta_ok
    days = [i.source.date for i in items]
    dated = [d for d in days if d]
    ordered = dated == sorted(dated, reverse=True) and days == dated + [""] * (
        len(days) - len(dated)
    )
    ordered = ordered and [i.source.n for i in items] == list(range(1, len(items) + 1))
    return verbatim, ordered


def _inside(items: Sequence[NewsItem], since: date | None, as_of: date) -> bool:
    for item in items:
        day = item.source.date
        if not day:
            if since is not None:
                return False
            continue
        if day > as_of.isoformat() or (since is not None and day < since.isoformat()):
            return False
    return True


def _named(topic: str, items: Sequence[NewsItem]) -> int:
    asked = words_of(topic)
    return sum(asked <= words_of(f"{i.source.title} {i.source.snippet}") for i in items)


def run(data: Path, work: Path) -> str:
    settings = load_settings()
    embedder = make_embedder(settings)
    data_dir, corpus_dir = index_quiz_corpus(data, embedder, work, log=_err)
    service = Footnote(load_settings(data_dir=data_dir, corpus_dir=corpus_dir), embedder=embedder)
    weeks = sorted({q.week for q in load_quiz(data) if q.week})
    windows: list[tuple[date | None, date]] = [(None, week) for week in weeks]
    windows += [(week - timedelta(days=WINDOW_DAYS), week) for week in weeks]
    whats_new(service, TOPICS[0], since=None, as_of=weeks[-1], limit=LIMIT)  # warm up

    ms: list[float] = []
    found_off: set[str] = set()
    items_total = on_items = verbatim = ordered = inside = named = empty = off_empty = lists = 0
    for topics, on_topic in ((TOPICS, True), (OFF_TOPICS, False)):
        for topic in topics:
            for since, as_of in windows:
                started = time.perf_counter()
                items = whats_new(service, topic, since=since, as_of=as_of, limit=LIMIT)
                ms.append((time.perf_counter() - started) * 1000)
                good, in_order = _checks(service, items)
                items_total += len(items)
                verbatim += good
                lists += 1
                ordered += in_order
                inside += _inside(items, since, as_of)
                if on_topic:
                    on_items += len(items)
                    empty += not items
                    named += _named(topic, items)
                else:
                    off_empty += not items
                    if items:
                        found_off.add(topic)
    on_lists = len(TOPICS) * len(windows)
    q = statistics.quantiles(ms, n=20)
    articles = service.status().articles
    return "\n".join(
        [
            f"What's new on RealTimeQA dev ({articles} articles): {len(TOPICS)} topics + "
            f"{len(OFF_TOPICS)} off-topic, as of {len(weeks)} quiz weeks, over all time and "
            f"the {WINDOW_DAYS} days before: {lists} lists of at most {LIMIT}",
            f"  items returned {items_total} ({items_total / lists:.1f} a list); on-topic lists "
            f"empty {empty}/{on_lists}",
            f"  verbatim {verbatim / max(items_total, 1):.3f} (quote and passage at their "
            "offsets; headline, outlet, date the article's own)",
            f"  newest first {ordered / lists:.3f}; inside the window {inside / lists:.3f}",
            f"  off-topic lists empty {off_empty / (lists - on_lists):.3f}"
            + (f" (not: {', '.join(sorted(found_off))})" if found_off else ""),
            f"  headline or lead names every topic word {named / max(on_items, 1):.3f}",
            f"  whats_new p50 {statistics.median(ms):.0f} ms, p95 {q[18]:.0f} ms",
        ]
    )


def _err(line: str) -> None:
    print(line, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="The realtimeqa-dev folder.")
    parser.add_argument("--work-dir", type=Path, help="Keep the index here to reuse it.")
    args = parser.parse_args(argv)
    if args.work_dir is not None:
        print(run(args.data, args.work_dir))
        return
    with tempfile.TemporaryDirectory() as work:
        print(run(args.data, Path(work)))


if __name__ == "__main__":
    main()
