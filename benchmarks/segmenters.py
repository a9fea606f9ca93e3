"""How well sentence splitters find the sentences of real news: MultiHop-RAG's gold facts.

Every gold evidence fact of MultiHop-RAG is a verbatim run of whole sentences of its article.
A splitter that cuts news text well puts a boundary where each fact starts and where it ends
(and none inside a one-sentence fact). Measured for Footnote's own splitters
(index.sentences.segments, and the chunker's sentence_spans) and, when installed, pysbd
(`pip install pysbd`).

    python -m benchmarks.segmenters --data ../shared/eval/multihop-rag
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from index.sentences import segments, sentence_spans

Splitter = Callable[[str], list[tuple[int, int]]]


def ours(text: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in segments(text)]


def plain(text: str) -> list[tuple[int, int]]:
    """The chunker's splitter, without segments()' label joining."""
    return [(s.start, s.end) for s in sentence_spans(text)]


def pysbd_splitter() -> Splitter | None:
    try:
        import pysbd
    except ImportError:
        return None
    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)

    def split(text: str) -> list[tuple[int, int]]:
        return [(s.start, s.end) for s in seg.segment(text)]

    return split


def score(split: Splitter, facts: list[tuple[str, str]]) -> tuple[float, float, float]:
    """(facts whose start and end are boundaries, one-sentence facts left whole, seconds)."""
    started = time.perf_counter()
    cache: dict[str, set[int]] = {}
    aligned = whole = single = 0
    for body, fact in facts:
        if body not in cache:
            edges: set[int] = set()
            for a, b in split(body):
                # Boundaries compare after trimming whitespace, as spans are trimmed.
                edges.add(len(body[:a].rstrip()))
                edges.add(len(body[:b].rstrip()))
            cache[body] = edges
        start = body.find(fact)
        end = start + len(fact)
        edges = cache[body]
        ok = len(body[:start].rstrip()) in edges and len(body[:end].rstrip()) in edges
        aligned += ok
        if fact.count(". ") == 0:  # a one-sentence fact should not be cut inside
            single += 1
            inside = [e for e in edges if len(body[:start].rstrip()) < e < end - 1]
            whole += ok and not inside
    seconds = time.perf_counter() - started
    return aligned / len(facts), whole / max(single, 1), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="The MultiHop-RAG folder.")
    args = parser.parse_args()
    bodies = {a["url"]: a["body"] for a in json.loads((args.data / "corpus.json").read_text())}
    facts = []
    for q in json.loads((args.data / "MultiHopRAG.json").read_text()):
        for e in q["evidence_list"]:
            body = bodies.get(e["url"], "")
            if e["fact"] and e["fact"] in body:
                facts.append((body, e["fact"]))
    facts = list(dict.fromkeys(facts))
    print(f"{len(facts)} distinct gold facts in {len({b for b, _ in facts})} articles")
    splitters: list[tuple[str, Splitter | None]] = [
        ("segments", ours),
        ("spans", plain),
        ("pysbd", pysbd_splitter()),
    ]
    for name, split in splitters:
        if split is None:
            print(f"{name:10s} not installed")
            continue
        aligned, whole, seconds = score(split, facts)
        print(
            f"{name:10s} fact edges on boundaries {aligned:.3f}; one-sentence facts whole "
            f"{whole:.3f}; {seconds:.1f}s"
        )


if __name__ == "__main__":
    main()
