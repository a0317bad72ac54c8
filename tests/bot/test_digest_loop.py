"""The digest loop posts each guild in its own task: one guild waiting out Discord's retries holds
up neither the other guilds nor the next beat; and a server gets one digest a day, even when its
channel moves after the post."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.exts.digest._cog import CONCURRENT_POSTS, DigestCog
from store.digest.service import DigestClaim
from tests.bot.conftest import MANAGER
from tests.bot.fake_discord import CHANNEL_ID, GUILD_ID, text_channel
from tests.bot.harness import BotHarness

START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)
OTHER_GUILD, OTHER_CHANNEL = GUILD_ID + 7, CHANNEL_ID + 7


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def cog(harness: BotHarness) -> DigestCog:
    harness.bot.store.digests.clock = Clock(START)
    found = harness.bot.get_cog("DigestCog")
    assert found is not None
    return found  # type: ignore[return-value]


def _the_day_before(harness: BotHarness) -> Clock:
    """Settings made the day before, so today's post time is due (a time that had already passed
    when the settings were made is not caught up). Returns the clock to put back for today."""
    today = harness.bot.store.digests.clock
    harness.bot.store.digests.clock = Clock(START - timedelta(days=1))
    return today  # type: ignore[return-value]


def _posts_in(harness: BotHarness, channel_id: int) -> list[dict[str, Any]]:
    return [m for m in harness.fake.messages.values() if m.get("type") == 0 and m["channel_id"] == str(channel_id)]


async def test_a_guild_stuck_in_retries_delays_neither_other_guilds_nor_the_beat(
    harness: BotHarness, cog: DigestCog, monkeypatch: pytest.MonkeyPatch
) -> None:
    digests = harness.bot.store.digests
    today = _the_day_before(harness)
    for guild, channel in ((GUILD_ID, CHANNEL_ID), (OTHER_GUILD, OTHER_CHANNEL)):
        await digests.configure_channel(str(guild), str(channel))
        await digests.configure_time(str(guild), "00:00", "UTC")
    digests.clock = today
    module = sys.modules[DigestCog.__module__]
    real_post = module.post_digest
    stuck = asyncio.Event()

    async def post(bot: Any, claim: DigestClaim) -> str | None:
        if claim.guild_id == str(GUILD_ID):
            await stuck.wait()  # as a guild whose posts keep failing waits out its retry pauses
        return await real_post(bot, claim)

    monkeypatch.setattr(module, "post_digest", post)
    await asyncio.wait_for(cog.scheduler.coro(cog), 5)  # one beat returns while a post hangs
    for _ in range(200):
        if _posts_in(harness, OTHER_CHANNEL):
            break
        await asyncio.sleep(0.02)
    assert len(_posts_in(harness, OTHER_CHANNEL)) == 1, "the other guild waited for the stuck one"
    assert _posts_in(harness, CHANNEL_ID) == []
    await asyncio.wait_for(cog.scheduler.coro(cog), 5)  # the next beat does not start the stuck guild twice
    stuck.set()
    for _ in range(200):
        if _posts_in(harness, CHANNEL_ID):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    assert len(_posts_in(harness, CHANNEL_ID)) == 1
    assert len(_posts_in(harness, OTHER_CHANNEL)) == 1


async def test_at_most_a_few_guilds_post_at_once(harness: BotHarness, cog: DigestCog, monkeypatch: pytest.MonkeyPatch) -> None:
    digests = harness.bot.store.digests
    guilds = CONCURRENT_POSTS * 2 + 1
    today = _the_day_before(harness)
    for number in range(guilds):
        await digests.configure_channel(str(GUILD_ID + 100 + number), str(CHANNEL_ID + 100 + number))
        await digests.configure_time(str(GUILD_ID + 100 + number), "00:00", "UTC")
    digests.clock = today
    running = 0
    most = 0

    async def claim_and_post(_guild_id: str, _channel_id: str, _local_date: object) -> str:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        return "1"

    monkeypatch.setattr(cog, "_claim_and_post", claim_and_post)
    assert await cog.post_due_digests() == guilds
    assert 1 < most <= CONCURRENT_POSTS


async def test_moving_the_channel_after_todays_post_posts_nothing_more_today(harness: BotHarness, cog: DigestCog) -> None:
    today = _the_day_before(harness)
    await harness.slash(MANAGER, "digest channel", channel=text_channel())
    await harness.slash(MANAGER, "digest time", time="00:00", timezone="UTC")
    harness.bot.store.digests.clock = today
    assert await cog.post_due_digests() == 1
    moved = await harness.slash(MANAGER, "digest channel", channel=text_channel(OTHER_CHANNEL, "elsewhere"))
    assert f"<#{OTHER_CHANNEL}>" in moved.text
    assert await cog.post_due_digests() == 0
    now = await harness.slash(MANAGER, "digest now")
    assert "already posted" in now.text
    assert _posts_in(harness, OTHER_CHANNEL) == [] and len(_posts_in(harness, CHANNEL_ID)) == 1
