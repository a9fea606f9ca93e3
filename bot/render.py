"""Answers as plain terminal text (the CLI's view; the bot has its own)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from bot.answer import Answer, Source
from bot.links import quote_link
from bot.news import NewsItem


def answer_text(answer: Answer, width: int = 100, show: str = "footnote show N") -> str:
    """The answer, its quotes and sources; show is the command that opens a cited passage."""
    lines = [textwrap.fill(f"Read as: {answer.read_as}", width), ""] if answer.read_as else []
    if answer.note:  # generation was tried and failed: said in one line
        lines += [textwrap.fill(f"Note: {answer.note}", width), ""]
    if answer.generated:
        lines += [textwrap.fill(f"Answer: {answer.generated_text}", width), ""]
        lines += ["Supporting quotes:", textwrap.fill(answer.quotes, width)]
    elif answer.found and answer.short is not None:
        dated = f" ({answer.dated})" if answer.dated else ""
        lines += [textwrap.fill(f"Answer: {answer.short.line}{dated}", width), ""]
        lines.append(textwrap.fill(answer.quotes, width))
    else:
        lines.append(textwrap.fill(answer.text, width))
    if answer.sources:
        lines += ["", "Sources:" if answer.found else "Nearest sources (they may not answer it):"]
    for s in answer.sources:
        lines.append(f"[{s.n}] {s.label()}")
        if s.url:
            lines.append(f"    {quote_link(s.url, s.snippet)}")
        lines.append(textwrap.indent(textwrap.fill(f"“{s.snippet}”", width - 4), "    "))
    if answer.sources:
        lines += ["", f"See a cited passage in full: {show}"]
    return "\n".join(lines)


def passage_text(source: Source, width: int = 100) -> str:
    """The whole cited passage, the quoted snippet marked with »…«."""
    rel_start = source.snippet_start - source.passage_start
    rel_end = source.snippet_end - source.passage_start
    body = source.passage
    if 0 <= rel_start <= rel_end <= len(body):
        body = f"{body[:rel_start]}»{body[rel_start:rel_end]}«{body[rel_end:]}"
    head = [f"[{source.n}] {source.label()}"]
    if source.url:
        head.append(quote_link(source.url, source.snippet))
    head.append(
        f"article {source.article_id}, characters {source.passage_start}-{source.passage_end}"
    )
    paragraphs = [textwrap.fill(p, width) for p in body.split("\n") if p.strip()]
    return "\n".join(head) + "\n\n" + "\n\n".join(paragraphs)


def news_text(items: Sequence[NewsItem], width: int = 100) -> str:
    """What's new, newest first: each article's headline, outlet and date, the link that opens
    it at the quote, and its lead quoted, cited [n]."""
    blocks = []
    for item in items:
        s = item.source
        lines = [f"[{s.n}] {s.label()}"]
        if item.link:
            lines.append(f"    {item.link}")
        lines.append(textwrap.indent(textwrap.fill(f"“{s.snippet}”", width - 4), "    "))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
