"""The client itself: construction without network, start-up syncs, logging, mentions, close."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

import discord
import pytest
from discord.ext import commands

from bot.client import InsightBot, ShardedInsightBot, StoreStarting, create_bot
from bot.views import SaveButton
from config.settings import Settings
from store.service import InsightStore
from tests.bot.conftest import ALICE
from tests.bot.fake_discord import APPLICATION_ID, GUILD_ID, custom_ids
from tests.bot.harness import BotHarness


def test_create_bot_needs_no_network_and_asks_for_no_privileged_intents(settings: Settings) -> None:
    bot = create_bot(settings)

    assert isinstance(bot, InsightBot) and not isinstance(bot, commands.AutoShardedBot)
    assert bot.intents.value == discord.Intents(guilds=True, guild_reactions=True).value
    assert not (bot.intents.members or bot.intents.presences or bot.intents.message_content)
    assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == {"parse": []}
    with pytest.raises(StoreStarting, match="starting up"):
        _ = bot.store


def test_create_bot_shards_when_configured(tmp_path: Path) -> None:
    bot = create_bot(Settings(data_dir=tmp_path, sharded=True))

    assert isinstance(bot, ShardedInsightBot)
    assert isinstance(bot, commands.AutoShardedBot) and isinstance(bot, InsightBot)


async def test_close_is_safe_before_login_and_twice(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    bot = create_bot(settings)
    assert not bot.is_closed()

    with caplog.at_level(logging.DEBUG):
        await bot.close()
        await bot.close()

    assert bot.is_closed()
    # close() swallows and logs what goes wrong, so the log is where a failure would show.
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], caplog.text


async def test_start_up_syncs_only_the_development_guild(tmp_path: Path, seeded_store: InsightStore) -> None:
    settings = Settings(data_dir=tmp_path / "data", dev_guild_id=GUILD_ID, chroma_collection=f"test-{uuid.uuid4().hex[:12]}")
    harness = BotHarness(settings)
    await harness.start(seeded_store)
    await harness.close()

    puts = [request for request in harness.fake.requests if request.method == "PUT"]
    assert [request.path for request in puts] == [f"/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"]
    assert sorted(command["name"] for command in puts[0].json) == ["digest", "insight", "saved"]


async def test_start_up_without_a_development_guild_syncs_nothing(harness: BotHarness) -> None:
    assert not [request for request in harness.fake.requests if request.method in ("PUT", "POST")]
    assert harness.bot._connection._view_store._dynamic_items.get(SaveButton.__discord_ui_compiled_template__) is SaveButton


async def test_each_command_logs_one_line_with_name_user_and_latency(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")

    await harness.slash(ALICE, "insight stats")

    lines = [record.getMessage() for record in caplog.records if record.name == "bot.client"]
    assert len(lines) == 1
    assert re.fullmatch(rf"command insight stats by user {ALICE.id} completed in \d+ ms", lines[0])
    assert harness.bot.http.token not in caplog.text


async def test_insight_text_cannot_mention_anyone(harness: BotHarness, seeded_store: InsightStore) -> None:
    hostile = "Pinging @everyone and @here and <@&123> and <@1234567890> about **orbital** tariffs_now"
    await seeded_store.add_insight(hostile, ["Related: @everyone orbital tariffs again"])

    exchange = await harness.slash(ALICE, "insight search", query="pinging everyone here about orbital tariffs_now", count=3)

    message = exchange.last
    assert message["allowed_mentions"] == {"parse": []}
    [embed] = [embed for embed in message["embeds"] if "Pinging" in embed["description"]]
    description = embed["description"]
    assert "@\u200beveryone" in description and "@\u200bhere" in description
    assert "<@\u200b&123>" in description and "<@\u200b1234567890>" in description
    assert "\\*\\*orbital\\*\\*" in description and "tariffs\\_now" in description
    assert not re.search(r"@(everyone|here)|<@&?\d", exchange.text), "no raw mention anywhere in the message"
    assert custom_ids(message)
