"""The Discord bot: slash commands, mentions, and buttons that open cited passages.

Answers come from bot.service.Footnote, which is blocking and therefore always runs in a worker
thread, never on the event loop. Payloads are built by render.py, errors reach the member
through replies.py, builds run through building.py.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import date, datetime
from functools import partial
from typing import Any

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.answer import Answer
from bot.config import Settings
from bot.conversation import ConversationStore, Turn
from bot.discord.building import PROGRESS_SECONDS, BuildProgress, add_and_index, index_when_free
from bot.discord.checks import (
    Cooldowns,
    NotAllowedHere,
    ReindexRunning,
    may_reindex,
)
from bot.discord.render import (
    BUTTON_LABEL_LIMIT,
    BUTTONS_PER_ROW,
    CONTENT_LIMIT,
    MAX_SOURCE_FIELDS,
    NEWS_PER_PAGE,
    ROWS_LIMIT,
    THREAD_NAME_LIMIT,
    added_text,
    answer_embed,
    clip,
    news_embed,
    news_pages,
    note_line,
    passage_embed,
    report_text,
    source_link,
    status_text,
    verbatim,
)
from bot.discord.replies import APOLOGY, mark_replied, member_text, one_line, send_error
from bot.discord.store import AnswerStore
from bot.discord.streaming import STREAM_SECONDS, StreamedReply
from bot.news import NewsItem, clean_topic, last_day, nothing_text, whats_new
from bot.service import Footnote
from index.errors import ConfigError, FootnoteError, NotFoundError, QuestionError
from index.intake import IntakeError, Staged, check_upload, check_url, stage_file, stage_page
from index.search import clean_question

log = logging.getLogger(__name__)

BackgroundTask = Callable[["FootnoteBot"], Coroutine[Any, Any, None]]
"""A coroutine function started with the bot and cancelled when it stops (e.g. a corpus watcher)."""


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
    links = [(s, link) for s in shown if (link := source_link(s))]
    first_link_row = row + 1 if shown else 0
    for i, (source, link) in enumerate(links):
        link_row = first_link_row + i // BUTTONS_PER_ROW
        if link_row >= ROWS_LIMIT:
            break
        label = clip(f"[{source.n}] {source.source or source.title}", BUTTON_LABEL_LIMIT)
        view.add_item(discord.ui.Button(label=label, url=link, row=link_row))
    return view


class FootnoteTree(app_commands.CommandTree["FootnoteBot"]):
    async def interaction_check(self, interaction: discord.Interaction[FootnoteBot]) -> bool:
        """Every command obeys FOOTNOTE_ALLOWED_CHANNELS; elsewhere it gets a private refusal."""
        try:
            interaction.client.check_channel(interaction.channel)
        except NotAllowedHere as exc:
            await interaction.client.report_error(interaction, exc)
            return False
        return True

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
        self.conversations = ConversationStore(
            settings.data_dir / "discord.sqlite3", ttl_seconds=settings.conversation_minutes * 60
        )
        self.cooldowns = Cooldowns(settings.cooldown_seconds)
        self.reindex_lock = asyncio.Lock()
        self.progress_interval = PROGRESS_SECONDS
        self.stream_interval = STREAM_SECONDS
        self._background = list(background)
        self._tasks: list[asyncio.Task[None]] = []
        self.tree.add_command(ask_command)
        self.tree.add_command(source_command)
        self.tree.add_command(reindex_command)
        self.tree.add_command(status_command)
        self.tree.add_command(add_command)
        self.tree.add_command(news_command)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(PassageButton)
        await self.sync_commands()
        try:
            status = await asyncio.to_thread(self.service.status)
        except FootnoteError as exc:
            log.warning("no usable index yet (%s); /reindex builds one", exc)
        else:
            log.info("index: %d articles, %d chunks", status.articles, status.chunks)
        if not self.runs_background:
            log.info("the corpus watcher and feeds run in the process of shard 0, not here")
            return
        for task in self._background:
            name = f"footnote-{getattr(task, '__name__', 'background')}"
            self._tasks.append(asyncio.create_task(task(self), name=name))

    @property
    def runs_background(self) -> bool:
        """The corpus watcher and feed poller (index builds) run in one process of several:
        the one that runs shard 0, or the only one."""
        ids = self.settings.shard_id_list
        return not ids or 0 in ids

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

    async def answer(
        self,
        question: str,
        user_id: int,
        conversation: str | None = None,
        stream: StreamedReply | None = None,
        asked: datetime | None = None,
    ) -> tuple[Answer, str]:
        """Answer off the event loop and store it; returns the answer and its key.

        conversation: the key of the conversation the question continues (its earlier turns
        resolve the follow-up's references), or None for a question that stands alone.
        stream: where a generated answer's checked sentences go as they come.
        asked: when the question was asked (the message's or interaction's creation time): its
            day is the question's date ("this week" is the week before it).
        """
        history = await asyncio.to_thread(self.conversations.turns, conversation or "")
        options: dict[str, Any] = {}
        if history:
            options["history"] = history
        if stream is not None:
            options["on_sentence"] = stream.push
        if asked is not None:
            options["as_of"] = asked.date()
        answer = await asyncio.to_thread(partial(self.service.ask, question, **options))
        key = await asyncio.to_thread(self.store.save, answer, user_id)
        return answer, key

    @asynccontextmanager
    async def streaming(
        self, show: Callable[[str], Awaitable[object]]
    ) -> AsyncIterator[StreamedReply | None]:
        """A StreamedReply that calls show, while a language model is configured; else None."""
        if not self.settings.llm_enabled:
            yield None
            return
        stream = StreamedReply(show, self.stream_interval)
        task = asyncio.create_task(stream.run(), name="footnote-stream")
        try:
            yield stream
        finally:
            stream.stop()
            await task  # an edit in flight lands before the final reply, never after it

    async def conversation_of(self, channel: object, replied_to: int | None) -> str | None:
        """The conversation a question continues: that of the thread it is asked in, else that
        of the answer it replies to; None if it starts a new one."""
        thread = f"thread:{getattr(channel, 'id', '')}"
        if isinstance(channel, discord.Thread):
            return thread
        if await asyncio.to_thread(self.conversations.turns, thread):
            return thread  # a thread the cache does not know as one
        if replied_to is None:
            return None
        return await asyncio.to_thread(self.conversations.find, f"message:{replied_to}")

    async def remember_turn(self, key: str, answer: Answer, shown_in: Sequence[int]) -> None:
        """Add the answer to conversation key; replies to the messages shown_in continue it."""

        def save() -> None:
            for message_id in shown_in:
                self.conversations.alias(f"message:{message_id}", key)
            self.conversations.add(key, Turn.of(answer))

        try:
            await asyncio.to_thread(save)
        except sqlite3.Error as exc:  # the answer is shown; only follow-ups will miss it
            log.warning("could not save the conversation %s: %s", key, one_line(exc))

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
            replied_to = message.reference.message_id if message.reference else None
            conversation = await self.conversation_of(message.channel, replied_to)
            threaded = (
                conversation is None
                and self.settings.answer_in_thread
                and isinstance(message.channel, discord.TextChannel)
            )
            streamed: list[discord.Message] = []
            opened: list[discord.Thread] = []

            async def show(text: str) -> None:
                if streamed:
                    await streamed[0].edit(content=text)
                    return
                # Thread mode: the stream goes into the answer's thread, opened at its first
                # sentence (inline if the thread cannot be opened).
                thread = await self._open_thread(message, question) if threaded else None
                if thread is not None:
                    opened.append(thread)
                    streamed.append(await thread.send(text))
                else:
                    streamed.append(await message.reply(text, mention_author=False))

            async with message.channel.typing(), self.streaming(show) as stream:
                answer, key = await self.answer(
                    question, message.author.id, conversation, stream, message.created_at
                )
            if opened:
                conversation = f"thread:{opened[0].id}"
            await self._reply_with_answer(
                message, answer, key, conversation, streamed[0] if streamed else None
            )
        except FootnoteError as exc:
            await self._reply_plain(message, member_text(exc))
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

    async def _reply_with_answer(
        self,
        message: discord.Message,
        answer: Answer,
        key: str,
        conversation: str | None,
        streamed: discord.Message | None = None,
    ) -> None:
        embed, view = answer_embed(answer), answer_view(answer, key)
        if streamed is not None:  # the streamed sentences become the whole answer
            await streamed.edit(content=note_line(answer), embed=embed, view=view)
            key_ = conversation or f"message:{streamed.id}"
            await self.remember_turn(key_, answer, [streamed.id])
            return
        if (
            conversation is None
            and self.settings.answer_in_thread
            and isinstance(message.channel, discord.TextChannel)
        ):
            thread = await self._open_thread(message, answer.question)
            if thread is not None:
                sent = await thread.send(content=note_line(answer), embed=embed, view=view)
                await self.remember_turn(f"thread:{thread.id}", answer, [sent.id])
                return
        sent = await message.reply(
            content=note_line(answer), embed=embed, view=view, mention_author=False
        )
        await self.remember_turn(conversation or f"message:{sent.id}", answer, [sent.id])

    async def _open_thread(self, message: discord.Message, question: str) -> discord.Thread | None:
        """A thread on message named after question; None (logged) if Discord refuses it."""
        try:
            return await message.create_thread(
                name=clip(question, THREAD_NAME_LIMIT), auto_archive_duration=1440
            )
        except discord.HTTPException as exc:
            log.warning("could not open a thread, answering inline: %s", one_line(exc))
            return None

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
        """A user's mistake: its message. Anything else: logged, and an apology.

        Either way a short reply that reaches the member (see send_error): private, unless the
        command had already shown a public "thinking…", which is then edited into it.
        """
        if isinstance(error, FootnoteError):
            text = member_text(error)
        elif isinstance(error, app_commands.CheckFailure):
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


async def send_passage(interaction: discord.Interaction[Any], answer: Answer, n: int) -> None:
    source = answer.source(n)
    if source is None:
        numbers = ", ".join(str(s.n) for s in answer.sources) or "none"
        raise NotFoundError(f"That answer has no source [{n}] (its sources: {numbers}).")
    view = discord.ui.View(timeout=None)
    link = source_link(source)
    if link:
        view.add_item(discord.ui.Button(label="Open the article", url=link))
    await interaction.response.send_message(embed=passage_embed(source), view=view, ephemeral=True)


@app_commands.command(name="ask")
@app_commands.describe(question="Your question about the news articles (up to 1,000 characters).")
async def ask_command(interaction: discord.Interaction[FootnoteBot], question: str) -> None:
    """Ask a question; the answer quotes the articles and cites each source [n]."""
    bot = interaction.client
    text = clean_question(question)
    bot.cooldowns.hit(interaction.user.id)
    await interaction.response.defer(thinking=True)
    channel = interaction.channel
    conversation = await bot.conversation_of(channel, None)
    threaded = (
        conversation is None
        and bot.settings.answer_in_thread
        and isinstance(channel, discord.TextChannel)
    )

    # Thread mode: an intro message in the channel, the answer in a thread on it. The thread
    # is opened at the stream's first sentence, or once the answer is ready; if Discord
    # refuses it, the answer goes inline.
    intro: list[discord.Message] = []
    opened: list[discord.Thread | None] = []
    in_thread: list[discord.Message] = []

    async def open_thread() -> discord.Thread | None:
        if opened or not isinstance(channel, discord.TextChannel):
            return opened[0] if opened else None
        line = f"**{verbatim(interaction.user.display_name)}** asked: {verbatim(text)}"
        intro.append(await interaction.followup.send(clip(line, CONTENT_LIMIT), wait=True))
        mark_replied(interaction)
        try:
            # Through the channel: a follow-up message carries no guild to start a thread from.
            thread: discord.Thread | None = await channel.create_thread(
                name=clip(text, THREAD_NAME_LIMIT), message=intro[0], auto_archive_duration=1440
            )
        except discord.HTTPException as exc:
            log.warning("could not open a thread, answering inline: %s", one_line(exc))
            thread = None
        opened.append(thread)
        return thread

    async def show(partial_text: str) -> None:
        if in_thread:
            await in_thread[0].edit(content=partial_text)
        elif threaded and (thread := await open_thread()) is not None:
            in_thread.append(await thread.send(partial_text))
        else:
            await interaction.edit_original_response(content=partial_text)

    async with bot.streaming(show) as stream:
        answer, key = await bot.answer(
            text, interaction.user.id, conversation, stream, interaction.created_at
        )
    embed, view = answer_embed(answer), answer_view(answer, key)
    note = note_line(answer)
    if threaded:
        thread = await open_thread()
        if thread is None:
            await interaction.edit_original_response(content=note, embed=embed, view=view)
            anchor = intro[0] if intro else await interaction.original_response()
            await bot.remember_turn(f"message:{anchor.id}", answer, [anchor.id])
        elif in_thread:  # the streamed sentences become the whole answer
            await in_thread[0].edit(content=note, embed=embed, view=view)
            await bot.remember_turn(f"thread:{thread.id}", answer, [in_thread[0].id])
        else:
            sent = await thread.send(content=note, embed=embed, view=view)
            await bot.remember_turn(f"thread:{thread.id}", answer, [sent.id])
        return
    if stream is not None and stream.shown:  # the streamed reply becomes the whole answer
        edited = await interaction.edit_original_response(content=note, embed=embed, view=view)
        await bot.remember_turn(conversation or f"message:{edited.id}", answer, [edited.id])
        return
    if note:
        shown = await interaction.followup.send(note, embed=embed, view=view, wait=True)
    else:
        shown = await interaction.followup.send(embed=embed, view=view, wait=True)
    await bot.remember_turn(conversation or f"message:{shown.id}", answer, [shown.id])


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


@app_commands.command(name="reindex")
@app_commands.describe(rebuild="Re-embed every article instead of only new and changed ones.")
@app_commands.guild_only()
@app_commands.check(may_reindex)
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
@app_commands.check(may_reindex)
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


# /news lists at most this many articles, NEWS_PER_PAGE a page.
NEWS_LIMIT = 25
NEWS_PAGES_SECONDS = 15 * 60  # how long the Prev / Next buttons work


class NewsPages(discord.ui.View):
    """Prev / Next through a /news list; only the member who asked turns its pages."""

    def __init__(self, topic: str, items: Sequence[NewsItem], user_id: int, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.topic = topic
        self.items = list(items)
        self.user_id = user_id
        self.page = 0
        self.message: discord.Message | None = None
        self.show()

    @property
    def embed(self) -> discord.Embed:
        return news_embed(self.topic, self.items, self.page)

    def show(self) -> None:
        self.previous_page.disabled = self.page == 0
        self.next_page.disabled = self.page >= news_pages(len(self.items)) - 1

    async def turn(self, interaction: discord.Interaction[Any], step: int) -> None:
        last = news_pages(len(self.items)) - 1
        self.page = min(max(self.page + step, 0), last)
        self.show()
        await interaction.response.edit_message(embed=self.embed, view=self)

    @discord.ui.button(label="Prev", style=discord.ButtonStyle.secondary)
    async def previous_page(
        self, interaction: discord.Interaction[Any], _: discord.ui.Button[Any]
    ) -> None:
        await self.turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next_page(
        self, interaction: discord.Interaction[Any], _: discord.ui.Button[Any]
    ) -> None:
        await self.turn(interaction, 1)

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id == self.user_id:
            return True
        await interaction.response.send_message(
            "Only the member who asked turns these pages; use /news for your own list.",
            ephemeral=True,
        )
        return False

    async def on_error(
        self,
        interaction: discord.Interaction[Any],
        error: Exception,
        item: discord.ui.Item[Any],
    ) -> None:
        await interaction.client.report_error(interaction, error)

    async def on_timeout(self) -> None:
        if self.message is not None:  # the buttons would no longer answer: take them away
            with suppress(discord.HTTPException):
                await self.message.edit(view=None)


def parse_day(text: str) -> date:
    """A day written YYYY-MM-DD.

    Raises:
        QuestionError: it is not one.
    """
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise QuestionError(
            f"{clip(text, 40)!r} is not a date: write it as YYYY-MM-DD, e.g. 2024-05-01."
        ) from None


@app_commands.command(name="news")
@app_commands.describe(
    topic="What the news is about, e.g. gas prices (up to 200 characters).",
    since="Only articles published on or after this day, as YYYY-MM-DD.",
)
async def news_command(
    interaction: discord.Interaction[FootnoteBot], topic: str, since: str | None = None
) -> None:
    """What's new about a topic: the newest articles, newest first, each with its lead quoted."""
    bot = interaction.client
    text = clean_topic(topic)
    day = parse_day(since) if since else None
    # Nothing published after today is listed (the day the list is asked for).
    as_of = last_day(day, None)
    bot.cooldowns.hit(interaction.user.id)
    await interaction.response.defer(thinking=True)
    items = await asyncio.to_thread(
        partial(whats_new, bot.service, text, since=day, as_of=as_of, limit=NEWS_LIMIT)
    )
    if not items:
        await interaction.followup.send(clip(nothing_text(text, day), CONTENT_LIMIT))
        return
    if len(items) <= NEWS_PER_PAGE:
        await interaction.followup.send(embed=news_embed(text, items, 0))
        return
    pages = NewsPages(text, items, interaction.user.id, NEWS_PAGES_SECONDS)
    pages.message = await interaction.followup.send(embed=pages.embed, view=pages, wait=True)


class ShardedFootnoteBot(FootnoteBot, commands.AutoShardedBot):
    """FootnoteBot over several gateway connections (Discord shards) in one process."""


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

    With FOOTNOTE_SHARDS the bot is an AutoShardedBot over that many Discord shards, all of
    them or FOOTNOTE_SHARD_IDS' (so several `footnote serve` processes can split the shards).
    """
    if not settings.shards:
        return FootnoteBot(settings, service, background=background, **options)
    options.setdefault("shard_count", settings.shards)
    options.setdefault("shard_ids", settings.shard_id_list or None)
    return ShardedFootnoteBot(settings, service, background=background, **options)


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
