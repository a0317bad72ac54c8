"""The digest's records and choice, on real SQLite (and PostgreSQL when reachable) and real Chroma,
with a clock the tests move."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from config.settings import Settings
from store.digest.service import LEASE, DigestService
from store.errors import InvalidInput
from store.service import InsightStore
from store.text import insight_id
from tests.conftest import reset_postgres
from tests.fakes import FixedEmbedder
from tests.servers import postgres_url

GUILD, CHANNEL = "900", "901"
# The clock starts after the insights' real arrival time, as it would in use.
MONDAY_NINE = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


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
    store.digests.clock = clock
    await store.digests.configure_channel(GUILD, CHANNEL)
    return store.digests


async def test_claim_picks_five_distinct_insights_main_insights_first(digests: DigestService) -> None:
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-a")
    assert claim is not None and len(claim.picks) == 5
    assert len({pick.insight_id for pick in claim.picks}) == 5
    assert "main insight of a brief" in claim.picks[0].why
    assert not any(pick.resurfaced for pick in claim.picks)
    assert claim.marker == f"insight-recall digest 2026-06-08 #{claim.run_id}"


async def test_the_same_day_cannot_be_claimed_twice(digests: DigestService) -> None:
    first = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-a")
    assert first is not None
    assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-b") is None
    await digests.mark_posted(first.run_id, "5555")
    assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-b") is None
    status = await digests.status(GUILD)
    assert (status.last_posted_date, status.last_message_id) == ("2026-06-08", "5555")


async def test_a_crash_between_claim_and_post_is_retaken_by_exactly_one_with_the_same_five(digests: DigestService, clock: Clock) -> None:
    first = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-a")
    assert first is not None
    assert await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-b") is None, "inside the lease nobody retakes"
    clock.now += LEASE + timedelta(seconds=1)
    retakes = await asyncio.gather(*(digests.claim(GUILD, CHANNEL, "2026-06-08", f"worker-{n}") for n in range(5)))
    winners = [claim for claim in retakes if claim is not None]
    assert len(winners) == 1
    assert winners[0].resumed and winners[0].run_id == first.run_id
    assert [pick.insight_id for pick in winners[0].picks] == [pick.insight_id for pick in first.picks]


async def test_next_day_shows_other_insights_until_they_run_out_then_resurfaces_after_30_days(digests: DigestService, clock: Clock) -> None:
    shown: list[str] = []
    for day in range(5):
        clock.now = MONDAY_NINE + timedelta(days=day)
        claim = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
        if claim is None:
            break
        shown += [pick.insight_id for pick in claim.picks]
        await digests.mark_posted(claim.run_id, str(1000 + day))
    assert len(shown) == len(set(shown)) == 21, "every insight once before any repeats"
    clock.now = MONDAY_NINE + timedelta(days=10)
    assert await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker") is None, "all were shown within 30 days"
    clock.now = MONDAY_NINE + timedelta(days=31)
    again = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
    assert again is not None and len(again.picks) == 5
    assert all(pick.resurfaced for pick in again.picks)
    assert all("resurfaced" in pick.why for pick in again.picks)


async def test_fewer_than_five_new_are_filled_with_resurfaced_older_ones(digests: DigestService, store: InsightStore, clock: Clock) -> None:
    for day in range(4):
        clock.now = MONDAY_NINE + timedelta(days=day)
        claim = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
        assert claim is not None
        await digests.mark_posted(claim.run_id, str(day))
    clock.now = MONDAY_NINE + timedelta(days=40)
    await store.add_insight("A brand new idea about wafer-scale memory arrived today.")
    await _arrived_at(store, "A brand new idea about wafer-scale memory arrived today.", clock.now)
    claim = await digests.claim(GUILD, CHANNEL, clock.now.date(), "worker")
    assert claim is not None and len(claim.picks) == 5
    assert claim.picks[0].text.startswith("A brand new idea") and not claim.picks[0].resurfaced
    assert all(pick.resurfaced for pick in claim.picks[1:])


async def _arrived_at(store: InsightStore, text: str, moment: datetime) -> None:
    """Ingest stamps the real time; the tests' clock is in the future, so move the arrival there."""
    from store.schema import insights

    async with store.engine.begin() as connection:
        await connection.execute(insights.update().where(insights.c.id == insight_id(text)).values(first_seen=moment))


async def test_an_empty_store_posts_nothing_and_status_says_so(store: InsightStore, clock: Clock) -> None:
    store.digests.clock = clock
    await store.digests.configure_channel(GUILD, CHANNEL)
    assert await store.digests.claim(GUILD, CHANNEL, "2026-06-08", "worker") is None
    assert await store.digests.preview(GUILD) == []
    status = await store.digests.status(GUILD)
    assert status.problem is not None and "empty" in status.problem


async def test_a_permanent_failure_turns_the_digest_off_with_the_reason(digests: DigestService) -> None:
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker")
    assert claim is not None
    await digests.mark_failed(claim.run_id, "missing permission to send messages in #insights (403)", permanent=True)
    status = await digests.status(GUILD)
    assert status.config is not None and not status.config.enabled
    assert "403" in (status.problem or "")
    assert await digests.due() == []
    await digests.configure_channel(GUILD, CHANNEL)
    again = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker")
    assert again is not None and again.run_id == claim.run_id, "once fixed, the same day's run is posted"


async def test_a_transient_failure_keeps_it_on_and_the_retry_posts_the_same_five(digests: DigestService, clock: Clock) -> None:
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-a")
    assert claim is not None
    await digests.mark_failed(claim.run_id, "500 from Discord", permanent=False)
    assert (await digests.status(GUILD)).config.enabled  # type: ignore[union-attr]
    clock.now += LEASE * 2
    retry = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker-b")
    assert retry is not None and [p.insight_id for p in retry.picks] == [p.insight_id for p in claim.picks]


async def test_preview_writes_nothing(digests: DigestService) -> None:
    first = await digests.preview(GUILD)
    second = await digests.preview(GUILD)
    assert [pick.insight_id for pick in first] == [pick.insight_id for pick in second]
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker")
    assert claim is not None and [pick.insight_id for pick in claim.picks] == [pick.insight_id for pick in first]


async def test_engagement_raises_an_insight(digests: DigestService, store: InsightStore) -> None:
    before = await digests.preview(GUILD)
    chosen = {pick.insight_id for pick in before}
    outsider = next(found for found in sorted(await store.repository.all_ids()) if found not in chosen)
    for user in range(6):
        await store.saved.save(str(7000 + user), outsider)
    after = await digests.preview(GUILD)
    assert outsider in {pick.insight_id for pick in after}
    assert "saved by 6 people" in next(pick.why for pick in after if pick.insight_id == outsider)


async def test_due_follows_the_guild_time_and_zone(digests: DigestService, clock: Clock) -> None:
    await digests.configure_time(GUILD, "10:30", "Europe/Berlin")
    clock.now = datetime(2026, 6, 8, 8, 29, tzinfo=timezone.utc)
    assert await digests.due() == []
    clock.now = datetime(2026, 6, 8, 8, 30, tzinfo=timezone.utc)
    assert [(config.guild_id, day.isoformat()) for config, day in await digests.due()] == [(GUILD, "2026-06-08")]
    with pytest.raises(InvalidInput, match="HH:MM"):
        await digests.configure_time(GUILD, "25:99", "UTC")
    with pytest.raises(InvalidInput, match="time zone"):
        await digests.configure_time(GUILD, "08:00", "Mars/Olympus")


async def test_the_same_idea_is_never_shown_twice_in_one_digest(settings: Settings, tmp_path: Path) -> None:
    texts = {
        "Coffee after lunch ruins deep sleep.": [1.0, 0.02, 0.0, 0.0, 0.0, 0.0],
        "An afternoon espresso cuts your slow-wave sleep.": [1.0, 0.0, 0.02, 0.0, 0.0, 0.0],
        "Index funds beat most active managers.": [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        "Small teams ship faster.": [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
        "Retrieval sets the ceiling for RAG.": [0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        "Sunlight resets the body clock.": [0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        "Fees compound like returns.": [0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
    }
    embedder = FixedEmbedder(texts)
    async with await InsightStore.open(settings.model_copy(update={"same_idea_threshold": 0.99}), embedder) as opened:
        for text in texts:
            await opened.add_insight(text)
        picks = await opened.digests.preview(None)
    chosen = {pick.insight_id for pick in picks}
    coffee = {insight_id("Coffee after lunch ruins deep sleep."), insight_id("An afternoon espresso cuts your slow-wave sleep.")}
    assert len(picks) == 5
    assert len(chosen & coffee) == 1


async def test_two_processes_racing_for_the_same_day_one_wins(settings: Settings, shared_briefs: Path) -> None:
    """Two engines on one database stand for two bot processes (on PostgreSQL when reachable)."""
    from tests.fakes import FakeEmbedder

    url = postgres_url()
    shared_settings = settings.model_copy(update={"chroma_url": None})
    if url is not None:
        await reset_postgres(url)
        shared_settings = shared_settings.model_copy(update={"database_url": url})
    embedder = FakeEmbedder()
    async with await InsightStore.open(shared_settings, embedder) as first:
        await first.ingest_paths([shared_briefs])
        await first.digests.configure_channel(GUILD, CHANNEL)
        from store.database import create_engine
        from store.digest.service import DigestService as Service

        second_engine = create_engine(shared_settings.resolved_database_url)
        try:
            second = Service(second_engine, first.index, shared_settings.same_idea_threshold)
            results = await asyncio.gather(
                *(service.claim(GUILD, CHANNEL, "2026-06-08", name) for name, service in [("a", first.digests), ("b", second)] * 4)
            )
        finally:
            await second_engine.dispose()
    assert len([claim for claim in results if claim is not None]) == 1


async def test_votes_on_earlier_digests_raise_an_insight(digests: DigestService, store: InsightStore, clock: Clock) -> None:
    claim = await digests.claim(GUILD, CHANNEL, "2026-06-08", "worker")
    assert claim is not None
    await digests.mark_posted(claim.run_id, "777")
    chosen = {pick.insight_id for pick in await digests.preview(GUILD)} | {pick.insight_id for pick in claim.picks}
    outsider = next(found for found in sorted(await store.repository.all_ids()) if found not in chosen)
    for user in range(8):
        await digests.record_feedback(claim.run_id, outsider, str(8000 + user), "reaction")
    assert await digests.vote_by_message("777", 1, "8100") is True
    assert await digests.vote_by_message("778", 1, "8100") is False
    picks = await digests.preview(GUILD)
    assert outsider in {pick.insight_id for pick in picks}
    assert "8 reactions on earlier digests" in next(pick.why for pick in picks if pick.insight_id == outsider)
