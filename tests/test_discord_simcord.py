"""The real bot driven through SimCord, an offline Discord simulator nobody on this project wrote.

The second, independent peer of tests/test_discord_app.py (the project's own loopback fake): the
same scenarios where they overlap, so a leniency of one fake cannot hide a bug. SimCord runs
discord.py's real machinery against its own model of Discord's REST API and gateway, checks
payload limits, interaction lifecycles and permissions, and refuses what Discord refuses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord
from simcord.builders import ChannelHandle, GuildHandle

from bot.config import Settings
from bot.discord.app import FootnoteBot, create_bot
from bot.discord.checks import MissingReindexPermission
from bot.discord.replies import APOLOGY
from bot.service import Footnote
from index.errors import FootnoteError
from tests.fakes import FakeEmbedder
from tests.test_discord_app import (
    BRIDGE,
    FERRY,
    Broken,
    FailingIndex,
    HugeAnswers,
    SlowBuild,
    broken_index,
    corpus_and_index,
    opens_at_quote,
)
from tests.web_pages import EMPTY_HTML, LIGHTHOUSE_HTML, WebPages

GUILD_ID = 424_242_424_242_424_242
HARBOR_URL = "https://herald.example/harbor-bridge"


class World:
    """One SimCord Discord: a guild, its channels and members, and the bot under test."""

    def __init__(self, env: simcord.Env, settings: Settings, service: Footnote) -> None:
        self.env = env
        self.settings = settings
        self.service = service
        self.guild: GuildHandle = env.create_guild("Newsroom", id=GUILD_ID)
        self.general: ChannelHandle = self.guild.create_text_channel("general")
        self.news: ChannelHandle = self.guild.create_text_channel("news")
        editors = self.guild.create_role(
            "Editors", permissions=discord.Permissions(manage_guild=True)
        )
        librarians = self.guild.create_role("Librarians")
        self.alice = self.guild.add_member(env.create_user("alice"), roles=[editors])
        self.bob = self.guild.add_member(env.create_user("bob"))
        self.carol = self.guild.add_member(env.create_user("carol"), roles=[librarians])
        self.otherbot = self.guild.add_member(env.create_user("otherbot", bot=True))

    def bot(self, service: Footnote | None = None, **changes: Any) -> FootnoteBot:
        settings = self.settings.model_copy(update={"guild_id": GUILD_ID, **changes})
        return create_bot(settings, service or self.service)

    async def restart(self, service: Footnote | None = None, **changes: Any) -> FootnoteBot:
        """Restart the bot with other settings or service; the simulated Discord persists."""
        bot = self.bot(service, **changes)
        await self.env.restart_bot(bot)
        return bot

    def user_errors(self) -> list[BaseException]:
        """The errors that reached the command tree, acknowledged: each must be a user mistake."""
        errors = self.env.errors
        unexpected = [
            e
            for e in errors
            if not isinstance(
                getattr(e, "original", e), FootnoteError | discord.app_commands.CheckFailure
            )
        ]
        assert not unexpected, unexpected
        return errors


@pytest.fixture
def simcord_bot(settings: Settings, service: Footnote) -> FootnoteBot:
    """The bot SimCord's simcord_env fixture starts (its pytest plugin)."""
    return create_bot(settings.model_copy(update={"guild_id": GUILD_ID}), service)


@pytest.fixture
async def world(simcord_env: simcord.Env, settings: Settings, service: Footnote) -> World:
    """SimCord running the bot over the indexed tiny news corpus, commands synced to the guild."""
    w = World(simcord_env, settings, service)
    # The guild exists only once the env runs: restarting the bot syncs its commands there.
    await simcord_env.restart_bot(w.bot())
    return w


def passage_ids(message: Any) -> list[str]:
    return [
        c["custom_id"]
        for row in message.components
        for c in row["components"]
        if c.get("custom_id", "").startswith("footnote:passage:")
    ]


def link_urls(message: Any) -> list[str]:
    return [c["url"] for row in message.components for c in row["components"] if c.get("url")]


# --- The same scenarios as the fake Discord's suite ---------------------------------------------


async def test_commands_are_registered_with_descriptions(world: World) -> None:
    assert set(world.bob.available_commands(world.general)) == {
        "ask",
        "source",
        "reindex",
        "add",
        "status",
        "news",
    }
    synced = [
        r for r in world.env.http_requests if r.method == "PUT" and r.path.endswith("/commands")
    ]
    commands = synced[-1].json
    assert all(c["description"] for c in commands)
    assert all(o["description"] for c in commands for o in c.get("options", []))


async def test_ask_answers_publicly_with_citations_and_buttons(world: World) -> None:
    result = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert not result.ephemeral
    reply = result.response
    assert reply is not None and not reply.ephemeral
    embed = reply.embeds[0]
    assert "1.2 billion dollars" in (embed.description or "") and "[1]" in (embed.description or "")
    assert embed.fields[0].name and embed.fields[0].name.startswith("[1] Harbor City")
    assert passage_ids(reply) and any(opens_at_quote(u, HARBOR_URL) for u in link_urls(reply))


async def test_not_found_says_so_and_shows_nearest_sources(
    world: World, settings: Settings, service: Footnote
) -> None:
    strict = settings.model_copy(update={"min_similarity": 0.99})
    await world.restart(Footnote(strict, embedder=service.embedder))
    result = await world.bob.slash(world.general, "ask", question="What is the capital of Peru?")
    assert result.response is not None
    embed = result.response.embeds[0]
    assert "couldn't find an answer" in (embed.description or "")
    assert "may not answer" in (embed.footer.text or "")


async def test_passage_button_is_private_and_survives_a_restart(world: World) -> None:
    asked = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert asked.response is not None
    message = asked.response.message
    custom_id = passage_ids(asked.response)[0]
    await world.restart()
    pressed = await world.carol.click(message, custom_id=custom_id)
    assert pressed.response is not None and pressed.ephemeral
    passage = pressed.response.embeds[0]
    assert "**The bridge cost 1.2 billion dollars" in (passage.description or "")
    assert "Mayor Elena Ruiz" in (passage.description or "")
    assert opens_at_quote(passage.url, HARBOR_URL)


async def test_a_passage_button_whose_answer_is_gone_says_so_privately(
    world: World, tmp_path: Path
) -> None:
    asked = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert asked.response is not None
    message = asked.response.message
    await world.restart(data_dir=tmp_path / "fresh")  # the stored answers did not survive
    pressed = await world.carol.click(message, custom_id=passage_ids(asked.response)[0])
    assert pressed.ephemeral and pressed.response is not None
    assert "no longer stored" in pressed.response.content


async def test_source_opens_a_passage_of_your_last_answer(world: World) -> None:
    none_yet = await world.carol.slash(world.general, "source", n=1)
    assert none_yet.ephemeral and none_yet.response and "/ask" in none_yet.response.content
    await world.carol.slash(world.general, "ask", question=BRIDGE)
    shown = await world.carol.slash(world.general, "source", n=1)
    assert shown.ephemeral and shown.response
    assert "1.2 billion" in (shown.response.embeds[0].description or "")
    missing = await world.carol.slash(world.general, "source", n=9)
    assert missing.ephemeral and missing.response and "no source [9]" in missing.response.content
    assert len(world.user_errors()) == 2


async def test_reindex_needs_manage_server_or_the_admin_role(world: World) -> None:
    await world.restart(admin_role="Librarians")
    refused = await world.bob.slash(world.general, "reindex")
    assert refused.ephemeral and refused.response
    assert (
        refused.response.content
        == "/reindex needs the Manage Server permission or the Librarians role."
    )
    [error] = world.user_errors()
    assert isinstance(error, MissingReindexPermission)
    for who, rebuild in ((world.alice, False), (world.carol, True)):
        result = await who.slash(world.general, "reindex", rebuild=rebuild)
        assert result.response is not None
        assert "now holds **7** articles" in result.response.content
    assert "**7** added" in result.response.content  # the rebuild embedded every article again


async def test_status_is_private(world: World) -> None:
    result = await world.bob.slash(world.general, "status")
    assert result.ephemeral and result.response
    assert "**7** articles, **7** passages" in result.response.content


async def test_cooldown_is_per_user(world: World) -> None:
    await world.restart(cooldown_seconds=60)
    await world.bob.slash(world.general, "ask", question=BRIDGE)
    again = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert again.ephemeral and again.response and "wait" in again.response.content
    other = await world.carol.slash(world.general, "ask", question=BRIDGE)
    assert not other.ephemeral and other.response and other.response.embeds
    world.user_errors()


async def test_huge_answer_fits_discords_limits(
    world: World, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    await world.restart(HugeAnswers(settings, embedder=fake_embedder))
    result = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert result.response is not None  # SimCord answers 400 to a payload over any limit
    embed = result.response.embeds[0]
    assert "[1]" in (embed.description or "") and len(embed.fields) == 10


@pytest.mark.parametrize(
    ("question", "expected"), [("x" * 5000, "limited to 1,000 characters"), ("   ", "empty")]
)
async def test_bad_questions_get_a_short_private_reply(
    world: World, question: str, expected: str
) -> None:
    result = await world.bob.slash(world.general, "ask", question=question)
    assert not result.deferred and result.ephemeral and result.response
    assert expected in result.response.content and len(result.response.content) < 300
    world.user_errors()


async def test_commands_outside_the_allow_list_are_refused_politely(world: World) -> None:
    await world.restart(allowed_channels=str(world.news.id))
    result = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert result.ephemeral and result.response
    assert f"<#{world.news.id}>" in result.response.content
    world.user_errors()


async def test_answer_in_a_thread(world: World) -> None:
    await world.restart(answer_in_thread=True)
    result = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert result.response is not None
    assert "asked: How much did the bridge cost?" in result.response.content
    [thread] = world.general.threads
    assert thread.name == BRIDGE
    answer = thread.last_message
    assert answer is not None and "1.2 billion" in (answer.embeds[0].description or "")


async def test_a_mention_in_an_allowed_channel_is_answered(world: World) -> None:
    bot = await world.restart(allowed_channels=str(world.news.id))
    assert bot.user is not None
    asked = await world.bob.send(world.news, f"{bot.user.mention} {BRIDGE}")
    reply = world.news.last_message
    assert reply is not None and reply.author.id == bot.user.id
    assert reply.reference is not None and reply.reference.message_id == asked.id
    assert "1.2 billion" in (reply.embeds[0].description or "")


async def test_mentions_elsewhere_and_from_bots_are_ignored(world: World) -> None:
    bot = await world.restart(allowed_channels=str(world.news.id))
    assert bot.user is not None
    await world.bob.send(world.general, f"{bot.user.mention} {BRIDGE}")
    await world.otherbot.send(world.news, f"{bot.user.mention} {BRIDGE}")
    await world.bob.send(world.news, BRIDGE)
    for channel in (world.general, world.news):
        assert all(m.author.id != bot.user.id for m in channel.history())


async def test_a_mention_can_be_answered_in_a_thread(world: World) -> None:
    bot = await world.restart(answer_in_thread=True)
    assert bot.user is not None
    await world.bob.send(world.general, f"{bot.user.mention} {BRIDGE}")
    [thread] = world.general.threads
    assert thread.name == BRIDGE
    answer = thread.last_message
    assert answer is not None and "1.2 billion" in (answer.embeds[0].description or "")


async def test_mention_problems_get_a_short_reply(
    world: World, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    bot = await world.restart(Broken(settings, embedder=fake_embedder))
    assert bot.user is not None
    await world.bob.send(world.general, bot.user.mention)
    assert world.general.last_message is not None
    assert "/ask" in world.general.last_message.content
    await world.carol.send(world.general, f"{bot.user.mention} {BRIDGE}")
    assert world.general.last_message is not None
    assert world.general.last_message.content == APOLOGY


# --- Every error path reaches the user --------------------------------------------------------


async def test_no_index_after_thinking_edits_the_reply_into_the_error(
    world: World, settings: Settings, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    empty = settings.model_copy(update={"data_dir": tmp_path / "empty"})
    await world.restart(Footnote(empty, embedder=fake_embedder), data_dir=tmp_path / "empty")
    result = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert result.response is not None  # the placeholder, edited, not deleted
    assert not [r for r in world.env.http_requests if r.method == "DELETE"]
    assert "no index yet" in result.response.content and not result.followups
    world.user_errors()


async def test_a_broken_index_reaches_the_user(
    world: World, settings: Settings, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    broken = broken_index(settings, fake_embedder, tmp_path)
    await world.restart(Footnote(broken, embedder=fake_embedder), data_dir=broken.data_dir)
    result = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert result.response is not None and "The index is damaged" in result.response.content
    assert str(tmp_path) not in result.response.content
    world.user_errors()


async def test_a_crash_in_the_answerer_is_apologised_for(
    world: World, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    await world.restart(Broken(settings, embedder=fake_embedder))
    result = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert result.response is not None and result.response.content == APOLOGY
    [error] = world.env.errors
    assert "disk caught fire" in str(getattr(error, "original", error))


async def test_an_error_reply_falls_back_to_a_follow_up_when_the_edit_fails(
    world: World, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    await world.restart(Broken(settings, embedder=fake_embedder))
    world.env.inject_error(
        "PATCH", "/webhooks/*/*/messages/@original", status=404, code=10008, message="Unknown"
    )
    result = await world.bob.slash(world.general, "ask", question=BRIDGE)
    assert result.response is not None and result.response.content == APOLOGY
    world.env.errors  # noqa: B018 - the crash, acknowledged


async def test_an_error_reply_that_cannot_be_sent_is_logged_not_raised(
    world: World, settings: Settings, fake_embedder: FakeEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    await world.restart(Broken(settings, embedder=fake_embedder))
    for method, path in (("PATCH", "/webhooks/*/*/messages/@original"), ("POST", "/webhooks/*/*")):
        world.env.inject_error(method, path, status=404, code=10015, message="Unknown Webhook")
    await world.bob.slash(world.general, "ask", question=BRIDGE)
    [crash] = world.env.errors  # the answerer's crash, and nothing raised by the error reply
    assert "disk caught fire" in str(getattr(crash, "original", crash))
    assert any("could not send an error reply" in r.getMessage() for r in caplog.records)


async def test_a_failing_reindex_reaches_the_user(
    world: World, settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    await world.restart(FailingIndex(settings, embedder=fake_embedder))
    result = await world.alice.slash(world.general, "reindex")
    assert result.response is not None and result.response.content == APOLOGY
    [error] = world.env.errors
    assert "out of disk space" in str(getattr(error, "original", error))


async def test_a_failed_sync_keeps_serving_the_commands_already_registered(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.env.inject_error(
        "PUT", "/applications/*/guilds/*/commands", status=400, code=50035, message="Invalid"
    )
    await world.restart()
    assert any("could not register slash commands" in r.getMessage() for r in caplog.records)
    result = await world.bob.slash(world.general, "status")
    assert result.response is not None and "**7** articles" in result.response.content


# --- /add and progress -------------------------------------------------------------------------


@pytest.fixture
def web() -> Iterator[WebPages]:
    pages = WebPages()
    yield pages
    pages.close()


async def test_add_a_file_then_ask_about_it(world: World, settings: Settings) -> None:
    result = await world.alice.slash(world.general, "add", file=("ferry-strike.md", FERRY))
    assert result.ephemeral and result.response is not None and not result.followups
    content = result.response.content
    assert "**Ferry strike ends after nine days** (Island Courier · 2024-06-01)" in content
    assert "now holds **8** articles" in content
    [saved] = (settings.corpus_dir / "added").iterdir()
    assert saved.read_bytes() == FERRY
    asked = await world.bob.slash(
        world.general, "ask", question="How long did the ferry strike last?"
    )
    assert asked.response is not None
    assert "nine day strike" in (asked.response.embeds[0].description or "")


async def test_add_a_web_page(world: World, settings: Settings, web: WebPages) -> None:
    await world.restart(allow_private_urls=True)
    url = web.add("/news/lighthouse", LIGHTHOUSE_HTML)
    result = await world.alice.slash(world.general, "add", url=url)
    assert result.ephemeral and result.response is not None
    assert "**Gull Island lighthouse shines again after forty years**" in result.response.content
    [saved] = (settings.corpus_dir / "added").iterdir()
    assert "214 of its cast iron plates" in saved.read_text()


async def test_add_is_refused_to_members_without_manage_server(
    world: World, settings: Settings
) -> None:
    before = corpus_and_index(settings)
    result = await world.bob.slash(world.general, "add", file=("ferry.md", FERRY))
    assert result.ephemeral and result.response and "Manage Server" in result.response.content
    assert corpus_and_index(settings) == before
    world.user_errors()


async def test_add_refusals_are_private_and_change_nothing(
    world: World, settings: Settings, web: WebPages
) -> None:
    await world.restart(add_max_bytes=1000, allow_private_urls=True)
    before = corpus_and_index(settings)
    bridge = (settings.corpus_dir / "harbor-bridge.md").read_bytes()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"file": ("ferry.pdf", FERRY)}, "not an article file"),
        ({"file": ("ferry.md", FERRY * 40)}, "at most 1 kB"),
        ({}, "one of the two"),
        ({"url": "courier.example/ferry"}, "http:// or https://"),
        ({"file": ("empty.html", EMPTY_HTML.encode())}, "no article text"),
        ({"file": ("again.md", bridge)}, "already in the corpus (as harbor-bridge.md)"),
        ({"url": web.add("/teaser", EMPTY_HTML)}, "no article text found on the page"),
        ({"url": web.add("/gone", "gone", status=404)}, "HTTP 404"),
    ]
    for options, expected in cases:
        result = await world.alice.slash(world.general, "add", **options)
        assert result.ephemeral and result.response is not None, options
        assert expected in result.response.content, result.response.content
        assert not result.followups
    assert corpus_and_index(settings) == before
    assert len(world.user_errors()) == len(cases)


async def test_add_refuses_a_page_on_a_private_address_by_default(
    world: World, settings: Settings, web: WebPages
) -> None:
    before = corpus_and_index(settings)
    url = web.add("/news/lighthouse", LIGHTHOUSE_HTML)
    result = await world.alice.slash(world.general, "add", url=url)
    assert result.ephemeral and result.response is not None
    assert "127.0.0.1" in result.response.content
    assert not web.requested and corpus_and_index(settings) == before
    world.user_errors()


@pytest.mark.parametrize(
    ("command", "options", "final"),
    [("reindex", {}, "Index updated"), ("add", {"file": ("f.md", FERRY)}, "Added")],
)
async def test_a_long_build_shows_its_counts_as_it_goes(
    world: World,
    settings: Settings,
    fake_embedder: FakeEmbedder,
    command: str,
    options: dict[str, Any],
    final: str,
) -> None:
    bot = await world.restart(SlowBuild(settings, embedder=fake_embedder))
    bot.progress_interval = 0.05
    result = await world.alice.slash(world.general, command, **options)
    assert result.response is not None and final in result.response.content
    edits = [
        (r.json or {}).get("content") or ""
        for r in world.env.http_requests
        if r.method == "PATCH" and r.path.endswith("/messages/@original")
    ]
    assert len(edits) >= 3 and final in edits[-1]
    assert "**3** of **12** passages embedded" in " ".join(edits[:-1])


# --- Conversations --------------------------------------------------------------------------

CHAMPION = "Which teenager won the national chess championship?"
FOLLOW_UP = "How many moves did her deciding game take?"


async def test_a_reply_to_an_answer_is_read_in_its_conversation(world: World) -> None:
    bot = await world.restart(cooldown_seconds=0)
    assert bot.user is not None
    await world.bob.send(world.general, f"{bot.user.mention} {CHAMPION}")
    first = world.general.last_message
    assert first is not None and "Nandakumar" in (first.embeds[0].description or "")
    await world.carol.send(world.general, f"{bot.user.mention} {FOLLOW_UP}", reply_to=first)
    answer = world.general.last_message
    assert answer is not None and answer.id != first.id
    embed = answer.embeds[0]
    assert "Read as: How many moves did" in (embed.footer.text or "")
    assert "Nandakumar" in (embed.footer.text or "") and "41 moves" in (embed.description or "")


async def test_a_follow_up_in_the_answer_thread_survives_a_restart(world: World) -> None:
    bot = await world.restart(answer_in_thread=True)
    assert bot.user is not None
    await world.bob.send(world.general, f"{bot.user.mention} {CHAMPION}")
    [thread] = world.general.threads
    bot = await world.restart(answer_in_thread=True)
    assert bot.user is not None
    await world.carol.send(thread, f"{bot.user.mention} {FOLLOW_UP}")
    assert len(world.general.threads) == 1
    answer = thread.last_message
    assert answer is not None and answer.author.id == bot.user.id
    assert "Nandakumar" in (answer.embeds[0].footer.text or "")
    assert "41 moves" in (answer.embeds[0].description or "")
