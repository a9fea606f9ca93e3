"""The Discord bot: pure rendering within Discord's limits, and the real discord.py client end to
end against a loopback fake Discord (tests/fake_discord.py)."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from pydantic import SecretStr

from bot.answer import Answer, Claim, ShortAnswer, Source
from bot.config import Settings
from bot.discord.app import (
    BackgroundTask,
    FootnoteBot,
    answer_view,
    create_bot,
    run_bot,
    serve_bot,
)
from bot.discord.checks import Cooldowns, OnCooldown
from bot.discord.render import (
    BUTTON_LABEL_LIMIT,
    EMBED_TOTAL_LIMIT,
    answer_description,
    answer_embed,
    clip,
    embed_length,
    news_embed,
    passage_embed,
)
from bot.discord.replies import APOLOGY
from bot.news import NewsItem
from bot.service import Footnote
from index.errors import ConfigError
from index.store import CURRENT, META, VECTORS
from tests.damage import garble_middle, garble_pages
from tests.fake_discord import (
    EPHEMERAL,
    TOKEN,
    FakeDiscord,
    Interaction,
    Upload,
    validate_components,
    validate_message,
)
from tests.fake_llm import FakeLLM, Reply, Status
from tests.fakes import FakeEmbedder
from tests.web_pages import EMPTY_HTML, LIGHTHOUSE_HTML, WebPages

TIMEOUT = 10.0
BRIDGE = "How much did the bridge cost?"

StartBot = Callable[..., Awaitable[FootnoteBot]]


# --- Helpers --------------------------------------------------------------------------------------


def make_source(n: int, *, url: str = "https://herald.example/a", size: int = 1) -> Source:
    snippet = ("The bridge cost 1.2 billion dollars. " * size).strip()
    passage = f"Before it. {snippet} After it."
    return Source(
        n=n,
        title=f"Harbor City opens a new bridge, part {n} " * size,
        source="Harbor City Herald " * size,
        published="2024-03-14",
        url=url,
        article_id=f"bridge-{n}.md",
        chunk_id=n,
        snippet=snippet,
        snippet_start=11,
        snippet_end=11 + len(snippet),
        passage=passage,
        passage_start=0,
        passage_end=len(passage),
    )


def make_answer(claims: int = 2, *, size: int = 1, found: bool = True, **kw: Any) -> Answer:
    sources = [make_source(n, size=size, **kw) for n in range(1, claims + 1)]
    return Answer(
        question="How much did the bridge cost? " * size,
        found=found,
        claims=[Claim(text=s.snippet, n=s.n) for s in sources] if found else [],
        sources=sources,
    )


def message_payload(answer: Answer, key: str = "0123456789abcdef") -> dict[str, Any]:
    return {
        "embeds": [answer_embed(answer).to_dict()],
        "components": answer_view(answer, key).to_components(),
    }


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for row in message.get("components", []) for item in row["components"]]


def final_message(fake: FakeDiscord, interaction: Interaction) -> dict[str, Any] | None:
    """The interaction's visible reply: its original response once it is no longer loading."""
    if interaction.callback is None:
        return None
    if interaction.callback.get("type") == 4:
        return {**interaction.callback["data"], "id": interaction.original_id}
    if interaction.loading:
        return None
    if interaction.messages:
        return interaction.messages[-1]
    return fake.messages.get(interaction.original_id or "")


async def reply_to(fake: FakeDiscord, interaction: Interaction) -> dict[str, Any]:
    return await fake.wait_for(lambda: final_message(fake, interaction), TIMEOUT)


def is_ephemeral(message: dict[str, Any]) -> bool:
    return bool((message.get("flags") or 0) & EPHEMERAL)


def opens_at_quote(link: str | None, url: str) -> bool:
    """link is url with a text fragment: it opens the article at the quoted words."""
    return bool(link) and str(link).startswith(f"{url}#:~:text=")


# --- Fixtures -------------------------------------------------------------------------------------


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logs() -> Iterator[_ErrorRecords]:
    """Every log record of discord.py and the bot; the test fails on an unexpected ERROR."""
    handler = _ErrorRecords()
    loggers = [logging.getLogger(name) for name in ("discord", "bot", "aiohttp", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)
    errors = [r for r in handler.records if r.levelno >= logging.ERROR and not r.__dict__.get("ok")]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]
    assert not any(TOKEN in r.getMessage() for r in handler.records), "the token was logged"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def start_bot(
    fake: FakeDiscord,
    settings: Settings,
    service: Footnote,
    monkeypatch: pytest.MonkeyPatch,
    logs: _ErrorRecords,
) -> AsyncIterator[StartBot]:
    """Start the real bot against the fake; stops every bot it started."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake.base_url)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
    )
    running: list[tuple[FootnoteBot, asyncio.Task[None]]] = []

    async def start(
        settings: Settings = settings,
        service: Footnote = service,
        background: Sequence[BackgroundTask] = (),
        **changes: Any,
    ) -> FootnoteBot:
        changes.setdefault("guild_id", int(fake.guild_id))
        settings = settings.model_copy(update=changes)
        bot = create_bot(settings, service, background=background, guild_ready_timeout=0.05)
        bot.progress_interval = 3600.0  # no progress edits unless a test asks for them
        task = asyncio.create_task(bot.start(TOKEN))
        running.append((bot, task))
        ready = asyncio.create_task(bot.wait_until_ready())
        await asyncio.wait({ready, task}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            ready.cancel()
            task.result()  # raises why the bot stopped
        assert ready.done(), "the bot did not become ready"
        return bot

    yield start
    for bot, task in running:
        await asyncio.wait_for(bot.close(), TIMEOUT)
        await asyncio.wait_for(task, TIMEOUT)
    assert not fake.problems, fake.problems


# --- Rendering: pure functions ------------------------------------------------------------------


def test_clip_cuts_at_a_word_and_marks_it() -> None:
    assert clip("short", 10) == "short"
    cut = clip("the bridge cost a great deal of money", 20)
    assert len(cut) <= 20 and cut.endswith("…") and cut.startswith("the bridge")
    assert len(clip("x" * 500, 80)) == 80


def test_answer_embed_shows_claims_citations_and_every_source_detail() -> None:
    answer = make_answer(2)
    embed = answer_embed(answer).to_dict()
    assert embed["description"].count("[1]") == 1 and "[2]" in embed["description"]
    assert embed["fields"][0]["name"].startswith("[1] Harbor City opens")
    value = embed["fields"][0]["value"]
    assert "Harbor City Herald" in value and "2024-03-14" in value
    assert "https://herald.example/a" in value and "1.2 billion dollars" in value
    assert not validate_message(message_payload(answer))


def test_answer_view_has_persistent_passage_buttons_and_web_links_only() -> None:
    answer = make_answer(2)
    answer = Answer(
        answer.question,
        True,
        answer.claims,
        [answer.sources[0], make_source(2, url="file:///etc/passwd")],
    )
    items = buttons({"components": answer_view(answer, "0123456789abcdef").to_components()})
    passage = [b for b in items if b.get("custom_id")]
    links = [b for b in items if b.get("url")]
    assert [b["custom_id"] for b in passage] == [
        "footnote:passage:0123456789abcdef:1",
        "footnote:passage:0123456789abcdef:2",
    ]
    [link] = [b["url"] for b in links]
    assert opens_at_quote(link, "https://herald.example/a")
    assert "file:" not in str(answer_embed(answer).to_dict())


def test_huge_answer_is_trimmed_within_every_discord_limit() -> None:
    answer = make_answer(20, size=60)
    payload = message_payload(answer)
    assert not validate_message(payload), validate_message(payload)
    embed = payload["embeds"][0]
    assert embed_length(embed) <= EMBED_TOTAL_LIMIT
    assert "[1]" in embed["description"]  # the first claim, cut at a word, keeps its citation
    assert embed["description"].endswith("19 more cited sentences not shown.")
    assert len(embed["fields"]) == 10 and "10 more source(s)" in embed["footer"]["text"]
    assert len(buttons(payload)) == 20  # 10 passage buttons, 10 links, in 4 rows of 5
    assert all(len(b.get("label", "")) <= BUTTON_LABEL_LIMIT for b in buttons(payload))
    assert not validate_components(payload["components"])


def test_description_drops_whole_claims_before_cutting_words() -> None:
    answer = make_answer(3, size=30)
    text = answer_description(answer, 2500)
    assert len(text) <= 2500
    assert "[1]" in text and "[3]" not in text and text.endswith("not shown.")
    one = answer_description(make_answer(1, size=200), 1000)
    assert len(one) <= 1000 and one.endswith("[1]")


def test_the_short_answer_leads_the_embed_in_bold() -> None:
    answer = make_answer(2)
    spanned = Answer(
        answer.question,
        True,
        answer.claims,
        answer.sources,
        short=ShortAnswer("1.2 billion dollars", n=1, start=16, end=35),
    )
    description = answer_embed(spanned).to_dict()["description"]
    assert description.startswith("**1.2 billion dollars** [1]\n\n")
    assert "[2]" in description  # the quotes follow
    yes = Answer(
        answer.question,
        True,
        answer.claims,
        answer.sources,
        short=ShortAnswer("Yes", kind="yes/no", reasoning="reported by Herald (2024-03-14) [1]"),
    )
    assert answer_description(yes).startswith("**Yes**: reported by Herald (2024-03-14) [1]\n\n")
    huge = Answer(
        answer.question, True, make_answer(20, size=60).claims, answer.sources, short=spanned.short
    )
    assert len(answer_description(huge, 500)) <= 500
    # A quote shown after its headline (it names its subject only by reference).
    headed = Answer(
        answer.question,
        True,
        [replace(answer.claims[0], headline="Harbor bridge opens")],
        answer.sources[:1],
    )
    assert answer_description(headed).startswith("Harbor bridge opens — ")


def test_not_found_answer_says_so_and_lists_nearest_passages() -> None:
    embed = answer_embed(make_answer(2, found=False)).to_dict()
    assert "couldn't find" in embed["description"]
    assert len(embed["fields"]) == 2 and "may not answer" in embed["footer"]["text"]


def test_passage_embed_quotes_the_whole_passage_with_the_snippet_in_bold() -> None:
    embed = passage_embed(make_source(1)).to_dict()
    assert embed["description"] == "Before it. **The bridge cost 1.2 billion dollars.** After it."
    assert opens_at_quote(embed["url"], "https://herald.example/a")
    huge = passage_embed(make_source(1, size=400)).to_dict()
    assert not validate_message({"embeds": [huge]})


def test_cooldowns_are_per_user() -> None:
    clock = [100.0]
    cooldowns = Cooldowns(10, clock=lambda: clock[0])
    cooldowns.hit(1)
    cooldowns.hit(2)
    with pytest.raises(OnCooldown, match="wait 10 seconds"):
        cooldowns.hit(1)
    clock[0] += 10
    cooldowns.hit(1)


# --- End to end against the fake Discord --------------------------------------------------------


async def test_bot_connects_and_registers_documented_commands(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot()
    assert fake.identify is not None and fake.identify["intents"] & (1 << 15) == 0
    commands = {c["name"]: c for c in fake.commands[fake.guild_id]}
    assert set(commands) == {"ask", "source", "reindex", "status", "add", "news"}
    assert all(c["description"] for c in commands.values())
    assert all(o["description"] for c in commands.values() for o in c.get("options", []))


async def test_commands_are_synced_globally_without_a_guild(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot(guild_id=None)
    assert fake.calls("PUT", f"/applications/{fake.app_id}/commands")
    assert not fake.calls("PUT", "/guilds/")
    reply = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    assert "1.2 billion" in reply["embeds"][0]["description"]


async def test_background_tasks_run_with_the_bot_and_stop_with_it(start_bot: StartBot) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def watcher(bot: FootnoteBot) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    bot = await start_bot(background=[watcher])
    await asyncio.wait_for(started.wait(), TIMEOUT)
    await asyncio.wait_for(bot.close(), TIMEOUT)
    assert cancelled.is_set()


async def test_ask_answers_with_citations_and_buttons(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot()
    interaction = await fake.slash("ask", {"question": BRIDGE})
    reply = await reply_to(fake, interaction)
    assert interaction.callback == {"type": 5}  # thinking…, then a follow-up
    assert not is_ephemeral(reply)
    embed = reply["embeds"][0]
    assert "1.2 billion dollars" in embed["description"] and "[1]" in embed["description"]
    assert embed["fields"][0]["name"].startswith("[1] Harbor City")
    items = buttons(reply)
    assert any(b.get("custom_id", "").startswith("footnote:passage:") for b in items)
    assert any(opens_at_quote(b.get("url"), "https://herald.example/harbor-bridge") for b in items)


class SlowIndex(Footnote):
    """A Footnote whose index() waits until the test lets it finish."""

    def __init__(self, settings: Settings, embedder: FakeEmbedder) -> None:
        super().__init__(settings, embedder=embedder)
        self.release = threading.Event()
        self.started = threading.Event()

    def index(self, *, rebuild: bool = False, progress: Any = None) -> Any:
        self.started.set()
        assert self.release.wait(TIMEOUT)
        return super().index(rebuild=rebuild, progress=progress)


class HugeAnswers(Footnote):
    def ask(self, question: str, k: int | None = None, **options: object) -> Answer:
        return make_answer(20, size=60)


class Broken(Footnote):
    def ask(self, question: str, k: int | None = None, **options: object) -> Answer:
        raise RuntimeError("the disk caught fire")


async def test_ask_not_found_says_so_and_shows_nearest_sources(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, service: Footnote
) -> None:
    strict = settings.model_copy(update={"min_similarity": 0.99})
    await start_bot(strict, Footnote(strict, embedder=service.embedder))
    asked = await fake.slash("ask", {"question": "What is the capital of Peru?"})
    reply = await reply_to(fake, asked)
    embed = reply["embeds"][0]
    assert "couldn't find an answer" in embed["description"]
    assert "may not answer" in embed["footer"]["text"]


async def test_passage_button_opens_the_full_passage_privately_even_after_a_restart(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    first = await start_bot()
    reply = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    custom_id = next(b["custom_id"] for b in buttons(reply) if "custom_id" in b)
    await asyncio.wait_for(first.close(), TIMEOUT)

    await start_bot()
    pressed = await fake.press(reply, custom_id, by="carol")
    shown = await reply_to(fake, pressed)
    assert pressed.callback is not None and pressed.callback["type"] == 4
    assert is_ephemeral(shown)
    passage = shown["embeds"][0]
    assert "**The bridge cost 1.2 billion dollars" in passage["description"]
    assert "Mayor Elena Ruiz" in passage["description"]  # the whole passage, not only the snippet
    assert opens_at_quote(passage["url"], "https://herald.example/harbor-bridge")
    [article] = buttons(shown)
    assert article["label"] == "Open the article"
    assert opens_at_quote(article["url"], "https://herald.example/harbor-bridge")


async def test_a_passage_button_whose_answer_is_gone_says_so_privately(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, service: Footnote, tmp_path: Path
) -> None:
    first = await start_bot()
    reply = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    custom_id = next(b["custom_id"] for b in buttons(reply) if "custom_id" in b)
    await asyncio.wait_for(first.close(), TIMEOUT)
    await start_bot(data_dir=tmp_path / "fresh")  # the stored answers did not survive
    shown = await reply_to(fake, await fake.press(reply, custom_id))
    assert is_ephemeral(shown) and "no longer stored" in shown["content"]


async def test_source_command_opens_a_passage_of_your_last_answer(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot()
    none_yet = await reply_to(fake, await fake.slash("source", {"n": 1}, by="carol"))
    assert is_ephemeral(none_yet) and "/ask" in none_yet["content"]
    await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}, by="carol"))
    shown = await reply_to(fake, await fake.slash("source", {"n": 1}, by="carol"))
    assert is_ephemeral(shown) and "1.2 billion" in shown["embeds"][0]["description"]
    missing = await reply_to(fake, await fake.slash("source", {"n": 9}, by="carol"))
    assert is_ephemeral(missing) and "no source [9]" in missing["content"]


async def test_reindex_is_refused_to_members_without_manage_server(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot()
    reply = await reply_to(fake, await fake.slash("reindex", by="bob"))
    assert is_ephemeral(reply) and "Manage Server" in reply["content"]


async def test_reindex_reports_counts_for_manage_server_and_the_admin_role(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot(admin_role="Librarians")
    for who in ("alice", "carol"):
        interaction = await fake.slash("reindex", {"rebuild": who == "carol"}, by=who)
        reply = await reply_to(fake, interaction)
        assert interaction.callback == {"type": 5}
        assert "now holds **7** articles" in reply["content"], reply["content"]
    assert "**7** added" in reply["content"]  # a rebuild embeds every article again


async def test_a_second_reindex_while_one_runs_is_told_so(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    slow = SlowIndex(settings, fake_embedder)
    await start_bot(service=slow)
    first = await fake.slash("reindex", by="alice")
    await fake.wait_for(lambda: first.callback)
    assert await asyncio.to_thread(slow.started.wait, TIMEOUT)
    second = await reply_to(fake, await fake.slash("reindex", by="alice"))
    assert is_ephemeral(second) and "already running" in second["content"]
    slow.release.set()
    assert "articles" in (await reply_to(fake, first))["content"]


async def test_questions_are_answered_while_a_build_runs(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    slow = SlowIndex(settings, fake_embedder)
    await start_bot(service=slow)
    building = await fake.slash("add", {"file": Upload("ferry.md", FERRY)}, by="alice")
    assert await asyncio.to_thread(slow.started.wait, TIMEOUT)
    asked = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    assert "1.2 billion" in asked["embeds"][0]["description"]  # from the index as it was
    assert building.loading  # the build is still going
    slow.release.set()
    assert "Added" in (await reply_to(fake, building))["content"]


async def test_status_shows_counts_and_last_build(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot()
    reply = await reply_to(fake, await fake.slash("status"))
    assert is_ephemeral(reply)
    assert "**7** articles, **7** passages" in reply["content"] and "fake-hash" in reply["content"]


async def test_cooldown_is_per_user_and_friendly(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot(cooldown_seconds=60)
    await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}, by="bob"))
    again = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}, by="bob"))
    assert is_ephemeral(again) and "wait" in again["content"]
    other = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}, by="carol"))
    assert not is_ephemeral(other) and other["embeds"]


async def test_huge_answer_reaches_discord_within_its_limits(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    await start_bot(service=HugeAnswers(settings, embedder=fake_embedder))
    reply = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    assert not validate_message(reply)  # and the fake would have answered 400 otherwise
    assert "[1]" in reply["embeds"][0]["description"]
    assert len(reply["embeds"][0]["fields"]) == 10


@pytest.mark.parametrize(
    ("question", "expected"), [("x" * 5000, "limited to 1,000 characters"), ("   ", "empty")]
)
async def test_bad_questions_get_a_short_private_reply(
    fake: FakeDiscord, start_bot: StartBot, question: str, expected: str
) -> None:
    await start_bot()
    interaction = await fake.slash("ask", {"question": question})
    reply = await reply_to(fake, interaction)
    assert interaction.callback is not None and interaction.callback["type"] == 4
    assert is_ephemeral(reply) and expected in reply["content"]
    assert len(reply["content"]) < 300


async def test_an_index_problem_after_thinking_replaces_the_placeholder(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    fake_embedder: FakeEmbedder,
    tmp_path: Path,
) -> None:
    empty = settings.model_copy(update={"data_dir": tmp_path / "empty"})
    await start_bot(empty, Footnote(empty, embedder=fake_embedder))
    interaction = await fake.slash("ask", {"question": BRIDGE})
    reply = await reply_to(fake, interaction)
    assert reply["id"] == interaction.original_id  # the "thinking…" reply, edited in place
    assert reply["content"] == "There is no index yet: someone allowed to /reindex can build it."
    assert not fake.calls("DELETE") and not interaction.messages


async def test_unexpected_errors_are_logged_and_apologised_for(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    fake_embedder: FakeEmbedder,
    logs: Any,
) -> None:
    await start_bot(service=Broken(settings, embedder=fake_embedder))
    interaction = await fake.slash("ask", {"question": BRIDGE})
    reply = await reply_to(fake, interaction)
    assert reply["id"] == interaction.original_id and reply["content"] == APOLOGY
    assert "disk" not in reply["content"]
    errors = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info and "ask" in errors[0].getMessage()
    errors[0].ok = True


def broken_index(settings: Settings, embedder: FakeEmbedder, tmp_path: Path) -> Settings:
    """Settings whose published index has every file overwritten with junk."""
    broken = settings.model_copy(update={"data_dir": tmp_path / "broken"})
    Footnote(broken, embedder=embedder).index()
    generation = next((broken.data_dir / "index").glob("gen-*"))
    for path in generation.iterdir():
        if path.is_file():
            path.write_bytes(b"not an index")
    return broken


async def test_a_broken_index_reaches_the_user(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    fake_embedder: FakeEmbedder,
    tmp_path: Path,
) -> None:
    broken = broken_index(settings, fake_embedder, tmp_path)
    await start_bot(broken, Footnote(broken, embedder=fake_embedder))
    interaction = await fake.slash("ask", {"question": BRIDGE})
    reply = await reply_to(fake, interaction)
    assert reply["id"] == interaction.original_id
    assert reply["content"] == "The index is damaged: someone allowed to /reindex can rebuild it."
    assert str(tmp_path) not in reply["content"]  # the host's paths are for its log


DAMAGES: dict[str, Callable[[Path], None]] = {
    "garbled database pages": lambda gen: garble_pages(gen / META),
    "garbled vectors": lambda gen: garble_middle(gen / VECTORS),
    "CURRENT not UTF-8": lambda gen: (gen.parent / CURRENT).write_bytes(b"\x00\xff"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
async def test_a_damaged_index_is_told_to_members_and_reindex_rebuilds_it(
    fake: FakeDiscord, start_bot: StartBot, service: Footnote, damage: str
) -> None:
    generation = next((service.settings.data_dir / "index").glob("gen-*"))
    DAMAGES[damage](generation)
    await start_bot()
    damaged = "The index is damaged: someone allowed to /reindex can rebuild it."
    for command, options in (("ask", {"question": BRIDGE}), ("status", {})):
        reply = await reply_to(fake, await fake.slash(command, options))
        assert reply["content"] == damaged, command

    reply = await reply_to(fake, await fake.slash("reindex", by="alice"))
    assert "now holds **7** articles" in reply["content"], reply["content"]
    reply = await reply_to(fake, await fake.slash("status"))
    assert "**7** articles" in reply["content"], reply["content"]


class FailingIndex(Footnote):
    def index(self, *, rebuild: bool = False, progress: Any = None) -> Any:
        raise RuntimeError("out of disk space")


async def test_a_failing_reindex_reaches_the_user(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    fake_embedder: FakeEmbedder,
    logs: _ErrorRecords,
) -> None:
    await start_bot(service=FailingIndex(settings, embedder=fake_embedder))
    interaction = await fake.slash("reindex", by="alice")
    reply = await reply_to(fake, interaction)
    assert reply["id"] == interaction.original_id and reply["content"] == APOLOGY
    [error] = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert "out of disk space" in str(error.exc_info)
    error.ok = True


async def test_an_error_reply_falls_back_to_a_follow_up_when_the_edit_fails(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    fake_embedder: FakeEmbedder,
    tmp_path: Path,
) -> None:
    empty = settings.model_copy(update={"data_dir": tmp_path / "empty"})
    await start_bot(empty, Footnote(empty, embedder=fake_embedder))
    fake.fail("PATCH", "/messages/@original", status=0)  # the edit is lost on the way
    interaction = await fake.slash("ask", {"question": BRIDGE})
    reply = await fake.wait_for(lambda: interaction.messages and interaction.messages[-1])
    assert "no index yet" in reply["content"]
    assert fake.messages[interaction.original_id] is reply  # it replaced the placeholder


async def test_an_error_reply_that_cannot_be_sent_is_logged_not_leaked(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    fake_embedder: FakeEmbedder,
    logs: Any,
) -> None:
    await start_bot(service=Broken(settings, embedder=fake_embedder))
    fake.fail("PATCH", "/messages/@original", status=0)
    fake.fail("POST", f"/webhooks/{fake.app_id}/", status=0)
    interaction = await fake.slash("ask", {"question": BRIDGE})
    await fake.wait_for(lambda: len(fake.calls("POST", f"/webhooks/{fake.app_id}/")) == 1)
    await fake.settle(0.3)
    gc.collect()  # an unretrieved task exception is reported when the task is collected
    await fake.settle(0.05)
    errors = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["bot.discord.app", "bot.discord.replies"], errors
    assert "the disk caught fire" in str(errors[0].exc_info)  # the crash, with its traceback
    unsent = f"could not send an error reply to interaction {interaction.id}"
    assert errors[1].getMessage().startswith(unsent)
    for record in errors:
        record.ok = True


async def test_a_failed_command_sync_is_one_log_line_and_the_bot_keeps_serving(
    fake: FakeDiscord, start_bot: StartBot, logs: Any
) -> None:
    fake.fail("PUT", "/commands", status=400, code=50035, message="Invalid Form Body")
    await start_bot()
    reply = await reply_to(fake, await fake.slash("status"))
    assert "**7** articles" in reply["content"]
    errors = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and not errors[0].exc_info
    message = errors[0].getMessage()
    assert "could not register slash commands" in message and "\n" not in message
    assert "HTTP status 400" in message
    errors[0].ok = True


async def test_a_sync_refused_for_lack_of_scope_stops_start_up_with_one_clear_error(
    fake: FakeDiscord,
    settings: Settings,
    service: Footnote,
    monkeypatch: pytest.MonkeyPatch,
    logs: _ErrorRecords,
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", fake.base_url)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
    )
    fake.fail("PUT", "/commands", status=403, code=50001, message="Missing Access")
    token = settings.model_copy(
        update={"discord_token": SecretStr(TOKEN), "guild_id": int(fake.guild_id)}
    )
    with pytest.raises(ConfigError, match=r"'applications\.commands' scope"):
        await asyncio.wait_for(serve_bot(token, service), TIMEOUT)


async def test_the_fake_refuses_a_follow_up_once_the_thinking_reply_is_deleted(
    fake: FakeDiscord,
) -> None:
    """As Discord does (10008): the old delete-then-follow-up error reply lost the reply here."""
    interaction = Interaction("1", "itoken-1", fake.channels["general"], fake.users["bob"])
    fake.interactions[interaction.token] = interaction
    webhook = f"{fake.base_url}/webhooks/{fake.app_id}/{interaction.token}"
    async with aiohttp.ClientSession() as http:
        url = f"{fake.base_url}/interactions/1/{interaction.token}/callback"
        async with http.post(url, json={"type": 5}) as deferred:
            assert deferred.status == 200
        async with http.delete(f"{webhook}/messages/@original") as deleted:
            assert deleted.status == 204
        async with http.post(webhook, json={"content": "Sorry", "flags": EPHEMERAL}) as followup:
            assert followup.status == 404 and (await followup.json())["code"] == 10008
    assert not interaction.messages
    fake.problems.clear()  # refused on purpose


async def test_many_users_asking_at_once_are_each_answered_once(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot()
    for i in range(12):
        fake.users[f"reader{i}"] = str(9_000_000_000_000_000 + i)
    interactions = await asyncio.gather(
        *(fake.slash("ask", {"question": BRIDGE}, by=f"reader{i}") for i in range(12))
    )
    replies = await asyncio.gather(*(reply_to(fake, i) for i in interactions))
    assert all("1.2 billion" in r["embeds"][0]["description"] for r in replies)
    await fake.settle()
    for interaction in interactions:
        assert len(fake.calls("POST", f"/interactions/{interaction.id}/")) == 1
        assert len(fake.calls("POST", f"/webhooks/{fake.app_id}/{interaction.token}")) == 1


async def thread_and_answer(fake: FakeDiscord, started_from: str) -> tuple[Any, Any]:
    """The thread the bot opened from a message, and its first message in it."""
    thread = await fake.wait_for(lambda: fake.threads.get(started_from))
    answers = await fake.wait_for(
        lambda: [m for m in fake.bot_messages() if m["channel_id"] == thread["id"]]
    )
    return thread, answers[0]


async def test_answer_in_thread(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot(answer_in_thread=True)
    interaction = await fake.slash("ask", {"question": BRIDGE})
    intro = await reply_to(fake, interaction)
    assert "asked: How much did the bridge cost?" in intro["content"]
    thread, answer = await thread_and_answer(fake, intro["id"])
    assert thread["name"] == BRIDGE
    assert "1.2 billion" in answer["embeds"][0]["description"]


async def test_mention_in_an_allowed_channel_is_answered(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot(allowed_channels=fake.channels["news"])
    asked = await fake.say(f"<@{fake.bot_id}> {BRIDGE}", channel="news")
    replies = await fake.wait_for(
        lambda: [m for m in fake.bot_messages() if m.get("message_reference")]
    )
    assert str(replies[0]["message_reference"]["message_id"]) == asked["id"]
    assert "1.2 billion" in replies[0]["embeds"][0]["description"]
    assert fake.calls("POST", f"/channels/{fake.channels['news']}/typing")


async def test_mentions_elsewhere_and_from_bots_are_ignored(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot(allowed_channels=fake.channels["news"])
    await fake.say(f"<@{fake.bot_id}> {BRIDGE}", channel="general")
    await fake.say(f"<@{fake.bot_id}> {BRIDGE}", channel="news", by="otherbot")
    await fake.say(f"<@{fake.bot_id}> {BRIDGE}", channel="news", by="footnote")
    await fake.say(BRIDGE, channel="news", mention_bot=False)
    await fake.settle(0.5)
    assert not fake.bot_messages()
    assert not fake.calls("POST", "/channels/")


async def test_every_slash_command_outside_the_allow_list_is_refused_politely(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings
) -> None:
    options: dict[str, dict[str, Any]] = {
        "ask": {"question": BRIDGE},
        "source": {"n": 1},
        "status": {},
        "reindex": {},
        "add": {"file": Upload("ferry.md", FERRY)},
        "news": {"topic": "bridge"},
    }
    bot = await start_bot(allowed_channels=fake.channels["news"])
    assert {command.name for command in bot.tree.get_commands()} == set(options)
    before = corpus_and_index(settings)
    for name, values in options.items():
        interaction = await fake.slash(name, values, by="alice", channel="offtopic")
        reply = await reply_to(fake, interaction)
        assert is_ephemeral(reply), name
        assert f"<#{fake.channels['news']}>" in reply["content"], (name, reply["content"])
    assert corpus_and_index(settings) == before and not fake.calls("GET", "/attachments/")


async def test_missing_token_is_a_config_error(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        run_bot(settings)


async def test_wrong_token_is_a_config_error_without_traceback(
    fake: FakeDiscord, settings: Settings, service: Footnote, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", fake.base_url)
    wrong = settings.model_copy(update={"discord_token": SecretStr("not-the-token")})
    with pytest.raises(ConfigError, match="rejected DISCORD_TOKEN"):
        await asyncio.wait_for(serve_bot(wrong, service), TIMEOUT)
    assert fake.calls("GET", "/users/@me")[0].status == 401


async def test_mention_can_be_answered_in_a_thread(fake: FakeDiscord, start_bot: StartBot) -> None:
    await start_bot(answer_in_thread=True)
    asked = await fake.say(f"<@!{fake.bot_id}> {BRIDGE}")
    thread, answer = await thread_and_answer(fake, asked["id"])
    assert thread["name"] == BRIDGE
    assert "1.2 billion" in answer["embeds"][0]["description"]


async def test_mention_problems_get_a_short_reply(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    fake_embedder: FakeEmbedder,
    logs: Any,
) -> None:
    await start_bot(service=Broken(settings, embedder=fake_embedder))
    await fake.say(f"<@{fake.bot_id}>")
    await fake.say(f"<@{fake.bot_id}> {BRIDGE}", by="carol")
    replies = await fake.wait_for(lambda: len(fake.bot_messages()) == 2 and fake.bot_messages())
    by_question = {
        fake.messages[str(m["message_reference"]["message_id"])]["content"]: m for m in replies
    }
    assert "/ask" in by_question[f"<@{fake.bot_id}>"]["content"]
    assert by_question[f"<@{fake.bot_id}> {BRIDGE}"]["content"] == APOLOGY
    errors = [r for r in logs.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info
    errors[0].ok = True


# --- /add and build progress ----------------------------------------------------------------------

FERRY = b"""---
title: Ferry strike ends after nine days
source: Island Courier
published_at: 2024-06-01
url: https://courier.example/ferry-strike
---

Ferry crews returned to work on Monday after a nine day strike over pay ended with a deal.
The island's ferry company agreed to raise wages by seven percent over two years.
"""


def corpus_and_index(settings: Settings) -> tuple[dict[str, bytes], str]:
    """Every corpus file's bytes and the published index generation: what /add must not touch."""
    corpus = settings.corpus_dir
    files = {p.relative_to(corpus).as_posix(): p.read_bytes() for p in corpus.rglob("*.*")}
    return files, (settings.data_dir / "index" / "CURRENT").read_text()


@pytest.fixture
def web() -> Iterator[WebPages]:
    pages = WebPages()
    yield pages
    pages.close()


async def test_add_a_file_saves_it_indexes_it_and_names_it(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings
) -> None:
    await start_bot()
    interaction = await fake.slash("add", {"file": Upload("ferry-strike.md", FERRY)}, by="alice")
    reply = await reply_to(fake, interaction)
    assert interaction.callback is not None and interaction.callback["type"] == 5
    assert is_ephemeral(reply)
    assert "**Ferry strike ends after nine days** (Island Courier · 2024-06-01)" in reply["content"]
    assert "now holds **8** articles" in reply["content"]
    [saved] = (settings.corpus_dir / "added").iterdir()
    assert saved.read_bytes() == FERRY and f"`added/{saved.name}`" in reply["content"]
    asked = await reply_to(
        fake, await fake.slash("ask", {"question": "How long did the ferry strike last?"})
    )
    assert "nine day strike" in asked["embeds"][0]["description"]


async def test_add_a_json_file_of_several_articles_names_each(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    await start_bot()
    wire = [
        {
            "title": f"Harbor ferry line {n} reopens",
            "source": "Wire Service",
            "published_at": f"2024-07-0{n}",
            "url": f"https://wire.example/ferry-{n}",
            "body": f"Ferry line {n} reopened on Tuesday after repairs to its pier took {n} weeks.",
        }
        for n in (1, 2)
    ]
    upload = Upload("wire.json", json.dumps(wire).encode(), "application/json")
    reply = await reply_to(fake, await fake.slash("add", {"file": upload}, by="alice"))
    assert (
        "**Harbor ferry line 1 reopens** (Wire Service · 2024-07-01): 1 passage" in reply["content"]
    )
    assert "**Harbor ferry line 2 reopens**" in reply["content"]
    assert "now holds **9** articles" in reply["content"]


async def test_add_a_web_page_goes_through_the_feed_extraction(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, web: WebPages
) -> None:
    await start_bot(allow_private_urls=True)
    url = web.add("/news/lighthouse", LIGHTHOUSE_HTML)
    reply = await reply_to(fake, await fake.slash("add", {"url": url}, by="alice"))
    assert (
        "**Gull Island lighthouse shines again after forty years** (Coastal Gazette"
        in reply["content"]
    )
    [saved] = (settings.corpus_dir / "added").iterdir()
    text = saved.read_text()
    assert f"url: {url}" in text and "214 of its cast iron plates" in text and "Home" not in text
    asked = await reply_to(
        fake, await fake.slash("ask", {"question": "When was the Gull Island lighthouse relit?"})
    )
    assert "relit on Wednesday night" in asked["embeds"][0]["description"]
    assert any(opens_at_quote(b.get("url"), url) for b in buttons(asked))


async def test_add_needs_manage_server_or_the_admin_role(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings
) -> None:
    await start_bot()
    before = corpus_and_index(settings)
    reply = await reply_to(fake, await fake.slash("add", {"file": Upload("f.md", FERRY)}, by="bob"))
    assert is_ephemeral(reply) and reply["content"] == "/add needs the Manage Server permission."
    assert corpus_and_index(settings) == before and not fake.calls("GET", "/attachments/")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"file": Upload("ferry.pdf", FERRY)}, "not an article file"),
        ({"file": Upload("ferry.md", FERRY * 40)}, "at most 1 kB"),
        ({}, "one of the two"),
        ({"file": Upload("ferry.md", FERRY), "url": "https://courier.example/a"}, "one of the two"),
        ({"url": "courier.example/ferry"}, "http:// or https://"),
    ],
)
async def test_add_refuses_at_once_what_it_can_tell_before_reading(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    options: dict[str, Any],
    expected: str,
) -> None:
    await start_bot(add_max_bytes=1000)
    before = corpus_and_index(settings)
    interaction = await fake.slash("add", options, by="alice")
    reply = await reply_to(fake, interaction)
    assert interaction.callback is not None and interaction.callback["type"] == 4
    assert is_ephemeral(reply) and expected in reply["content"], reply["content"]
    assert corpus_and_index(settings) == before


async def test_add_refuses_privately_what_it_finds_on_reading(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, web: WebPages
) -> None:
    await start_bot(allow_private_urls=True)
    before = corpus_and_index(settings)
    cases = [
        ({"file": Upload("empty.html", EMPTY_HTML.encode())}, "no article text"),
        (
            {"file": Upload("again.md", (settings.corpus_dir / "harbor-bridge.md").read_bytes())},
            "already in the corpus (as harbor-bridge.md)",
        ),
        ({"url": web.add("/teaser", EMPTY_HTML)}, "no article text found on the page"),
        ({"url": web.add("/gone", "gone", status=404)}, "HTTP 404"),
    ]
    for options, expected in cases:
        interaction = await fake.slash("add", options, by="alice")
        reply = await reply_to(fake, interaction)
        assert interaction.callback == {"type": 5, "data": {"flags": EPHEMERAL}}
        assert reply["id"] == interaction.original_id and is_ephemeral(reply)
        assert expected in reply["content"] and len(reply["content"]) < 400, reply["content"]
    assert corpus_and_index(settings) == before


async def test_add_refuses_pages_on_private_addresses_by_default(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, web: WebPages
) -> None:
    await start_bot()
    before = corpus_and_index(settings)
    url = web.add("/news/lighthouse", LIGHTHOUSE_HTML)
    reply = await reply_to(fake, await fake.slash("add", {"url": url}, by="alice"))
    assert is_ephemeral(reply) and "127.0.0.1" in reply["content"]
    assert "public internet" in reply["content"]
    assert not web.requested and corpus_and_index(settings) == before


class SlowBuild(Footnote):
    """Reports embedding progress slowly before building, like a long build would."""

    def index(self, *, rebuild: bool = False, progress: Any = None) -> Any:
        for done in range(0, 12, 3):
            if progress is not None:
                progress(done, 12)
            time.sleep(0.15)
        return super().index(rebuild=rebuild, progress=progress)


def progress_edits(fake: FakeDiscord, interaction: Interaction) -> list[str]:
    path = f"/webhooks/{fake.app_id}/{interaction.token}/messages/@original"
    return [r.body.get("content") or "" for r in fake.calls("PATCH", path)]


@pytest.mark.parametrize(
    ("command", "options", "final"),
    [("reindex", {}, "Index updated"), ("add", {"file": Upload("f.md", FERRY)}, "Added")],
)
async def test_a_long_build_shows_its_counts_as_it_goes(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    fake_embedder: FakeEmbedder,
    command: str,
    options: dict[str, Any],
    final: str,
) -> None:
    bot = await start_bot(service=SlowBuild(settings, embedder=fake_embedder))
    bot.progress_interval = 0.05
    interaction = await fake.slash(command, options, by="alice")
    await fake.wait_for(lambda: (r := final_message(fake, interaction)) and final in r["content"])
    edits = progress_edits(fake, interaction)
    assert final in edits[-1]
    steps = [e for e in edits[:-1] if "passages embedded" in e]
    assert "**3** of **12** passages embedded" in " ".join(steps)
    assert len(steps) > 5  # every interval, not only when a count changes (4 changes here)


async def test_a_failing_progress_edit_does_not_fail_the_build(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    fake_embedder: FakeEmbedder,
    logs: _ErrorRecords,
) -> None:
    bot = await start_bot(service=SlowBuild(settings, embedder=fake_embedder))
    bot.progress_interval = 0.05
    fake.fail("PATCH", "/messages/@original", status=0, times=2)  # the network drops two edits
    interaction = await fake.slash("reindex", by="alice")
    reply = await fake.wait_for(
        lambda: (r := final_message(fake, interaction)) and "Index updated" in r["content"] and r
    )
    assert "now holds **7** articles" in reply["content"]
    dropped = [r for r in logs.records if "could not show build progress" in r.getMessage()]
    assert len(dropped) == 2


async def test_add_waits_for_a_build_already_running(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings
) -> None:
    from index.build import build_lock

    bot = await start_bot()
    bot.progress_interval = 0.05
    with build_lock(settings.data_dir):  # e.g. the corpus watcher's build
        interaction = await fake.slash("add", {"file": Upload("f.md", FERRY)}, by="alice")
        await fake.wait_for(lambda: any("waiting" in e for e in progress_edits(fake, interaction)))
    reply = await fake.wait_for(
        lambda: (r := final_message(fake, interaction)) and "Added" in r["content"] and r
    )
    assert "Ferry strike" in reply["content"] and "now holds **8** articles" in reply["content"]


# --- Conversations ---------------------------------------------------------------------------

CHAMPION = "Which teenager won the national chess championship?"
FOLLOW_UP = "How many moves did her deciding game take?"


async def saved(bot: FootnoteBot, key: str) -> None:
    """Wait until the bot has saved conversation key (it does so just after replying)."""
    for _ in range(200):
        if await asyncio.to_thread(bot.conversations.turns, key):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"conversation {key} was not saved")


async def test_a_reply_to_an_answer_is_read_in_its_conversation(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    bot = await start_bot()
    await fake.say(f"<@{fake.bot_id}> {CHAMPION}")
    first = (await fake.wait_for(lambda: fake.bot_messages()))[0]
    assert "Nandakumar" in first["embeds"][0]["description"]
    await saved(bot, f"message:{first['id']}")
    await fake.say(f"<@{fake.bot_id}> {FOLLOW_UP}", by="carol", reply_to=first)
    second = (await fake.wait_for(lambda: fake.bot_messages()[1:]))[0]
    embed = second["embeds"][0]
    assert embed["title"] == FOLLOW_UP
    assert "Read as: How many moves did" in embed["footer"]["text"]
    assert "Nandakumar" in embed["footer"]["text"] and "41 moves" in embed["description"]
    # A question that replies to nothing starts afresh.
    await fake.say(f"<@{fake.bot_id}> {FOLLOW_UP}", by="alice")
    third = (await fake.wait_for(lambda: fake.bot_messages()[2:]))[0]
    assert "Read as" not in third["embeds"][0].get("footer", {}).get("text", "")


async def test_a_follow_up_in_the_answer_thread_survives_a_restart(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    bot = await start_bot(answer_in_thread=True)
    asked = await fake.say(f"<@{fake.bot_id}> {CHAMPION}")
    thread, _ = await thread_and_answer(fake, asked["id"])
    await saved(bot, f"thread:{thread['id']}")
    await bot.close()
    await start_bot(answer_in_thread=True)
    await fake.say(f"<@{fake.bot_id}> {FOLLOW_UP}", thread=thread["id"])
    answers = await fake.wait_for(
        lambda: [m for m in fake.bot_messages() if m["channel_id"] == thread["id"]][1:]
    )
    embed = answers[0]["embeds"][0]
    assert "Nandakumar" in embed["footer"]["text"] and "41 moves" in embed["description"]
    assert len(fake.threads) == 1  # answered in the thread, not in a new one


async def test_an_ask_in_the_answer_thread_continues_it(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    bot = await start_bot(answer_in_thread=True)
    intro = await reply_to(fake, await fake.slash("ask", {"question": CHAMPION}))
    thread, _ = await thread_and_answer(fake, intro["id"])
    await saved(bot, f"thread:{thread['id']}")
    fake.channels["answer-thread"] = thread["id"]
    reply = await reply_to(
        fake, await fake.slash("ask", {"question": FOLLOW_UP}, channel="answer-thread", by="carol")
    )
    assert reply.get("embeds"), reply
    embed = reply["embeds"][0]
    assert "Nandakumar" in embed["footer"]["text"] and "41 moves" in embed["description"]


# --- Generated answers ------------------------------------------------------------------------


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.stop()


def model_settings(settings: Settings, llm: FakeLLM) -> dict[str, Any]:
    return {
        "llm_base_url": llm.base_url,
        "llm_model": "fake-model",
        "llm_timeout": 2.0,
        "llm_min_similarity": 0.2,  # the fake embedder's cosines run low
    }


async def test_a_generated_answer_streams_in_checked_sentence_by_sentence(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, llm: FakeLLM
) -> None:
    changes = model_settings(settings, llm)
    service = Footnote(settings.model_copy(update=changes), embedder=FakeEmbedder())
    bot = await start_bot(service=service, **changes)
    bot.stream_interval = 0.2
    llm.script = [
        Reply(
            "The bridge cost 1.2 billion dollars [1]. Governor Tom Hale paid 9 billion [1]. "
            "It spans 1,400 metres across the bay [1]. Tolls start in June [1].",
            piece=5,
            delay=0.03,
        )
    ]
    interaction = await fake.slash("ask", {"question": BRIDGE})
    reply = await fake.wait_for(
        lambda: (m := final_message(fake, interaction)) and m.get("embeds") and m, TIMEOUT
    )
    edits = [
        r.body.get("content") or ""
        for r in fake.calls("PATCH", f"/webhooks/{fake.app_id}/{interaction.token}")
    ]
    streamed = [e for e in edits if "writing" in e]
    assert streamed and streamed[0].startswith("The bridge cost 1.2 billion dollars. [1]")
    assert not any("Hale" in e or "9 billion" in e for e in edits)  # never an unchecked one
    description = reply["embeds"][0]["description"]
    assert description.startswith("The bridge cost 1.2 billion dollars. [1] It spans")
    assert "Hale" not in description and "**Quotes**" in description
    assert not reply.get("content")


async def test_a_failing_model_shows_the_quotes_and_says_so(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, llm: FakeLLM
) -> None:
    changes = model_settings(settings, llm)
    service = Footnote(settings.model_copy(update=changes), embedder=FakeEmbedder())
    await start_bot(service=service, **changes)
    llm.script = [Status(429), Reply("The bridge was built by Atlantis [1].")]
    reply = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    assert "rate-limited" in reply["content"] and "quoted from the articles" in reply["content"]
    assert "1.2 billion" in reply["embeds"][0]["description"]
    await fake.say(f"<@{fake.bot_id}> {BRIDGE}", by="carol")
    answers = await fake.wait_for(
        lambda: [m for m in fake.bot_messages() if m.get("embeds")][1:], TIMEOUT
    )
    mention = answers[0]
    assert "did not pass the check" in mention["content"]
    assert "Atlantis" not in str(mention)


async def test_a_mention_answer_streams_into_its_reply(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, llm: FakeLLM
) -> None:
    changes = model_settings(settings, llm)
    service = Footnote(settings.model_copy(update=changes), embedder=FakeEmbedder())
    bot = await start_bot(service=service, **changes)
    bot.stream_interval = 0.2
    llm.script = [
        Reply("The bridge cost 1.2 billion dollars [1]. It spans 1,400 metres [1].", delay=0.05)
    ]
    asked = await fake.say(f"<@{fake.bot_id}> {BRIDGE}")
    replies = await fake.wait_for(lambda: [m for m in fake.bot_messages() if m.get("embeds")])
    assert len(fake.bot_messages()) == 1  # one reply, edited from the stream into the answer
    assert str(replies[0]["message_reference"]["message_id"]) == asked["id"]
    assert fake.calls("PATCH", f"/channels/{fake.channels['general']}/messages/{replies[0]['id']}")
    assert replies[0]["embeds"][0]["description"].startswith("The bridge cost 1.2 billion")


async def test_generated_answers_stream_into_the_thread_they_open(
    fake: FakeDiscord, start_bot: StartBot, settings: Settings, llm: FakeLLM
) -> None:
    changes = model_settings(settings, llm) | {"answer_in_thread": True}
    service = Footnote(settings.model_copy(update=changes), embedder=FakeEmbedder())
    bot = await start_bot(service=service, **changes)
    bot.stream_interval = 0.2
    text = "The bridge cost 1.2 billion dollars [1]. It spans 1,400 metres [1]."
    llm.script = [Reply(text, delay=0.05), Reply(text, delay=0.05)]
    # A mention: the thread opens on the question, the stream goes into it and becomes the answer.
    asked = await fake.say(f"<@{fake.bot_id}> {BRIDGE}")
    thread, answer = await thread_and_answer(fake, asked["id"])
    assert thread["name"] == BRIDGE
    final = await fake.wait_for(
        lambda: (m := fake.messages[answer["id"]]).get("embeds") and m, TIMEOUT
    )
    assert final["embeds"][0]["description"].startswith("The bridge cost 1.2 billion")
    assert fake.calls("PATCH", f"/channels/{thread['id']}/messages/{answer['id']}")
    assert not [m for m in fake.bot_messages() if m.get("message_reference")]  # none inline
    # /ask: the intro in the channel, the thread on it, the stream in the thread.
    interaction = await fake.slash("ask", {"question": BRIDGE}, by="carol")
    intro = await reply_to(fake, interaction)
    assert "asked: How much did the bridge cost?" in intro["content"]
    thread, answer = await thread_and_answer(fake, intro["id"])
    final = await fake.wait_for(
        lambda: (m := fake.messages[answer["id"]]).get("embeds") and m, TIMEOUT
    )
    assert final["embeds"][0]["description"].startswith("The bridge cost 1.2 billion")
    assert fake.calls("PATCH", f"/channels/{thread['id']}/messages/{answer['id']}")
    assert not intro.get("embeds")  # the answer is in the thread, not on the intro


# --- /news ---------------------------------------------------------------------------------------

FERRY_NEWS = 7  # articles about the harbour ferry: two pages of five


def ferry_news(folder: Path) -> Path:
    """FERRY_NEWS invented ferry reports, one a month of 2024 from January, and a chess one."""
    folder.mkdir(parents=True)
    for month in range(1, FERRY_NEWS + 1):
        (folder / f"ferry-{month}.md").write_text(
            f'---\ntitle: "Harbor ferry report {month}"\nsource: "Harbor City Herald"\n'
            f'published_at: 2024-{month:02d}-10\nurl: "https://herald.example/ferry-{month}"\n---\n\n'
            f"Ferry news\n\nThe harbor ferry carried {month},000 passengers in month {month}, "
            "the operator said on Monday.\n\nThe harbor ferry runs every hour.\n",
            "utf-8",
        )
    (folder / "chess.md").write_text(
        '---\ntitle: "Teenager wins the chess final"\nsource: "Daily Pawn"\n'
        "published_at: 2024-04-01\n---\n\nA sixteen-year-old won the national chess final.\n",
        "utf-8",
    )
    return folder


@pytest.fixture
def ferries(tmp_path: Path) -> tuple[Settings, Footnote]:
    settings = Settings(
        data_dir=tmp_path / "ferry-data",
        corpus_dir=ferry_news(tmp_path / "ferry-corpus"),
        min_similarity=0.2,
        cooldown_seconds=0,
    )
    service = Footnote(settings, embedder=FakeEmbedder())
    service.index()
    return settings, service


def news_items(n: int, size: int = 60) -> list[NewsItem]:
    return [
        NewsItem(replace(make_source(i, size=size), published=f"2024-03-{i % 28 + 1:02d}"), 0.5)
        for i in range(1, n + 1)
    ]


def test_news_embed_shows_a_page_of_five_within_discords_limits() -> None:
    items = news_items(12)
    first = news_embed("the bridge", items, 0).to_dict()
    assert [f["name"][:4] for f in first["fields"]] == ["[1] ", "[2] ", "[3] ", "[4] ", "[5] "]
    assert "page 1 of 3" in first["footer"]["text"]
    last = news_embed("the bridge", items, 2).to_dict()
    assert [f["name"][:5] for f in last["fields"]] == ["[11] ", "[12] "]
    for page in (first, last):
        assert not validate_message({"embeds": [page]}), validate_message({"embeds": [page]})
        assert embed_length(page) <= EMBED_TOTAL_LIMIT
    one = news_embed("the bridge", news_items(1, size=1), 0).to_dict()
    value = one["fields"][0]["value"]
    assert value.startswith("*Harbor City Herald · 2024-03-02*\n<https://herald.example/a#:~:text=")
    assert "#:~:text=" in value and "> “The bridge cost" in value


async def test_news_lists_the_newest_first_with_leads_and_pages(
    fake: FakeDiscord, start_bot: StartBot, ferries: tuple[Settings, Footnote]
) -> None:
    await start_bot(*ferries)
    interaction = await fake.slash("news", {"topic": "harbor ferry"})
    reply = await reply_to(fake, interaction)
    assert interaction.callback == {"type": 5}  # thinking…, then the list
    assert not is_ephemeral(reply)
    embed = reply["embeds"][0]
    assert [f["name"] for f in embed["fields"]] == [
        f"[{n}] Harbor ferry report {FERRY_NEWS + 1 - n}" for n in range(1, 6)
    ]
    first = embed["fields"][0]["value"]
    assert "*Harbor City Herald · 2024-07-10*" in first
    assert f"<https://herald.example/ferry-{FERRY_NEWS}#:~:text=" in first
    lead = f"The harbor ferry carried {FERRY_NEWS},000 passengers in month {FERRY_NEWS}, the"
    assert f"> “{lead} operator said on Monday.”" in first  # the heading is skipped
    assert "page 1 of 2" in embed["footer"]["text"]
    prev, next_ = buttons(reply)
    assert (prev["label"], next_["label"]) == ("Prev", "Next")
    assert prev.get("disabled") and not next_.get("disabled")

    pressed = await fake.press(reply, next_["custom_id"])
    turned = await fake.wait_for(lambda: pressed.callback, TIMEOUT)
    assert turned["type"] == 7  # the message itself is updated
    page = turned["data"]["embeds"][0]
    assert [f["name"] for f in page["fields"]] == [
        "[6] Harbor ferry report 2",
        "[7] Harbor ferry report 1",
    ]
    assert "page 2 of 2" in page["footer"]["text"]
    assert not validate_message(turned["data"])
    prev, next_ = buttons(turned["data"])
    assert not prev.get("disabled") and next_.get("disabled")

    back = await fake.press(reply, prev["custom_id"])
    again = (await fake.wait_for(lambda: back.callback, TIMEOUT))["data"]["embeds"][0]
    assert again["fields"][0]["name"] == f"[1] Harbor ferry report {FERRY_NEWS}"

    # Only the member who asked turns the pages; anyone else is told so privately.
    other = await fake.press(reply, next_["custom_id"], by="carol")
    refused = await reply_to(fake, other)
    assert is_ephemeral(refused) and "/news" in refused["content"]


async def test_news_since_a_day_and_a_single_page_without_buttons(
    fake: FakeDiscord, start_bot: StartBot, ferries: tuple[Settings, Footnote]
) -> None:
    await start_bot(*ferries)
    reply = await reply_to(
        fake, await fake.slash("news", {"topic": "harbor ferry", "since": "2024-05-01"})
    )
    names = [f["name"] for f in reply["embeds"][0]["fields"]]
    assert names == [
        "[1] Harbor ferry report 7",
        "[2] Harbor ferry report 6",
        "[3] Harbor ferry report 5",
    ]
    assert not buttons(reply)


async def test_news_about_nothing_indexed_says_so(
    fake: FakeDiscord, start_bot: StartBot, ferries: tuple[Settings, Footnote]
) -> None:
    await start_bot(*ferries)
    reply = await reply_to(
        fake, await fake.slash("news", {"topic": "volcano eruption", "since": "2024-02-01"})
    )
    assert reply["content"] == "Nothing indexed about volcano eruption since 2024-02-01."
    assert not reply.get("embeds")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"topic": "harbor ferry", "since": "last week"}, "YYYY-MM-DD"),
        ({"topic": "harbor ferry", "since": "2024-13-01"}, "YYYY-MM-DD"),
        ({"topic": "   "}, "name a topic"),
        ({"topic": "harbor ferry", "since": "2999-01-01"}, "is after"),
    ],
)
async def test_news_mistakes_get_a_short_private_reply(
    fake: FakeDiscord,
    start_bot: StartBot,
    ferries: tuple[Settings, Footnote],
    options: dict[str, Any],
    expected: str,
) -> None:
    await start_bot(*ferries)
    reply = await reply_to(fake, await fake.slash("news", options))
    assert is_ephemeral(reply) and expected in reply["content"]
