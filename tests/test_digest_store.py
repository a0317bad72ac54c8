"""The digest's records and choice, on real SQLite (and PostgreSQL when reachable) and real Chroma,
with a clock the tests move."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from config.settings import Settings
from store.database import create_engine
from store.digest.schedule import post_instant
from store.digest.schema import (
    digest_feedback,
    digest_items,
    digest_runs,
    digest_settings,
)
from store.digest.selection import DigestWeights
from store.digest.service import LEASE, DigestService, lease_for
from store.errors import InvalidInput
from store.repository import InsightRepository
from store.schema import insights, relations
from store.service import InsightStore
from store.text import insight_id
from tests.conftest import reset_postgres
from tests.fakes import FakeEmbedder, FixedEmbedder
from tests.servers import POSTGRES_SKIP_REASON, postgres_url

GUILD, CHANNEL = "900", "901"
# The clock starts after the insights' real arrival time, as it would in use.
MONDAY_NINE = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_NINE)


@pytest.fixture
async def digests(store: InsightStore, clock: Clock, shared_briefs: Path) -> DigestService:
    await store.ingest_paths([shared_briefs])
    # Set up the day before, so today's post is owed (a post whose time had passed when the
    # settings were made is not).
    store.digests.clock = Clock(clock.now - timedelta(days=1))
    await store.digests.configure_channel(GUILD, CHANNEL)
    store.digests.clock = clock
    return store.digests


async def _arrived_at(store: InsightStore, text: str, moment: datetime) -> None:
    """Ingest stamps the real time; the tests' clock is in the future, so move the arrival there."""
    async with store.engine.begin() as connection:
        await connection.execute(insights.update().where(insights.c.id == insight_id(text)).values(first_seen=moment))


async def _digest_rows(store: InsightStore) -> dict[str, int]:
    async with store.engine.connect() as connection:
        return {
            table.name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (digest_settings, digest_runs, digest_items, digest_feedback)
        }


def _ids(picks: Any) -> list[str]:
    return [pick.insight_id for pick in picks]


# -- which five ---------------------------------------------------------------------------------


async def test_claim_picks_five_distinct_insights_main_insights_first(digests: DigestService) -> None:
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-a")
    assert claim is not None and len(claim.picks) == 5
    assert len(set(_ids(claim.picks))) == 5
    assert "main insight of a brief" in claim.picks[0].why
    assert not any(pick.resurfaced for pick in claim.picks)
    assert claim.marker == f"insight-recall digest 2026-06-08 #{claim.run_id}"
    assert (claim.claimed_by, claim.attempt, claim.resumed) == ("worker-a", 1, False)
    assert _ids(await digests.picks(claim.run_id)) == _ids(claim.picks), "the five are stored with the claim"


async def test_next_day_shows_other_insights_until_they_run_out_then_resurfaces_after_30_days(
    digests: DigestService, clock: Clock
) -> None:
    shown: list[str] = []
    for day in range(5):
        clock.now = MONDAY_NINE + timedelta(days=day)
        claim = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
        if claim is None:
            break
        shown += _ids(claim.picks)
        await digests.mark_posted(claim.run_id, str(1000 + day))
    assert len(shown) == len(set(shown)) == 21, "every insight once before any repeats"
    clock.now = MONDAY_NINE + timedelta(days=10)
    assert await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker") is None, "all were shown within 30 days"
    clock.now = MONDAY_NINE + timedelta(days=31)
    again = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
    assert again is not None and len(again.picks) == 5
    assert all(pick.resurfaced for pick in again.picks)
    assert all("resurfaced: not shown here in the last 30 days" in pick.why for pick in again.picks)


async def test_fewer_than_five_new_are_filled_with_resurfaced_older_ones(
    digests: DigestService, store: InsightStore, clock: Clock
) -> None:
    for day in range(4):
        clock.now = MONDAY_NINE + timedelta(days=day)
        claim = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
        assert claim is not None
        await digests.mark_posted(claim.run_id, str(day))
    clock.now = MONDAY_NINE + timedelta(days=40)
    text = "A brand new idea about wafer-scale memory arrived today."
    await store.add_insight(text)
    await _arrived_at(store, text, clock.now - timedelta(hours=1))
    claim = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
    assert claim is not None and len(claim.picks) == 5
    assert claim.picks[0].text == text and not claim.picks[0].resurfaced
    assert claim.picks[0].why.startswith("new since the last digest")
    assert all(pick.resurfaced for pick in claim.picks[1:])


async def test_only_older_insights_left_unshown_are_resurfaced_too(digests: DigestService, clock: Clock) -> None:
    """Insights that arrived before the last digest but lost out to better ones are older, not new."""
    claim = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
    assert claim is not None
    await digests.mark_posted(claim.run_id, "1")
    clock.now += timedelta(days=1)
    picks = await digests.preview(GUILD)
    assert len(picks) == 5 and all(pick.resurfaced for pick in picks)
    assert all("not shown here yet" in pick.why for pick in picks)
    assert not set(_ids(picks)) & set(_ids(claim.picks))


async def test_an_empty_store_posts_nothing_and_status_says_so(store: InsightStore, clock: Clock) -> None:
    store.digests.clock = Clock(clock.now - timedelta(days=1))
    await store.digests.configure_channel(GUILD, CHANNEL)
    store.digests.clock = clock
    assert [due.config.guild_id for due in await store.digests.due_guilds()] == [GUILD]
    assert await store.digests.claim(GUILD, CHANNEL, clock.now.date(), "worker") is None
    assert await store.digests.preview(GUILD) == []
    assert await store.digests.preview(None) == []
    status = await store.digests.status(GUILD)
    assert status.store_empty and status.problem is not None and "empty" in status.problem
    assert (await _digest_rows(store))["digest_runs"] == 0, "nothing is claimed when there is nothing to post"


async def test_preview_writes_nothing(digests: DigestService, store: InsightStore) -> None:
    before = await _digest_rows(store)
    first = await digests.preview(GUILD)
    second = await digests.preview(GUILD)
    assert await _digest_rows(store) == before
    assert _ids(first) == _ids(second)
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker")
    assert claim is not None and _ids(claim.picks) == _ids(first)


async def test_engagement_raises_an_insight(digests: DigestService, store: InsightStore) -> None:
    before = await digests.preview(GUILD)
    chosen = set(_ids(before))
    outsider = next(found for found in sorted(await store.repository.all_ids()) if found not in chosen)
    for user in range(6):
        await store.saved.save(str(7000 + user), outsider)
    after = await digests.preview(GUILD)
    assert outsider in _ids(after)
    assert "saved by 6 people" in next(pick.why for pick in after if pick.insight_id == outsider)


async def test_votes_on_earlier_digests_raise_an_insight(digests: DigestService, store: InsightStore) -> None:
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker")
    assert claim is not None
    await digests.mark_posted(claim.run_id, "777")
    chosen = set(_ids(await digests.preview(GUILD))) | set(_ids(claim.picks))
    outsider = next(found for found in sorted(await store.repository.all_ids()) if found not in chosen)
    for user in range(8):
        assert await digests.record_feedback(claim.run_id, outsider, str(8000 + user))
    assert not await digests.record_feedback(claim.run_id, outsider, "8000"), "one per person"
    assert await digests.vote_by_message("777", 1, "8100") is True
    assert await digests.vote_by_message("778", 1, "8100") is False
    picks = await digests.preview(GUILD)
    assert outsider in _ids(picks)
    assert "8 reactions on earlier digests" in next(pick.why for pick in picks if pick.insight_id == outsider)


_DIVERSE = {
    "Coffee after lunch ruins deep sleep.": [1.0, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0],
    "An afternoon espresso cuts your slow-wave sleep.": [1.0, 0.0, 0.02, 0.0, 0.0, 0.0, 0.0],
    "Index funds beat most active managers.": [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    "Small teams ship faster.": [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    "Retrieval sets the ceiling for RAG.": [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
    "Sunlight resets the body clock.": [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    "Fees compound like returns.": [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    "Walking meetings beat sitting ones.": [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
}
COFFEE = {insight_id("Coffee after lunch ruins deep sleep."), insight_id("An afternoon espresso cuts your slow-wave sleep.")}


async def test_the_same_idea_is_never_shown_twice_in_one_digest(settings: Settings) -> None:
    # A threshold above the pair's cosine (0.9998) at ingest keeps them apart as insights, and a
    # lower one at digest time makes them the same idea there.
    async with await InsightStore.open(
        settings.model_copy(update={"same_idea_threshold": 0.99995}), FixedEmbedder(_DIVERSE)
    ) as opened:
        for text in _DIVERSE:
            await opened.add_insight(text)
        for user in range(5):  # both coffee insights are the most saved: without the rule both would lead
            for coffee in COFFEE:
                await opened.saved.save(str(user), coffee)
        by_score = DigestWeights(mmr_lambda=1.0)  # MMR off: only the hard rule keeps them apart
        unguarded = await DigestService(opened.engine, opened.repository, opened.index, 0.99999, weights=by_score).preview(None)
        guarded = await DigestService(opened.engine, opened.repository, opened.index, 0.95, weights=by_score).preview(None)
        default = await DigestService(opened.engine, opened.repository, opened.index, 0.95).preview(None)
    assert set(_ids(unguarded)) >= COFFEE, "the test is only meaningful if both would otherwise be chosen"
    for picks in (guarded, default):
        assert len(picks) == 5 and len(COFFEE & set(_ids(picks))) == 1


async def test_an_explicit_same_idea_link_also_keeps_two_apart(settings: Settings) -> None:
    texts = dict(_DIVERSE)
    texts["Coffee after lunch ruins deep sleep."] = [0.7, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7]  # cosine 0.71 with the espresso one
    async with await InsightStore.open(settings, FixedEmbedder(texts)) as opened:
        for text in texts:
            await opened.add_insight(text)
        for user in range(5):
            for coffee in COFFEE:
                await opened.saved.save(str(user), coffee)
        unlinked = await opened.digests.preview(None)
        low, high = sorted(COFFEE)
        async with opened.engine.begin() as connection:
            await connection.execute(relations.insert().values(low_id=low, high_id=high, kind="same-idea", score=0.71))
        linked = await opened.digests.preview(None)
    assert set(_ids(unlinked)) >= COFFEE, "far enough apart by cosine, both would be chosen"
    assert len(linked) == 5 and len(COFFEE & set(_ids(linked))) == 1


# -- once per channel and day -----------------------------------------------------------------


async def test_the_same_day_cannot_be_claimed_twice(digests: DigestService) -> None:
    first = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-a")
    assert first is not None
    assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-b") is None
    assert await digests.mark_posted(first.run_id, "5555")
    assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-b") is None
    assert not await digests.mark_posted(first.run_id, "6666"), "the first message recorded stays"
    status = await digests.status(GUILD)
    assert (status.last_posted_date, status.last_message_id) == ("2026-06-08", "5555")


async def test_a_crash_between_claim_and_post_is_retaken_by_exactly_one_with_the_same_five(
    digests: DigestService, store: InsightStore, clock: Clock
) -> None:
    first = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-a")
    assert first is not None
    assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-b") is None, "inside the lease nobody retakes"
    clock.now += LEASE + timedelta(seconds=1)
    retakes = await asyncio.gather(*(digests.claim(GUILD, CHANNEL, "2026-06-08", f"worker-{n}") for n in range(5)))
    winners = [claim for claim in retakes if claim is not None]
    assert len(winners) == 1
    assert winners[0].resumed and winners[0].run_id == first.run_id and winners[0].attempt == 2
    assert winners[0].marker == first.marker, "the resumed poster looks for the same marker"
    assert _ids(winners[0].picks) == _ids(first.picks)
    assert not await digests.renew(first), "the crashed worker's lease is gone"
    assert await digests.renew(winners[0])
    # The first worker had in fact posted before dying: the new one finds the marker and records it.
    assert await digests.mark_posted(winners[0].run_id, "4242")
    assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-z") is None
    assert (await _digest_rows(store))["digest_runs"] == 1


async def test_renewing_keeps_a_slow_poster_s_claim_and_repeated_crashes_wait_longer(
    digests: DigestService, clock: Clock
) -> None:
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "slow")
    assert claim is not None
    for _ in range(3):  # retrying for fifteen minutes while renewing each time
        clock.now += LEASE - timedelta(seconds=10)
        assert await digests.renew(claim)
        assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "other") is None
    clock.now += LEASE + timedelta(seconds=1)
    second = await digests.claim(GUILD, CHANNEL, "2026-06-08", "other")
    assert second is not None and second.attempt == 2
    assert lease_for(2) == 2 * LEASE
    clock.now += LEASE + timedelta(seconds=1)
    assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "third") is None, "a second crash waits twice as long"
    clock.now += LEASE
    assert (await digests.claim(GUILD, CHANNEL, "2026-06-08", "third")) is not None


async def test_a_permanent_failure_turns_the_digest_off_with_the_reason(digests: DigestService) -> None:
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker")
    assert claim is not None
    await digests.mark_failed(claim, "missing permission to send messages in #insights (403)", permanent=True)
    status = await digests.status(GUILD)
    assert status.config is not None and not status.config.enabled
    assert status.problem == "turned off: missing permission to send messages in #insights (403)"
    assert status.next_post_at is None
    assert await digests.due_guilds() == []
    assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker") is None, "not while it is off"
    await digests.configure_channel(GUILD, CHANNEL)
    again = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker")
    assert again is not None and again.run_id == claim.run_id, "once fixed, the same day's run is posted"
    assert _ids(again.picks) == _ids(claim.picks)


async def test_a_404_on_a_channel_already_replaced_leaves_the_new_channel_on(digests: DigestService) -> None:
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker")
    assert claim is not None
    await digests.configure_channel(GUILD, "902")
    await digests.mark_failed(claim, "the channel no longer exists (404)", permanent=True)
    config = await digests.config(GUILD)
    assert config is not None and config.enabled and config.channel_id == "902"


async def test_a_stalled_poster_cannot_end_a_run_another_process_took_over(digests: DigestService, clock: Clock) -> None:
    stalled = await digests.claim(GUILD, CHANNEL, clock.now.date(), "stalled")
    assert stalled is not None
    clock.now += LEASE + timedelta(seconds=5)
    other = await digests.claim(GUILD, CHANNEL, clock.now.date(), "other")
    assert other is not None and other.run_id == stalled.run_id
    # The stalled poster wakes up to a 403 (or gives up on 5xx) for its old attempt.
    assert await digests.mark_failed(stalled, "missing permission (403)", permanent=True) is False
    assert await digests.mark_failed(stalled, "Discord answered 503: upstream", permanent=False) is False
    config = await digests.config(GUILD)
    assert config is not None and config.enabled, "the stalled poster turned off a digest it no longer held"
    assert (await digests.status(GUILD)).problem is None
    assert await digests.renew(other), "the process holding the run must be able to go on"
    assert await digests.mark_posted(other.run_id, "555")
    assert await digests.mark_failed(stalled, "missing permission (403)", permanent=True) is False
    assert (await digests.status(GUILD)).last_message_id == "555"


async def test_moving_the_channel_after_todays_post_does_not_post_again_today(digests: DigestService, clock: Clock) -> None:
    today = clock.now.date()
    claim = await digests.claim(GUILD, CHANNEL, today, "worker")
    assert claim is not None
    assert await digests.mark_posted(claim.run_id, "700")
    await digests.configure_channel(GUILD, "902")
    assert await digests.due_guilds() == [], "once a day per server, whichever channel"
    assert await digests.claim(GUILD, "902", today, "worker") is None
    status = await digests.status(GUILD)
    assert status.last_posted_date == today.isoformat() and status.problem is None
    assert status.next_post_at is not None and status.next_post_at.date() > today
    clock.now += timedelta(days=1)
    assert [(due.config.channel_id, due.local_date) for due in await digests.due_guilds()] == [("902", clock.now.date())]
    tomorrow = await digests.claim(GUILD, "902", clock.now.date(), "worker")
    assert tomorrow is not None and tomorrow.channel_id == "902"


async def test_a_stale_due_list_claims_nothing_after_the_digest_moved_or_went_off(digests: DigestService) -> None:
    await digests.configure_channel(GUILD, "902")
    assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker") is None
    await digests.turn_off(GUILD, "turned off with /digest off")
    assert await digests.claim(GUILD, "902", "2026-06-08", "worker") is None
    assert (await digests.status(GUILD)).problem == "turned off with /digest off"


async def test_a_transient_failure_keeps_it_on_and_the_retry_posts_the_same_five(digests: DigestService, clock: Clock) -> None:
    claim = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker-a")
    assert claim is not None
    clock.now += timedelta(minutes=1)
    await digests.mark_failed(claim, "Discord answered 503: upstream", permanent=False)
    status = await digests.status(GUILD)
    assert status.config is not None and status.config.enabled
    assert status.problem == "today's post failed and will be tried again: Discord answered 503: upstream"
    assert [due.local_date for due in await digests.due_guilds()] == [clock.now.date()], "still due"
    clock.now += LEASE - timedelta(seconds=1)
    assert await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker-b") is None, "the pause starts at the failure"
    clock.now += timedelta(seconds=2)
    retry = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker-b")
    assert retry is not None and retry.resumed and _ids(retry.picks) == _ids(claim.picks)
    await digests.mark_posted(retry.run_id, "99")
    assert (await digests.status(GUILD)).problem is None


async def test_failed_runs_do_not_count_as_shown(digests: DigestService, clock: Clock) -> None:
    claim = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
    assert claim is not None
    await digests.mark_failed(claim, "missing permission (403)", permanent=True)
    clock.now += timedelta(days=2)
    await digests.configure_channel(GUILD, CHANNEL)
    later = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
    assert later is not None and later.run_id != claim.run_id
    assert _ids(later.picks) == _ids(claim.picks), "nobody saw them: they are still the best five"


# -- when -------------------------------------------------------------------------------------


async def test_due_follows_the_guild_time_and_zone(digests: DigestService, clock: Clock) -> None:
    clock.now = datetime(2026, 6, 8, 7, 0, tzinfo=UTC)
    await digests.configure_time(GUILD, "10:30", "Europe/Berlin")
    clock.now = datetime(2026, 6, 8, 8, 29, tzinfo=UTC)
    assert await digests.due_guilds() == []
    clock.now = datetime(2026, 6, 8, 8, 30, tzinfo=UTC)
    assert [(config.guild_id, day.isoformat()) for config, day in await digests.due_guilds()] == [(GUILD, "2026-06-08")]
    with pytest.raises(InvalidInput, match="HH:MM"):
        await digests.configure_time(GUILD, "25:99", "UTC")
    with pytest.raises(InvalidInput, match="time zone"):
        await digests.configure_time(GUILD, "08:00", "Mars/Olympus")
    with pytest.raises(InvalidInput, match="channel id"):
        await digests.configure_channel(GUILD, "#general")
    config = await digests.config(GUILD)
    assert config is not None and (config.post_time, config.timezone) == ("10:30", "Europe/Berlin")


async def test_catch_up_after_downtime_the_same_day_but_no_backfill(digests: DigestService, clock: Clock) -> None:
    await digests.configure_time(GUILD, "08:00", "Asia/Kolkata")
    day = MONDAY_NINE.date() + timedelta(days=3)
    clock.now = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=9)  # 14:30 in Kolkata; down at 08:00
    assert await digests.due_guilds() == [(await digests.config(GUILD), day)]
    claim = await digests.claim(GUILD, CHANNEL, day, "worker")
    assert claim is not None
    await digests.mark_posted(claim.run_id, "1")
    assert await digests.due_guilds() == []
    clock.now += timedelta(days=2)  # the next day was missed entirely
    assert [due.local_date for due in await digests.due_guilds()] == [day + timedelta(days=2)]
    status = await digests.status(GUILD)
    assert status.last_posted_date == day.isoformat()
    assert status.next_post_at == clock.now and status.next_post_local is not None
    assert status.next_post_local.utcoffset() == timedelta(hours=5, minutes=30)
    assert status.as_dict()["next_post_local"].endswith("+05:30")


async def test_status_before_setup_and_after_posting(digests: DigestService, clock: Clock) -> None:
    blank = await digests.status("12345")
    assert blank.config is None and blank.problem == "no channel set: use /digest channel"
    assert blank.as_dict()["time"] == "08:00" and blank.as_dict()["timezone"] == "UTC"
    claim = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
    assert claim is not None
    await digests.mark_posted(claim.run_id, "31337")
    status = await digests.status(GUILD)
    assert (status.last_posted_date, status.last_message_id, status.problem) == (clock.now.date().isoformat(), "31337", None)
    assert status.next_post_at == post_instant(clock.now.date() + timedelta(days=1), "08:00", "UTC")


async def _walk(services: list[DigestService], clock: Clock, start: datetime, end: datetime, step: timedelta) -> None:
    """Each service stands for one bot process running its scheduler beat against the same clock."""

    async def beat(service: DigestService, worker: str) -> None:
        for config, local_date in await service.due_guilds():
            claim = await service.claim(config.guild_id, config.channel_id or "", local_date, worker)
            if claim is not None:
                await service.mark_posted(claim.run_id, f"{worker}-{claim.run_id}")

    clock.now = start
    while clock.now < end:
        await asyncio.gather(*(beat(service, f"process-{n}") for n, service in enumerate(services)))
        clock.now += step


async def test_two_schedulers_over_a_daylight_saving_change_in_four_zones_post_each_day_once(settings: Settings) -> None:
    zones = {
        "1": ("UTC", "08:00"),
        "2": ("America/New_York", "02:30"),
        "3": ("Asia/Kolkata", "08:00"),
        "4": ("Pacific/Auckland", "08:00"),
    }
    start, end = datetime(2027, 3, 12, 0, 0, tzinfo=UTC), datetime(2027, 3, 17, 0, 0, tzinfo=UTC)
    clock = Clock(start)
    async with await InsightStore.open(settings, FakeEmbedder()) as opened:
        for number in range(12):
            text = f"Observation {number}: quill{number} ember{number} lattice{number}"
            await opened.add_insight(text)
            await _arrived_at(opened, text, start - timedelta(days=1))
        second_engine = create_engine(settings.resolved_database_url)
        try:
            first = DigestService(opened.engine, opened.repository, opened.index, 0.86, clock, resurface_days=1)
            second = DigestService(second_engine, InsightRepository(second_engine), opened.index, 0.86, clock, resurface_days=1)
            for guild, (zone, post_time) in zones.items():
                await first.configure_channel(guild, f"10{guild}")
                await first.configure_time(guild, post_time, zone)
            await _walk([first, second], clock, start, end, timedelta(minutes=30))
        finally:
            await second_engine.dispose()
        async with opened.engine.connect() as connection:
            runs = (
                await connection.execute(select(digest_runs).order_by(digest_runs.c.guild_id, digest_runs.c.local_date))
            ).all()
    for guild, (zone, post_time) in zones.items():
        mine = [run for run in runs if run.guild_id == guild]
        days = [date.fromisoformat(run.local_date) for run in mine]
        assert days == [days[0] + timedelta(days=offset) for offset in range(len(days))], f"{zone}: a day skipped or doubled"
        assert len(days) in (5, 6) and all(run.status == "posted" and run.attempts == 1 for run in mine)
        for run, day in zip(mine, days, strict=True):
            posted_at = run.posted_at.replace(tzinfo=UTC)
            assert posted_at == max(post_instant(day, post_time, zone), start), f"{zone} {day} posted at {posted_at}"
    new_york = {run.local_date: run.posted_at.replace(tzinfo=UTC) for run in runs if run.guild_id == "2"}
    assert new_york["2027-03-14"] == datetime(2027, 3, 14, 7, 0, tzinfo=UTC), "02:30 does not exist that day: 03:00 EDT"
    assert new_york["2027-03-15"] == datetime(2027, 3, 15, 6, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def shared_database(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Settings]:
    """Settings whose database two engines (two processes) can share."""
    shared = settings.model_copy(update={"chroma_url": None})
    if request.param == "postgres":
        url = postgres_url()
        if url is None:
            pytest.skip(POSTGRES_SKIP_REASON)
        await reset_postgres(url)
        shared = shared.model_copy(update={"database_url": url})
    yield shared


async def test_two_processes_racing_for_the_same_day_one_wins(
    shared_database: Settings, shared_briefs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race is forced: all eight claims look for the day's run, find none, and only then go on
    to insert it, so the unique constraint alone decides (no claim can simply see another's row)."""
    contenders = 8
    looked = asyncio.Barrier(contenders)
    first_looks: list[str] = []
    original_run = DigestService._run

    async def look_then_wait(self: DigestService, channel_id: str, day: str) -> Any:
        found = await original_run(self, channel_id, day)
        if len(first_looks) < contenders:
            first_looks.append("none" if found is None else "found")
            await looked.wait()
        return found

    monkeypatch.setattr(DigestService, "_run", look_then_wait)
    async with await InsightStore.open(shared_database, FakeEmbedder()) as first:
        await first.ingest_paths([shared_briefs])
        await first.digests.configure_channel(GUILD, CHANNEL)
        second_engine = create_engine(shared_database.resolved_database_url)
        try:
            second = DigestService(
                second_engine, InsightRepository(second_engine), first.index, shared_database.same_idea_threshold
            )
            results = await asyncio.gather(
                *(
                    service.claim(GUILD, CHANNEL, "2026-06-08", name)
                    for name, service in [("a", first.digests), ("b", second)] * 4
                )
            )
        finally:
            await second_engine.dispose()
        async with first.engine.connect() as connection:
            runs = (await connection.execute(select(func.count()).select_from(digest_runs))).scalar_one()
            items = (await connection.execute(select(func.count()).select_from(digest_items))).scalar_one()
    winners = [claim for claim in results if claim is not None]
    assert first_looks == ["none"] * contenders, "every claim went for the insert"
    assert len(winners) == 1 and (runs, items) == (1, 5)
