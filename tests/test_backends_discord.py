# ruff: noqa: F811 - the fixtures imported from test_discord_app are test arguments here
"""Scaling out the bot: Discord shards, several bot processes on one Milvus, and a Milvus that
goes away and comes back, end to end against the fake Discord (tests/fake_discord.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from discord.ext import commands

from bot.config import Settings
from bot.discord.app import ShardedFootnoteBot
from bot.service import Footnote
from tests.fake_discord import FakeDiscord
from tests.fakes import FakeEmbedder
from tests.milvus_server import MilvusServer
from tests.test_discord_app import (  # noqa: F401 - fixtures
    BRIDGE,
    StartBot,
    fake,
    is_ephemeral,
    logs,
    reply_to,
    start_bot,
)


@pytest.fixture(autouse=True)
def _no_identify_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """discord.py waits 5 s between two shards' IDENTIFY (Discord's rate); the fake has none."""

    async def at_once(self: Any, shard_id: int | None, *, initial: bool = False) -> None:
        return None

    monkeypatch.setattr(ShardedFootnoteBot, "before_identify_hook", at_once)


@pytest.fixture
def milvus(tmp_path: Path) -> Iterator[MilvusServer]:
    server = MilvusServer(tmp_path / "milvus").start()
    yield server
    server.stop()


def on_milvus(settings: Settings, server: MilvusServer, data_dir: Path) -> Settings:
    return settings.model_copy(
        update={"backend": "milvus", "milvus_uri": server.uri, "data_dir": data_dir}
    )


async def test_a_sharded_bot_answers_from_the_guilds_shard(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    bot = await start_bot(shards=2)
    assert isinstance(bot, commands.AutoShardedBot) and bot.shard_count == 2
    assert sorted(bot.shards) == [0, 1] and bot.runs_background
    guild = bot.get_guild(int(fake.guild_id))
    assert guild is not None and guild.shard_id == (int(fake.guild_id) >> 22) % 2
    reply = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    assert "1.2 billion dollars" in reply["embeds"][0]["description"]


async def test_two_bot_processes_split_the_shards_and_share_one_milvus(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    milvus: MilvusServer,
    tmp_path: Path,
) -> None:
    first, second = (on_milvus(settings, milvus, tmp_path / name) for name in ("a", "b"))
    services = [Footnote(s, embedder=FakeEmbedder()) for s in (first, second)]
    services[0].index()  # one builder; the other process only reads the same collections
    bots = [
        await start_bot(s, service, shards=2, shard_ids=str(n), cooldown_seconds=0)
        for n, (s, service) in enumerate(zip((first, second), services, strict=True))
    ]
    assert [b.runs_background for b in bots] == [True, False]
    owner = (int(fake.guild_id) >> 22) % 2
    assert [b.get_guild(int(fake.guild_id)) is not None for b in bots] == [owner == 0, owner == 1]
    reply = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    assert "1.2 billion dollars" in reply["embeds"][0]["description"]
    assert services[1].status().chunks == services[0].status().chunks > 0


async def test_an_unavailable_milvus_reaches_the_member_and_the_bot_recovers(
    fake: FakeDiscord,
    start_bot: StartBot,
    settings: Settings,
    milvus: MilvusServer,
    tmp_path: Path,
) -> None:
    on = on_milvus(settings, milvus, tmp_path / "m").model_copy(update={"milvus_timeout": 1.0})
    service = Footnote(on, embedder=FakeEmbedder())
    service.index()
    await start_bot(on, service, cooldown_seconds=0)
    reply = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    assert reply["embeds"]

    milvus.stop()
    reply = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    assert reply["content"].startswith("The index is unavailable right now")
    assert milvus.uri not in reply["content"]  # the address is for the operator's log

    milvus.start()
    reply = await reply_to(fake, await fake.slash("ask", {"question": BRIDGE}))
    assert "1.2 billion dollars" in reply["embeds"][0]["description"]
    assert not is_ephemeral(reply)
