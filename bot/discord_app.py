"""The Discord bot: slash commands, mentions, and buttons that open cited passages.

Everything Discord-shaped lives here; answers come from bot.service.Footnote, which is blocking
and therefore always runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import signal
import sqlite3
import time
from collections.abc import Callable, Coroutine, Sequence
from contextlib import closing, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.answer import Answer, Source
from bot.config import Settings
from bot.service import Footnote, Status
from index.build import BuildReport
from index.errors import (
    ConfigError,
    FootnoteError,
    IndexLockedError,
    NotFoundError,
    QuestionError,
)
from index.intake import IntakeError, Staged, check_upload, check_url, stage_file, stage_page
from index.search import clean_question
from index.store import ArticleRecord

log = logging.getLogger(__name__)

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
ELLIPSIS = "…"

FOUND_COLOUR = discord.Colour.blurple()
NOT_FOUND_COLOUR = discord.Colour.light_grey()
APOLOGY = "Sorry, something went wrong on my side while doing that. Please try again later."

# A long /reindex or /add edits its reply with counts this often (seconds).
PROGRESS_SECONDS = 3.0
# How long a /reindex or /add waits for a build already running (e.g. the corpus watcher's).
BUILD_WAIT_SECONDS = 300.0

BackgroundTask = Callable[["FootnoteBot"], Coroutine[Any, Any, None]]
"""A coroutine function started with the bot and cancelled when it stops (e.g. a corpus watcher)."""


# --- Rendering: pure functions from answers to Discord payload pieces --------------------------


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


def _md(text: str) -> str:
    """Article text shown verbatim: markdown characters escaped, whitespace folded."""
    return discord.utils.escape_markdown(" ".join(text.split()))


def answer_description(answer: Answer, limit: int = EMBED_DESCRIPTION_LIMIT) -> str:
    """The answer's claims with [n] markers; whole claims are dropped from the end to fit limit."""
    if not answer.found or not answer.claims:
        return clip(answer.text, limit)
    sentences = [f"{_md(c.text)} [{c.n}]" for c in answer.claims]
    for keep in range(len(sentences), 0, -1):
        text = " ".join(sentences[:keep]) + _trimmed_note(len(sentences) - keep)
        if len(text) <= limit:
            return text
    # Even the first claim alone is too long: cut its words, keep its citation.
    first = answer.claims[0]
    marker, note = f" [{first.n}]", _trimmed_note(len(sentences) - 1)
    return clip(_md(first.text), max(limit - len(marker) - len(note), 1)) + marker + note


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
        lines.append(f"*{_md(meta)}*")
    if is_web_url(source.url):
        lines.append(f"<{source.url}>")
    head = "\n".join(lines)
    room = value_limit - len(head) - (1 if head else 0) - len("> “”")
    quote = f"> “{clip(_md(source.snippet), max(room, 1))}”"
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


class PassageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"footnote:passage:(?P<key>[0-9a-f]{16}):(?P<n>[0-9]{1,3})",
):
    """Opens cited passage n of a stored answer; works across restarts (state is in custom_id)."""

    def __init__(self, key: str, n: int, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Passage [{n}]",
                style=discord.ButtonStyle.secondary,
                custom_id=f"footnote:passage:{key}:{n}",
            ),
            row=row,
        )
        self.key = key
        self.n = n

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PassageButton:
        return cls(match["key"], int(match["n"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: FootnoteBot = interaction.client
        try:
            answer = await asyncio.to_thread(bot.store.get, self.key)
            if answer is None:
                raise NotFoundError("That answer is no longer stored; please ask again.")
            await send_passage(interaction, answer, self.n)
        except Exception as exc:  # buttons report errors through the same path as commands
            await bot.report_error(interaction, exc)


def answer_view(answer: Answer, key: str) -> discord.ui.View:
    """Passage buttons (persistent) then link buttons, packed into Discord's 5 rows of 5."""
    view = discord.ui.View(timeout=None)
    shown = answer.sources[:MAX_SOURCE_FIELDS]
    row = 0
    for i, source in enumerate(shown):
        row = i // BUTTONS_PER_ROW
        view.add_item(PassageButton(key, source.n, row=row))
    links = [s for s in shown if is_web_url(s.url)]
    first_link_row = row + 1 if shown else 0
    for i, source in enumerate(links):
        link_row = first_link_row + i // BUTTONS_PER_ROW
        if link_row >= ROWS_LIMIT:
            break
        label = clip(f"[{source.n}] {source.source or source.title}", BUTTON_LABEL_LIMIT)
        view.add_item(discord.ui.Button(label=label, url=source.url, row=link_row))
    return view


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
        url=source.url if is_web_url(source.url) else None,
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
        meta = " · ".join(p for p in (record.source, record.published[:10]) if p)
        parts.append(
            f"**{_md(clip(record.title, 200))}**"
            + (f" ({_md(meta)})" if meta else "")
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


class BuildProgress:
    """A build's counts, shown by editing the deferred reply while it runs.

    The build calls it from its worker thread with (passages embedded, passages to embed); each
    change wakes a task on the event loop that edits the reply, at most once per interval, so the
    loop never waits on the build and Discord is not flooded.
    """

    def __init__(self, interaction: discord.Interaction[Any], action: str, interval: float) -> None:
        self.interaction = interaction
        self.action = action
        self.interval = interval
        self.done = 0
        self.total = 0
        self.waiting = False
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopped = False

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        self._notify()

    def wait_for_build(self, waiting: bool) -> None:
        """Show (or stop showing) that the build waits for another one to finish."""
        self.waiting = waiting
        self._notify()

    def _notify(self) -> None:
        with suppress(RuntimeError):  # the loop has closed: nobody is left to show it to
            self._loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def text(self, seconds: float) -> str:
        took = (
            f"{int(seconds) // 60} min {int(seconds) % 60} s"
            if seconds >= 60
            else f"{seconds:.0f} s"
        )
        if self.waiting:
            return f"{self.action}: waiting for the index build already running to finish… ({took})"
        if not self.total:
            return f"{self.action}: reading the articles… ({took})"
        share = 100 * self.done // max(self.total, 1)
        return (
            f"{self.action}: **{self.done:,}** of **{self.total:,}** passages embedded "
            f"({share}%, {took})…"
        )

    async def show(self) -> None:
        """Edit the reply with the counts and the time taken every interval, until stopped.

        A change of counts wakes it early, but edits stay at most one per interval; a build
        shorter than one interval is never edited (its final reply comes soon enough).
        """
        # Wall-clock time, as Discord's rate limits count it (perf_counter: monotonic, and left
        # real by test simulators that make time.monotonic virtual).
        started = last = time.perf_counter()
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            if self._stopped:
                return
            now = time.perf_counter()
            if now - last < self.interval:
                continue
            last = now
            try:
                await self.interaction.edit_original_response(content=self.text(now - started))
            except discord.HTTPException as exc:  # progress is a courtesy; the build goes on
                log.warning("could not show build progress: %s", one_line(exc))


def index_when_free(
    service: Footnote,
    progress: BuildProgress,
    *,
    rebuild: bool = False,
    wait: float = BUILD_WAIT_SECONDS,
) -> BuildReport:
    """service.index(), waiting up to wait seconds for a build already running (blocking)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return service.index(rebuild=rebuild, progress=progress)
        except IndexLockedError:
            if time.monotonic() >= deadline:
                raise
            progress.wait_for_build(True)
            time.sleep(0.5)
        finally:
            progress.wait_for_build(False)


def add_and_index(
    service: Footnote, staged: Staged, progress: BuildProgress
) -> tuple[BuildReport, list[ArticleRecord]]:
    """Save a staged article into the corpus and index it; a failed add removes the file again.

    Blocking. Raises:
        IntakeError: the build skipped the file (it holds no usable or no new article).
    """
    staged.save()
    try:
        report = index_when_free(service, progress)
    except BaseException:
        staged.discard()  # the build did not publish: corpus and index stay as they were
        raise
    mine = (staged.rel, f"{staged.rel}#")
    skipped = [str(e) for e in report.errors if e.path.startswith(mine)]
    skipped += [d for d in report.duplicates if d.startswith(mine)]
    if skipped:
        staged.discard()
        raise IntakeError(f"The index did not take it: {clip(skipped[0], 300)}.")
    return report, [service.article(a.id) for a in staged.articles]


# --- State that must survive a restart ----------------------------------------------------------


class AnswerStore:
    """Answers shown in Discord, in SQLite under data_dir, so buttons and /source outlive restarts.

    Blocking; call from a worker thread.
    """

    KEEP_SECONDS = 180 * 24 * 3600

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(
                "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, created REAL NOT NULL,"
                " user_id INTEGER NOT NULL, answer TEXT NOT NULL);"
                "CREATE TABLE IF NOT EXISTS last_answer (user_id INTEGER PRIMARY KEY,"
                " key TEXT NOT NULL);"
            )

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def save(self, answer: Answer, user_id: int) -> str:
        """Store answer; returns the key its buttons carry."""
        key = secrets.token_hex(8)
        now = time.time()
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO answers (key, created, user_id, answer) VALUES (?, ?, ?, ?)",
                (key, now, user_id, json.dumps(answer.to_dict(), ensure_ascii=False)),
            )
            db.execute(
                "INSERT OR REPLACE INTO last_answer (user_id, key) VALUES (?, ?)", (user_id, key)
            )
            db.execute("DELETE FROM answers WHERE created < ?", (now - self.KEEP_SECONDS,))
        return key

    def get(self, key: str) -> Answer | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
        return Answer.from_dict(json.loads(row[0])) if row else None

    def last(self, user_id: int) -> Answer | None:
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT a.answer FROM last_answer l JOIN answers a ON a.key = l.key "
                "WHERE l.user_id = ?",
                (user_id,),
            ).fetchone()
        return Answer.from_dict(json.loads(row[0])) if row else None


# --- User-facing errors raised by the bot itself --------------------------------------------------


class OnCooldown(FootnoteError):
    """The user asked again too soon."""


class NotAllowedHere(FootnoteError):
    """The channel is not on the allow-list."""


class ReindexRunning(FootnoteError):
    """A /reindex is already in progress."""


class MissingReindexPermission(app_commands.CheckFailure):
    """The member may not /reindex."""


class Cooldowns:
    """Per-user cooldown between questions (in memory: a restart forgiving it is harmless)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def hit(self, user_id: int) -> None:
        """Record a question by user_id.

        Raises:
            OnCooldown: the user asked less than `seconds` ago.
        """
        if self.seconds <= 0:
            return
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            wait = max(1, round(self.seconds - (now - last)))
            raise OnCooldown(
                f"You're asking quickly! Please wait {wait} second{'s' if wait != 1 else ''} "
                "before your next question."
            )
        if len(self._last) > 10_000:
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
        self._last[user_id] = now


# --- The bot ------------------------------------------------------------------------------------


class FootnoteTree(app_commands.CommandTree["FootnoteBot"]):
    async def on_error(
        self, interaction: discord.Interaction[FootnoteBot], error: app_commands.AppCommandError
    ) -> None:
        """The one place command errors become words for people."""
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await interaction.client.report_error(interaction, original)


class FootnoteBot(commands.Bot):
    """Answers questions about the indexed news articles, with citations."""

    def __init__(
        self,
        settings: Settings,
        service: Footnote,
        *,
        background: Sequence[BackgroundTask] = (),
        **options: Any,
    ) -> None:
        # Message content is privileged; Discord still sends the content of messages that
        # mention the bot, which is all the mention handler reads.
        intents = discord.Intents.default()
        intents.message_content = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=FootnoteTree,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.settings = settings
        self.service = service
        self.store = AnswerStore(settings.data_dir / "discord.sqlite3")
        self.cooldowns = Cooldowns(settings.cooldown_seconds)
        self.reindex_lock = asyncio.Lock()
        self.progress_interval = PROGRESS_SECONDS
        self._background = list(background)
        self._tasks: list[asyncio.Task[None]] = []
        self.tree.add_command(ask_command)
        self.tree.add_command(source_command)
        self.tree.add_command(reindex_command)
        self.tree.add_command(status_command)
        self.tree.add_command(add_command)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(PassageButton)
        await self.sync_commands()
        try:
            status = await asyncio.to_thread(self.service.status)
        except FootnoteError as exc:
            log.warning("no usable index yet (%s); /reindex builds one", exc)
        else:
            log.info("index: %d articles, %d chunks", status.articles, status.chunks)
        for task in self._background:
            name = f"footnote-{getattr(task, '__name__', 'background')}"
            self._tasks.append(asyncio.create_task(task(self), name=name))

    async def sync_commands(self) -> None:
        """Register slash commands: in the configured guild at once, else globally (slow).

        A refusal for lack of the applications.commands scope stops start-up with a ConfigError;
        any other failure is one log line and the bot serves the commands Discord already has.
        """
        guild_id = self.settings.guild_id
        where = f"to guild {guild_id}" if guild_id else "globally"
        try:
            if guild_id:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
            else:
                synced = await self.tree.sync()
        except discord.Forbidden as exc:
            raise ConfigError(
                f"Discord refused to register slash commands {where}: invite the bot with the "
                "'applications.commands' scope (and check FOOTNOTE_GUILD_ID)."
            ) from exc
        except (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.error(
                "could not register slash commands %s (%s); serving the commands Discord "
                "already has, the next start retries",
                where,
                one_line(exc),
            )
            return
        log.info("synced %d commands %s", len(synced), where)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().close()

    async def on_ready(self) -> None:
        log.info("connected as %s to %d guild(s)", self.user, len(self.guilds))

    # -- answering --

    def channel_allowed(self, channel: object) -> bool:
        allowed = self.settings.allowed_channel_ids
        if not allowed:
            return True
        ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
        return bool(ids & allowed)

    def check_channel(self, channel: object) -> None:
        if not self.channel_allowed(channel):
            where = ", ".join(f"<#{c}>" for c in sorted(self.settings.allowed_channel_ids))
            raise NotAllowedHere(f"I only answer questions in {where}.")

    async def answer(self, question: str, user_id: int) -> tuple[Answer, str]:
        """Answer off the event loop and store it; returns the answer and its key."""
        answer = await asyncio.to_thread(self.service.ask, question)
        key = await asyncio.to_thread(self.store.save, answer, user_id)
        return answer, key

    async def on_message(self, message: discord.Message) -> None:
        """A mention with a question in an allowed channel gets an answer."""
        me = self.user
        if me is None or message.author.bot or message.author.id == me.id:
            return
        if me not in message.mentions or message.guild is None:
            return
        if not self.channel_allowed(message.channel):
            return
        question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
        try:
            if not question:
                raise QuestionError(
                    "Ask me something after the mention, or use /ask. (If your text was there, "
                    "the bot may lack access to message content: use /ask instead.)"
                )
            question = clean_question(question)
            self.cooldowns.hit(message.author.id)
            async with message.channel.typing():
                answer, key = await self.answer(question, message.author.id)
            await self._reply_with_answer(message, answer, key)
        except FootnoteError as exc:
            await self._reply_plain(message, str(exc))
        except Exception:
            log.exception(
                "error answering message %s in channel %s", message.id, message.channel.id
            )
            await self._reply_plain(message, APOLOGY)

    async def _reply_plain(self, message: discord.Message, text: str) -> None:
        try:
            await message.reply(clip(text, CONTENT_LIMIT), mention_author=False)
        except discord.HTTPException as exc:
            log.error("could not reply to message %s: %s", message.id, one_line(exc))
        except Exception:
            log.exception("could not reply to message %s", message.id)

    async def _reply_with_answer(self, message: discord.Message, answer: Answer, key: str) -> None:
        embed, view = answer_embed(answer), answer_view(answer, key)
        if self.settings.answer_in_thread and isinstance(message.channel, discord.TextChannel):
            try:
                thread = await message.create_thread(
                    name=clip(answer.question, THREAD_NAME_LIMIT), auto_archive_duration=1440
                )
            except discord.HTTPException as exc:
                log.warning("could not open a thread, answering inline: %s", exc)
            else:
                await thread.send(embed=embed, view=view)
                return
        await message.reply(embed=embed, view=view, mention_author=False)

    async def build(
        self,
        interaction: discord.Interaction[Any],
        action: str,
        work: Callable[[BuildProgress], Any],
    ) -> Any:
        """Run a blocking build off the event loop, its counts edited into the reply meanwhile."""
        progress = BuildProgress(interaction, action, self.progress_interval)
        shower = asyncio.create_task(progress.show(), name="footnote-progress")
        try:
            return await asyncio.to_thread(work, progress)
        finally:
            progress.stop()
            await shower  # an edit in flight lands before the final reply, never after it

    async def report_error(
        self, interaction: discord.Interaction[Any], error: BaseException
    ) -> None:
        """A user's mistake: a short ephemeral reply. Anything else: logged, and an apology."""
        if isinstance(error, FootnoteError | app_commands.CheckFailure):
            text = str(error) or "You can't do that here."
        elif isinstance(error, app_commands.TransformerError):
            text = f"That value doesn't fit this command: {error.value!r}."
        elif isinstance(error, app_commands.CommandNotFound):
            text = "That command is no longer available; Discord will update the list shortly."
        else:
            command = interaction.command.qualified_name if interaction.command else "component"
            log.error(
                "error in %s for user %s in channel %s",
                command,
                interaction.user.id,
                interaction.channel_id,
                exc_info=error,
            )
            text = APOLOGY
        await send_error(interaction, clip(text, CONTENT_LIMIT))


def one_line(error: BaseException) -> str:
    """An exception as one short log-friendly line (Discord's 400s span several)."""
    return clip(" ".join(str(error).split()) or type(error).__name__, 300)


def mark_replied(interaction: discord.Interaction[Any]) -> None:
    """Record that the deferred reply now shows a real answer, not a placeholder."""
    interaction.extras["replied"] = True


def awaiting_reply(interaction: discord.Interaction[Any]) -> bool:
    """The interaction was deferred and its reply is still ours to fill (thinking or progress)."""
    deferred = interaction.response.type is discord.InteractionResponseType.deferred_channel_message
    return deferred and not interaction.extras.get("replied")


async def send_error(interaction: discord.Interaction[Any], text: str) -> None:
    """A short error reply that reaches the user whatever state the interaction is in. Never raises.

    Not yet acknowledged: an ephemeral reply. Deferred and not yet replied: the deferred reply is
    edited in place into the error (it keeps the defer's visibility); deleting it first would
    lose the follow-up (Discord answers 10008). If that edit fails, or a reply was already
    given, an ephemeral follow-up.
    """
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        if awaiting_reply(interaction):
            try:
                await interaction.edit_original_response(content=text, embed=None, view=None)
                mark_replied(interaction)
                return
            except Exception as exc:  # whatever went wrong, the follow-up may still work
                log.warning(
                    "could not edit the reply of interaction %s into an error (%s); "
                    "sending it as a follow-up",
                    interaction.id,
                    one_line(exc),
                )
        await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException as exc:
        log.error(
            "could not send an error reply to interaction %s: %s", interaction.id, one_line(exc)
        )
    except Exception:  # a reply that cannot be sent must not become an unretrieved task error
        log.exception("could not send an error reply to interaction %s", interaction.id)


async def send_passage(interaction: discord.Interaction[Any], answer: Answer, n: int) -> None:
    source = answer.source(n)
    if source is None:
        numbers = ", ".join(str(s.n) for s in answer.sources) or "none"
        raise NotFoundError(f"That answer has no source [{n}] (its sources: {numbers}).")
    view = discord.ui.View(timeout=None)
    if is_web_url(source.url):
        view.add_item(discord.ui.Button(label="Open the article", url=source.url))
    await interaction.response.send_message(embed=passage_embed(source), view=view, ephemeral=True)


# --- Slash commands -----------------------------------------------------------------------------


@app_commands.command(name="ask")
@app_commands.describe(question="Your question about the news articles (up to 1,000 characters).")
async def ask_command(interaction: discord.Interaction[FootnoteBot], question: str) -> None:
    """Ask a question; the answer quotes the articles and cites each source [n]."""
    bot = interaction.client
    bot.check_channel(interaction.channel)
    text = clean_question(question)
    bot.cooldowns.hit(interaction.user.id)
    await interaction.response.defer(thinking=True)
    answer, key = await bot.answer(text, interaction.user.id)
    embed, view = answer_embed(answer), answer_view(answer, key)
    channel = interaction.channel
    if bot.settings.answer_in_thread and isinstance(channel, discord.TextChannel):
        intro = clip(f"**{_md(interaction.user.display_name)}** asked: {_md(text)}", CONTENT_LIMIT)
        message = await interaction.followup.send(intro, wait=True)
        mark_replied(interaction)
        try:
            # Through the channel: a follow-up message carries no guild to start a thread from.
            thread = await channel.create_thread(
                name=clip(text, THREAD_NAME_LIMIT), message=message, auto_archive_duration=1440
            )
        except discord.HTTPException as exc:
            log.warning("could not open a thread, answering inline: %s", exc)
            await interaction.edit_original_response(content=None, embed=embed, view=view)
        else:
            await thread.send(embed=embed, view=view)
        return
    await interaction.followup.send(embed=embed, view=view)


@app_commands.command(name="source")
@app_commands.describe(n="The source number [n] from your last answer.")
async def source_command(
    interaction: discord.Interaction[FootnoteBot], n: app_commands.Range[int, 1, 99]
) -> None:
    """Show cited passage n of your last answer in full (only you see it)."""
    answer = await asyncio.to_thread(interaction.client.store.last, interaction.user.id)
    if answer is None:
        raise NotFoundError("You have no answer yet: ask a question with /ask first.")
    await send_passage(interaction, answer, n)


def _may_reindex(interaction: discord.Interaction[FootnoteBot]) -> bool:
    perms = interaction.permissions
    if perms.manage_guild or perms.administrator:
        return True
    role = interaction.client.settings.admin_role.strip()
    member = interaction.user
    if (
        role
        and isinstance(member, discord.Member)
        and any(str(r.id) == role or r.name == role for r in member.roles)
    ):
        return True
    needed = "Manage Server permission" + (f" or the {role} role" if role else "")
    raise MissingReindexPermission(f"Reindexing needs the {needed}.")


@app_commands.command(name="reindex")
@app_commands.describe(rebuild="Re-embed every article instead of only new and changed ones.")
@app_commands.guild_only()
@app_commands.check(_may_reindex)
async def reindex_command(
    interaction: discord.Interaction[FootnoteBot], rebuild: bool = False
) -> None:
    """Update the index from the corpus (Manage Server or the admin role)."""
    bot = interaction.client
    if bot.reindex_lock.locked():
        raise ReindexRunning("A reindex is already running; its report will appear when it ends.")
    async with bot.reindex_lock:
        await interaction.response.defer(thinking=True)
        report = await bot.build(
            interaction,
            "Reindexing",
            lambda progress: index_when_free(bot.service, progress, rebuild=rebuild),
        )
    log.info("reindex by %s: %s", interaction.user.id, report)
    await interaction.edit_original_response(content=report_text(report))
    mark_replied(interaction)


@app_commands.command(name="add")
@app_commands.describe(
    file="An article file: .md or .txt (front matter: title, source, published_at, url), "
    ".html or .json",
    url="Or the address of a web page holding the article.",
)
@app_commands.guild_only()
@app_commands.check(_may_reindex)
async def add_command(
    interaction: discord.Interaction[FootnoteBot],
    file: discord.Attachment | None = None,
    url: str | None = None,
) -> None:
    """Add an article (a file or a web page) to the corpus and index it (Manage Server or role)."""
    bot = interaction.client
    settings = bot.settings
    if (file is None) == (url is None):
        raise IntakeError("Attach an article file or give the address of a page: one of the two.")
    if file is not None:
        check_upload(file.filename, file.size, settings.add_max_bytes)
    elif url is not None:
        url = check_url(url)
    if bot.reindex_lock.locked():
        raise ReindexRunning("The index is being updated; please /add again when that is done.")
    async with bot.reindex_lock:
        await interaction.response.defer(thinking=True, ephemeral=True)
        staged = await _stage(bot, file, url)
        report, records = await bot.build(
            interaction,
            f"Adding {clip(staged.first.title, 200)}",
            lambda progress: add_and_index(bot.service, staged, progress),
        )
    log.info("/add by %s: %s, %d article(s)", interaction.user.id, staged.rel, len(records))
    await interaction.edit_original_response(content=added_text(staged, report, records))
    mark_replied(interaction)


async def _stage(bot: FootnoteBot, file: discord.Attachment | None, url: str | None) -> Staged:
    """Read the upload or fetch the page and check it, off the event loop; nothing saved yet."""
    settings = bot.settings
    if file is not None:
        try:
            content = await file.read()
        except discord.HTTPException as exc:
            raise IntakeError(
                f"I could not download {file.filename} from Discord; please try again."
            ) from exc
        return await asyncio.to_thread(
            stage_file, settings.corpus_dir, file.filename, content, settings.add_max_bytes
        )
    assert url is not None
    return await asyncio.to_thread(
        stage_page, settings.corpus_dir, url, allow_private=settings.allow_private_urls
    )


@app_commands.command(name="status")
async def status_command(interaction: discord.Interaction[FootnoteBot]) -> None:
    """Show how many articles and passages are indexed, and when the index was last built."""
    status = await asyncio.to_thread(interaction.client.service.status)
    await interaction.response.send_message(status_text(status), ephemeral=True)


# --- Running ------------------------------------------------------------------------------------


def create_bot(
    settings: Settings,
    service: Footnote,
    *,
    background: Sequence[BackgroundTask] = (),
    **options: Any,
) -> FootnoteBot:
    """A bot ready to `start(token)`.

    Tests point discord.py at a fake API first (discord.http.Route.BASE and
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY); options go to discord.Client, e.g. a
    short guild_ready_timeout.
    """
    return FootnoteBot(settings, service, background=background, **options)


def _token(settings: Settings) -> str:
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        raise ConfigError(
            "DISCORD_TOKEN is not set: put the bot token from the Discord Developer Portal "
            "in the environment or in .env (see .env.example)."
        )
    return token


async def serve_bot(
    settings: Settings,
    service: Footnote,
    *,
    background: Sequence[BackgroundTask] = (),
    **options: Any,
) -> None:
    """Connect and answer until the bot is closed (the async core of run_bot).

    Raises:
        ConfigError: the token is missing or Discord rejected it, or a needed intent is off.
    """
    token = _token(settings)
    bot = create_bot(settings, service, background=background, **options)
    loop = asyncio.get_running_loop()
    with suppress(NotImplementedError, RuntimeError):  # not on Windows, nor off the main thread
        loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(bot.close()))
    try:
        async with bot:
            await bot.start(token)
    except discord.LoginFailure as exc:
        raise ConfigError(
            "Discord rejected DISCORD_TOKEN (401 Unauthorized): copy the bot token again from "
            "the Developer Portal (Bot > Reset Token)."
        ) from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise ConfigError(
            "Discord refused a privileged intent: enable it for the bot in the Developer Portal."
        ) from exc
    finally:
        with suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)


def run_bot(
    settings: Settings,
    *,
    service: Footnote | None = None,
    background: Sequence[BackgroundTask] = (),
) -> None:
    """Run the bot until it is stopped (Ctrl+C or SIGTERM).

    Args:
        settings: the token, guild, channels, roles and data directory.
        service: the Footnote to answer from; one over settings by default.
        background: coroutine functions `async def task(bot)`, started with the bot and
            cancelled when it stops: the place for a corpus watcher.

    Raises:
        ConfigError: the token is missing or Discord rejected it, or a needed intent is off.
    """
    _token(settings)  # fail before loading the model
    service = service or Footnote(settings)
    _ = service.embedder  # load the model before connecting, so the first answer is not slow
    asyncio.run(serve_bot(settings, service, background=background))
