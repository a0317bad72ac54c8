"""/digest through discord.py's real interaction handling, and the posting loop against a fake
Discord that can refuse, rate-limit or fail, with a clock the tests move."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.exts.digest._cog import DigestCog
from bot.exts.digest._poster import post_digest
from store.digest.service import LEASE
from store.service import InsightStore
from tests.bot.conftest import ALICE, MANAGER
from tests.bot.fake_discord import CHANNEL_ID, GUILD_ID, custom_ids, text_channel
from tests.bot.harness import BotHarness


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=6, minute=0, second=0, microsecond=0)


@pytest.fixture
async def digest_harness(harness: BotHarness, seeded_store: InsightStore, monkeypatch: pytest.MonkeyPatch) -> BotHarness:
    clock = Clock(START)
    seeded_store.digests.clock = clock
    harness.clock = clock  # type: ignore[attr-defined]

    # The extension is imported by the bot's loader; patch the module it actually runs.
    monkeypatch.setattr(sys.modules["bot.exts.digest._poster"], "FIRST_PAUSE_SECONDS", 0.0)
    return harness


def _cog(harness: BotHarness) -> DigestCog:
    cog = harness.bot.get_cog("DigestCog")
    assert cog is not None and type(cog).__name__ == "DigestCog"
    return cog  # type: ignore[return-value]


def _digest_posts(harness: BotHarness) -> list[dict[str, Any]]:
    return [m for m in harness.fake.messages.values() if m.get("type") == 0 and m["channel_id"] == str(CHANNEL_ID)]


async def _set_up(harness: BotHarness, time: str = "08:00", zone: str = "UTC") -> None:
    """Settings made the day before: today's post is owed at its time, whenever that is."""
    now = harness.clock.now  # type: ignore[attr-defined]
    harness.clock.now = now - timedelta(days=1)  # type: ignore[attr-defined]
    exchange = await harness.slash(MANAGER, "digest channel", channel=text_channel())
    assert exchange.ephemeral and f"<#{CHANNEL_ID}>" in exchange.text
    exchange = await harness.slash(MANAGER, "digest time", time=time, timezone=zone)
    assert f"{time} {zone}" in exchange.text
    harness.clock.now = now  # type: ignore[attr-defined]


async def test_members_without_manage_server_are_refused(digest_harness: BotHarness) -> None:
    exchange = await digest_harness.slash(ALICE, "digest channel", channel=text_channel())
    assert exchange.ephemeral and "Manage Server" in exchange.text
    assert (await digest_harness.bot.store.digests.config(str(GUILD_ID))) is None


async def test_bad_time_and_zone_get_clear_messages(digest_harness: BotHarness) -> None:
    await _set_up(digest_harness)
    exchange = await digest_harness.slash(MANAGER, "digest time", time="25:99", timezone="UTC")
    assert exchange.ephemeral and "HH:MM" in exchange.text
    exchange = await digest_harness.slash(MANAGER, "digest time", time="08:00", timezone="Mars/Olympus")
    assert "Europe/Berlin" in exchange.text


async def test_timezone_autocomplete(digest_harness: BotHarness) -> None:
    exchange = await digest_harness.autocomplete(MANAGER, "digest time", focus="timezone", time="08:00", timezone="europe/be")
    names = [choice["name"] for choice in exchange.choices]
    assert "Europe/Berlin" in names and len(names) <= 25


async def test_the_loop_posts_at_the_set_time_once(digest_harness: BotHarness) -> None:
    await _set_up(digest_harness, "08:00", "Europe/Berlin")
    cog = _cog(digest_harness)
    digest_harness.clock.now = START.replace(hour=5, minute=59)  # type: ignore[attr-defined]
    assert await cog.post_due_digests() == 0
    digest_harness.clock.now = START.replace(hour=6, minute=0)  # type: ignore[attr-defined]  # 08:00 in Berlin in summer, 07:00 in winter
    posted = await cog.post_due_digests()
    if posted == 0:  # winter: Berlin is UTC+1
        digest_harness.clock.now = START.replace(hour=7, minute=0)  # type: ignore[attr-defined]
        posted = await cog.post_due_digests()
    assert posted == 1
    assert await cog.post_due_digests() == 0
    posts = _digest_posts(digest_harness)
    assert len(posts) == 1
    post = posts[0]
    assert "insight-recall digest" not in post["content"] and "#1" not in post["content"], "the marker is not shown"
    assert custom_ids(post)[0].endswith(":digest-" + START.date().isoformat() + "-#1"), "it rides in a custom id"
    assert 1 <= len(post["embeds"]) <= 5
    assert all(custom_id.startswith("ir:save:") for custom_id in custom_ids(post))
    request = next(
        r for r in digest_harness.fake.requests if r.method == "POST" and r.path.endswith(f"/channels/{CHANNEL_ID}/messages")
    )
    assert request.json["allowed_mentions"] == {"parse": []}
    status = await digest_harness.slash(MANAGER, "digest status")
    assert "Last post:" in status.text and "Problem" not in status.text


async def test_a_save_click_on_the_digest_saves(digest_harness: BotHarness) -> None:
    await _set_up(digest_harness, "00:00", "UTC")
    digest_harness.clock.now = START  # type: ignore[attr-defined]
    assert await _cog(digest_harness).post_due_digests() == 1
    post = _digest_posts(digest_harness)[0]
    save_id = custom_ids(post)[0]
    exchange = await digest_harness.click(ALICE, post, save_id)
    assert "Saved" in exchange.text
    assert (await digest_harness.bot.store.saved.count(str(ALICE.id))) == 1


async def test_digest_now_posts_then_says_already_posted(digest_harness: BotHarness) -> None:
    await _set_up(digest_harness, "23:00", "UTC")
    first = await digest_harness.slash(MANAGER, "digest now")
    assert "Posted today's digest" in first.text
    second = await digest_harness.slash(MANAGER, "digest now")
    assert "already posted" in second.text
    assert len(_digest_posts(digest_harness)) == 1


async def test_preview_is_only_for_the_caller_and_posts_nothing(digest_harness: BotHarness) -> None:
    await _set_up(digest_harness)
    exchange = await digest_harness.slash(MANAGER, "digest preview")
    assert exchange.ephemeral and "What the digest would post now" in exchange.text
    assert _digest_posts(digest_harness) == []


@pytest.mark.parametrize(("status", "reason"), [(403, "403"), (404, "404")])
async def test_missing_permission_or_deleted_channel_turns_it_off_with_the_reason(
    digest_harness: BotHarness, status: int, reason: str
) -> None:
    await _set_up(digest_harness, "00:00", "UTC")
    digest_harness.fake.channel_post_failures = [status]
    assert await _cog(digest_harness).post_due_digests() == 0
    exchange = await digest_harness.slash(MANAGER, "digest status")
    assert "On: no" in exchange.text and reason in exchange.text
    assert await digest_harness.bot.store.digests.due_guilds() == []


@pytest.mark.parametrize("failures", [[429], [500], [503, 503], [429, 503]])
async def test_rate_limits_and_server_errors_are_retried_and_posted_once(digest_harness: BotHarness, failures: list[int]) -> None:
    await _set_up(digest_harness, "00:00", "UTC")
    digest_harness.fake.channel_post_failures = list(failures)
    assert await _cog(digest_harness).post_due_digests() == 1
    assert len(_digest_posts(digest_harness)) == 1
    assert (await digest_harness.bot.store.digests.status(str(GUILD_ID))).config.enabled  # type: ignore[union-attr]


async def test_after_a_crash_between_claim_and_post_the_marker_prevents_a_second_post(digest_harness: BotHarness) -> None:
    await _set_up(digest_harness, "00:00", "UTC")
    store = digest_harness.bot.store
    cog = _cog(digest_harness)
    today = START.date()
    claim = await store.digests.claim(str(GUILD_ID), str(CHANNEL_ID), today, "crashed-process")
    assert claim is not None
    # The crashed process had posted but never recorded it.
    channel = digest_harness.bot.get_partial_messageable(CHANNEL_ID, guild_id=GUILD_ID)
    await channel.send(content=f"**Today's top insights**\n-# {claim.marker}")
    digest_harness.clock.now = START + LEASE + timedelta(seconds=5)  # type: ignore[attr-defined]
    assert await cog.post_due_digests() == 1
    assert len(_digest_posts(digest_harness)) == 1, "the digest was posted a second time"
    assert (await store.digests.status(str(GUILD_ID))).last_posted_date == today.isoformat()


async def test_a_crashed_post_is_found_by_its_invisible_marker_and_not_sent_again(
    digest_harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _set_up(digest_harness, "00:00", "UTC")
    store = digest_harness.bot.store
    claim = await store.digests.claim(str(GUILD_ID), str(CHANNEL_ID), START.date(), "crashed-process")
    assert claim is not None
    real_mark_posted = store.digests.mark_posted

    async def died_before_recording(_run_id: int, _message_id: str) -> bool:
        raise RuntimeError("the process died here")

    monkeypatch.setattr(store.digests, "mark_posted", died_before_recording)
    with pytest.raises(RuntimeError):
        await post_digest(digest_harness.bot, claim)
    monkeypatch.setattr(store.digests, "mark_posted", real_mark_posted)
    [sent] = _digest_posts(digest_harness)
    assert claim.marker not in sent["content"]

    digest_harness.clock.now = START + LEASE + timedelta(seconds=5)  # type: ignore[attr-defined]
    assert await _cog(digest_harness).post_due_digests() == 1
    assert len(_digest_posts(digest_harness)) == 1, "the digest was posted a second time"
    assert (await store.digests.status(str(GUILD_ID))).last_message_id == sent["id"]


async def test_a_poster_that_lost_its_lease_while_retrying_does_not_post(digest_harness: BotHarness) -> None:
    await _set_up(digest_harness, "00:00", "UTC")
    store = digest_harness.bot.store
    stalled = await store.digests.claim(str(GUILD_ID), str(CHANNEL_ID), START.date(), "stalled-process")
    assert stalled is not None
    digest_harness.fake.channel_post_failures = [503]
    taken_over: list[object] = []

    async def long_pause(_seconds: float) -> None:
        # While this process waits to retry, its lease runs out and another process takes the run.
        digest_harness.clock.now = START + LEASE + timedelta(seconds=5)  # type: ignore[attr-defined]
        taken_over.append(await store.digests.claim(str(GUILD_ID), str(CHANNEL_ID), START.date(), "other-process"))

    assert await post_digest(digest_harness.bot, stalled, sleep=long_pause) is None
    assert taken_over and taken_over[0] is not None, "the other process should have retaken the run"
    assert _digest_posts(digest_harness) == [], "the stalled process posted after losing its lease"


async def test_a_second_post_of_the_same_run_is_deleted_again(digest_harness: BotHarness) -> None:
    await _set_up(digest_harness, "00:00", "UTC")
    store = digest_harness.bot.store
    slow = await store.digests.claim(str(GUILD_ID), str(CHANNEL_ID), START.date(), "slow-process")
    assert slow is not None
    # The slow process stalls past its lease before sending; another retakes the run and posts it.
    digest_harness.clock.now = START + LEASE + timedelta(seconds=5)  # type: ignore[attr-defined]
    other = await store.digests.claim(str(GUILD_ID), str(CHANNEL_ID), START.date(), "other-process")
    assert other is not None and other.resumed
    posted = await post_digest(digest_harness.bot, other)
    assert posted is not None
    # Now the slow one wakes up and sends: its message is a duplicate and must go again.
    assert await post_digest(digest_harness.bot, slow) is None
    remaining = _digest_posts(digest_harness)
    assert [message["id"] for message in remaining] == [posted]
    assert (await store.digests.status(str(GUILD_ID))).last_message_id == posted  # type: ignore[union-attr]


async def test_the_loop_starts_only_once(digest_harness: BotHarness) -> None:
    cog = _cog(digest_harness)
    task = cog.scheduler.get_task()
    assert task is not None and not task.done()
    await cog.cog_load()  # what a second on_ready or a reconnect could trigger
    assert cog.scheduler.get_task() is task


async def test_one_beat_of_the_loop_survives_any_exception(digest_harness: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    spare = type(_cog(digest_harness))(digest_harness.bot)  # not loaded: only its loop body is run

    async def broken() -> int:
        raise RuntimeError("store exploded")

    spare.start_due_digests = broken  # type: ignore[method-assign,assignment]
    await spare.scheduler.coro(spare)
    assert "the digest loop hit an error" in caplog.text


async def test_an_empty_store_posts_nothing_and_status_says_so(settings, store: InsightStore) -> None:  # type: ignore[no-untyped-def]
    harness = BotHarness(settings)
    await harness.start(store)
    try:
        store.digests.clock = Clock(START)
        await harness.slash(MANAGER, "digest channel", channel=text_channel())
        await harness.slash(MANAGER, "digest time", time="00:00", timezone="UTC")
        assert await _cog(harness).post_due_digests() == 0
        exchange = await harness.slash(MANAGER, "digest status")
        assert "empty" in exchange.text
    finally:
        await harness.close()


async def test_number_reactions_on_a_digest_are_votes_that_raise_engagement(digest_harness: BotHarness) -> None:
    import discord

    await _set_up(digest_harness, "00:00", "UTC")
    store = digest_harness.bot.store
    assert await _cog(digest_harness).post_due_digests() == 1
    post = _digest_posts(digest_harness)[0]
    run_items = await store.digests.picks(1)
    voted = run_items[1].insight_id

    def reaction(emoji: str, user_id: int) -> discord.RawReactionActionEvent:
        data = {
            "message_id": post["id"],
            "channel_id": str(CHANNEL_ID),
            "user_id": str(user_id),
            "guild_id": str(GUILD_ID),
            "type": 0,
        }
        return discord.RawReactionActionEvent(data, discord.PartialEmoji(name=emoji), "REACTION_ADD")  # type: ignore[arg-type]

    cog = _cog(digest_harness)
    for user in (ALICE.id, ALICE.id, MANAGER.id):
        await cog.on_raw_reaction_add(reaction("2\ufe0f\u20e3", user))
    await cog.on_raw_reaction_add(reaction("\U0001f44d", ALICE.id))  # not a vote
    async with store.engine.connect() as connection:
        from sqlalchemy import select

        from store.digest.schema import digest_feedback

        rows = (await connection.execute(select(digest_feedback.c.insight_id, digest_feedback.c.user_id))).all()
    assert sorted(rows) == sorted([(voted, str(ALICE.id)), (voted, str(MANAGER.id))])
