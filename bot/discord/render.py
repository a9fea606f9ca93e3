"""Pure functions from answers, statuses and build reports to Discord payload pieces.

Everything here fits Discord's limits (a payload over any of them gets a 400 Bad Request) and
touches no network: the bot (app.py) sends what these return.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import discord

from bot.answer import Answer, Source
from bot.links import quote_link
from bot.news import NewsItem
from bot.service import Status
from index.articles import display_date
from index.build import BuildReport
from index.intake import Staged
from index.store import ArticleRecord

# Discord's limits: a payload over any of them gets a 400 Bad Request.
CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELD_NAME_LIMIT = 256
EMBED_FIELD_VALUE_LIMIT = 1024
EMBED_FIELDS_LIMIT = 25
EMBED_FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
BUTTON_LABEL_LIMIT = 80
BUTTON_URL_LIMIT = 512
BUTTONS_PER_ROW = 5
ROWS_LIMIT = 5
THREAD_NAME_LIMIT = 100

# More sources than this make an answer unreadable; the rest stay reachable with /source.
MAX_SOURCE_FIELDS = 10
NEWS_PER_PAGE = 5
ELLIPSIS = "…"

FOUND_COLOUR = discord.Colour.blurple()
NOT_FOUND_COLOUR = discord.Colour.light_grey()


def clip(text: str, limit: int) -> str:
    """text, cut to at most limit characters at a word boundary, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit]
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + ELLIPSIS


def is_web_url(url: str) -> bool:
    """Only http(s) urls become links: Discord rejects other schemes in buttons and embeds."""
    return bool(re.match(r"https?://[^\s/]+", url or "")) and len(url) <= BUTTON_URL_LIMIT


def source_link(source: Source, limit: int = BUTTON_URL_LIMIT) -> str | None:
    """The source's web link, opening at its quote (a text fragment) when the link fits in
    limit characters, else its plain url; None when it is not an http(s) url."""
    if not is_web_url(source.url):
        return None
    link = quote_link(source.url, source.snippet)
    return link if len(link) <= min(limit, BUTTON_URL_LIMIT) else source.url


def embed_length(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards an embed's 6,000 total."""
    fields = embed.get("fields", [])
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + len(embed.get("footer", {}).get("text", ""))
        + len(embed.get("author", {}).get("name", ""))
        + sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields)
    )


def verbatim(text: str) -> str:
    """Article text shown verbatim: markdown characters escaped, whitespace folded."""
    return discord.utils.escape_markdown(" ".join(text.split()))


def short_answer_line(answer: Answer) -> str:
    """The short answer in bold ("**Squid Game** [1]", "**Yes**: reasoning"), or ""."""
    short = answer.short
    if not answer.found or short is None:
        return ""
    if short.kind == "span":
        dated = f" ({answer.dated})" if answer.dated else ""
        return f"**{verbatim(short.text)}** [{short.n}]{dated}"
    reasoning = f": {verbatim(short.reasoning)}" if short.reasoning else ""
    return f"**{short.text}**{reasoning}"


def note_line(answer: Answer) -> str | None:
    """The one line saying that a generated answer was tried and the quotes are shown instead."""
    return clip(f"ℹ️ {answer.note}", CONTENT_LIMIT) if answer.note else None


def answer_description(answer: Answer, limit: int = EMBED_DESCRIPTION_LIMIT) -> str:
    """The short answer in bold (or the generated answer, each sentence checked), then the
    answer's claims with [n] markers; whole claims are dropped from the end to fit limit."""
    if answer.generated:
        head = clip(verbatim(answer.generated_text), limit // 2) + "\n\n**Quotes**\n"
        if not answer.claims:
            return head.split("\n\n")[0]
        return head + _claims(answer, limit - len(head))
    if not answer.found or not answer.claims:
        return clip(answer.text, limit)
    head = short_answer_line(answer)
    if head:
        head = clip(head, limit // 4) + "\n\n"
        limit -= len(head)
    return head + _claims(answer, limit)


def _claims(answer: Answer, limit: int) -> str:
    sentences = [f"{verbatim(c.shown)} [{c.n}]" for c in answer.claims]
    for keep in range(len(sentences), 0, -1):
        text = " ".join(sentences[:keep]) + _trimmed_note(len(sentences) - keep)
        if len(text) <= limit:
            return text
    # Even the first claim alone is too long: cut its words, keep its citation.
    first = answer.claims[0]
    marker, note = f" [{first.n}]", _trimmed_note(len(sentences) - 1)
    return clip(verbatim(first.shown), max(limit - len(marker) - len(note), 1)) + marker + note


def _trimmed_note(dropped: int) -> str:
    if not dropped:
        return ""
    return f"\n{ELLIPSIS} {dropped} more cited sentence{'s' if dropped != 1 else ''} not shown."


def source_field(source: Source, value_limit: int = EMBED_FIELD_VALUE_LIMIT) -> dict[str, Any]:
    """One source as an embed field: title, outlet, date, link and the quoted snippet."""
    name = clip(f"[{source.n}] {source.title or source.article_id}", EMBED_FIELD_NAME_LIMIT)
    lines = []
    meta = " · ".join(p for p in (source.source, source.date) if p)
    if meta:
        lines.append(f"*{verbatim(meta)}*")
    link = source_link(source, value_limit // 2)  # the quote keeps at least half the room
    if link:
        lines.append(f"<{link}>")
    head = "\n".join(lines)
    room = value_limit - len(head) - (1 if head else 0) - len("> “”")
    quote = f"> “{clip(verbatim(source.snippet), max(room, 1))}”"
    value = f"{head}\n{quote}" if head else quote
    return {"name": name, "value": value[:value_limit], "inline": False}


def answer_embed(answer: Answer) -> discord.Embed:
    """The answer as one embed within Discord's limits: claims with [n], one field per source."""
    shown = answer.sources[:MAX_SOURCE_FIELDS]
    title = clip(answer.question, EMBED_TITLE_LIMIT)
    footer = ""
    if shown:
        footer = "Press a Passage button to read a cited passage in full (or use /source n)."
        if len(answer.sources) > len(shown):
            footer += f" {len(answer.sources) - len(shown)} more source(s): /source n."
        if not answer.found:
            footer = "The nearest passages may not answer it. " + footer
    short = answer.short
    if answer.found and short is not None and short.score is not None:
        sure = short.score - (short.no_answer or 0.0)
        read = f"The short answer was read by Footnote's reader ({sure:+.1f} over no answer)."
        footer = f"{read}\n{footer}" if footer else read
    if answer.read_as:  # a follow-up: how its references were read
        footer = clip(f"Read as: {answer.read_as}", 600) + (f"\n{footer}" if footer else "")
    # The 6,000-character total is shared: the answer keeps at least 1,500 of it.
    fixed = len(title) + len(footer) + 50
    names = sum(len(source_field(s, 32)["name"]) for s in shown)
    per_field = EMBED_FIELD_VALUE_LIMIT
    if shown:
        per_field = min(per_field, (EMBED_TOTAL_LIMIT - fixed - 1500 - names) // len(shown))
    fields = [source_field(s, max(per_field, 64)) for s in shown]
    used = fixed + sum(len(f["name"]) + len(f["value"]) for f in fields)
    description = answer_description(answer, min(EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - used))
    embed = discord.Embed(
        title=title,
        description=description,
        colour=FOUND_COLOUR if answer.found else NOT_FOUND_COLOUR,
    )
    for field in fields:
        embed.add_field(**field)
    if footer:
        embed.set_footer(text=footer)
    return embed


def passage_embed(source: Source) -> discord.Embed:
    """A cited passage in full, the quoted sentence in bold."""
    rel_start = source.snippet_start - source.passage_start
    rel_end = source.snippet_end - source.passage_start
    text = source.passage
    if not 0 <= rel_start <= rel_end <= len(text):
        rel_start = rel_end = 0
    before, quoted, after = text[:rel_start], text[rel_start:rel_end], text[rel_end:]
    esc = discord.utils.escape_markdown
    bold = f"**{esc(quoted.strip())}**" if quoted.strip() else ""
    body = f"{esc(before)}{bold}{esc(after)}".strip()
    if len(body) > EMBED_DESCRIPTION_LIMIT:
        # Keep the quoted sentence in view: trim around it, not from its end.
        head = clip(esc(before)[::-1], 1200)[::-1] if before else ""
        body = clip(f"{head}{bold}{esc(after)}", EMBED_DESCRIPTION_LIMIT)
    embed = discord.Embed(
        title=clip(f"[{source.n}] {source.title or source.article_id}", EMBED_TITLE_LIMIT),
        description=body,
        url=source_link(source),
        colour=FOUND_COLOUR,
    )
    if source.source:
        embed.add_field(name="Outlet", value=clip(source.source, 200), inline=True)
    if source.date:
        embed.add_field(name="Published", value=source.date, inline=True)
    embed.set_footer(
        text=clip(
            f"{source.article_id}, characters {source.passage_start}-{source.passage_end}",
            EMBED_FOOTER_LIMIT,
        )
    )
    return embed


def news_pages(items: int, per_page: int = NEWS_PER_PAGE) -> int:
    """How many pages items take (at least one)."""
    return max(1, -(-items // per_page))


def news_embed(
    topic: str, items: Sequence[NewsItem], page: int, per_page: int = NEWS_PER_PAGE
) -> discord.Embed:
    """Page page (from 0) of what's new about topic: one field per article, as a source field
    (headline, outlet · date, the link that opens at the quote, the quoted lead)."""
    pages = news_pages(len(items), per_page)
    shown = items[page * per_page : (page + 1) * per_page]
    title = clip(f"What's new: {topic}", EMBED_TITLE_LIMIT)
    description = "The newest indexed articles about it, newest first, each with its lead."
    footer = f"Newest first · page {page + 1} of {pages}. Links open at the quoted sentence."
    fixed = len(title) + len(description) + len(footer)
    names = sum(len(source_field(item.source, 32)["name"]) for item in shown)
    per_field = EMBED_FIELD_VALUE_LIMIT
    if shown:
        per_field = min(per_field, (EMBED_TOTAL_LIMIT - fixed - names) // len(shown))
    embed = discord.Embed(title=title, description=description, colour=FOUND_COLOUR)
    for item in shown:
        embed.add_field(**source_field(item.source, max(per_field, 64)))
    embed.set_footer(text=footer)
    return embed


def status_text(status: Status) -> str:
    built = status.built_at
    try:
        when = datetime.fromisoformat(built)
        built = f"{discord.utils.format_dt(when, 'f')} ({discord.utils.format_dt(when, 'R')})"
    except ValueError:
        pass
    return clip(
        f"**{status.articles:,}** articles, **{status.chunks:,}** passages indexed.\n"
        f"Last build: {built}, model `{status.model}`.",
        CONTENT_LIMIT,
    )


def report_text(report: BuildReport) -> str:
    lines = [
        f"Index updated: **{report.added}** added, **{report.updated}** updated, "
        f"**{report.removed}** removed, {report.unchanged} unchanged articles; "
        f"{report.chunks_embedded} passages embedded.",
        f"The index now holds **{report.articles_total:,}** articles, "
        f"**{report.chunks_total:,}** passages.",
    ]
    if report.errors:
        shown = "\n".join(f"- {clip(str(e), 200)}" for e in report.errors[:5])
        more = f"\n…and {len(report.errors) - 5} more" if len(report.errors) > 5 else ""
        lines.append(f"{len(report.errors)} file(s) skipped:\n{shown}{more}")
    return clip("\n".join(lines), CONTENT_LIMIT)


def added_text(staged: Staged, report: BuildReport, records: Sequence[ArticleRecord]) -> str:
    """What /add did: the article(s) added, their passages, and the index's new totals."""
    parts = []
    for record in records:
        meta = " · ".join(p for p in (record.source, display_date(record.published)) if p)
        parts.append(
            f"**{verbatim(clip(record.title, 200))}**"
            + (f" ({verbatim(meta)})" if meta else "")
            + f": {record.chunks} passage{'s' if record.chunks != 1 else ''}"
        )
    head = f"Added to the corpus as `{staged.rel}` and indexed:"
    lines = [head, *(f"- {p}" for p in parts[:10])]
    if len(parts) > 10:
        lines.append(f"…and {len(parts) - 10} more articles.")
    lines.append(
        f"The index now holds **{report.articles_total:,}** articles, "
        f"**{report.chunks_total:,}** passages."
    )
    return clip("\n".join(lines), CONTENT_LIMIT)
