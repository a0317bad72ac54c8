"""The digest's score formula and lease, number for number as the README states them:
score = 1.0·freshness + 0.6·connectedness + 0.8·engagement, freshness halving every 7 days,
both logarithmic terms capped at 1 (ten links, ten saves and votes), 0.5 more for a brief's main
insight; a claim's lease of five minutes doubling with each attempt up to 40 minutes."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from config.settings import Settings
from store.digest.schema import digest_feedback, digest_items, digest_runs
from store.digest.selection import DigestPick, DigestSelector
from store.digest.service import LEASE, DigestService, lease_for
from store.schema import insights, relations, saved_items
from store.service import InsightStore
from store.text import insight_id
from tests.fakes import FixedEmbedder

CHANNEL = "901"
NOW = datetime(2031, 3, 10, 9, 0, tzinfo=UTC)
LAST_DIGEST = NOW - timedelta(days=1)

MAIN = "A brief's main insight carries the episode."
RELATED_A = "The first related insight of that brief."
RELATED_B = "The second related insight of that brief."
HALF_WEEK = "An insight three and a half days old."
MUCH_SAVED = "An insight saved by many people."
HUB = "An insight linked to a dozen others."
NEWCOMER = "An insight that arrived after the last digest."
FILLERS = [f"Filler insight number {n} about nothing much." for n in range(12)]
TEXTS = [MAIN, RELATED_A, RELATED_B, HALF_WEEK, MUCH_SAVED, HUB, NEWCOMER, *FILLERS]
VECTORS = {text: [1.0 if column == row else 0.0 for column in range(len(TEXTS))] for row, text in enumerate(TEXTS)}

LOG11 = math.log(11)


def _fresh(age_days: float) -> float:
    return 0.5 ** (age_days / 7)


def _linked(links: int, main: bool = False) -> float:
    return min(1.0, math.log1p(links) / LOG11) + (0.5 if main else 0.0)


def _engaged(count: int) -> float:
    return min(1.0, math.log1p(count) / LOG11)


def _score(age_days: float | None, links: int = 0, main: bool = False, engagement: int = 0) -> float:
    freshness = 1.0 if age_days is None else _fresh(age_days)
    return 1.0 * freshness + 0.6 * _linked(links, main) + 0.8 * _engaged(engagement)


EXPECTED = {
    MAIN: _score(7, links=2, main=True),
    RELATED_A: _score(14, links=1),
    RELATED_B: _score(14, links=1, engagement=5),
    HALF_WEEK: _score(3.5),
    MUCH_SAVED: _score(21, engagement=25),
    HUB: _score(28, links=12),
    NEWCOMER: _score(None),
    **{filler: _score(35, links=1) for filler in FILLERS},
}
AGES = {MAIN: 7, RELATED_A: 14, RELATED_B: 14, HALF_WEEK: 3.5, MUCH_SAVED: 21, HUB: 28, **dict.fromkeys(FILLERS, 35)}


@pytest.fixture
async def scored_store(settings: Settings) -> AsyncIterator[InsightStore]:
    opened = await InsightStore.open(settings, FixedEmbedder(VECTORS))
    await opened.add_insight(MAIN, related=[RELATED_A, RELATED_B])
    for text in (HALF_WEEK, MUCH_SAVED, HUB, NEWCOMER, *FILLERS):
        await opened.ingest_bytes(f"{text}\n".encode(), "notes.md")
    async with opened.engine.begin() as connection:
        for text, age in AGES.items():
            await connection.execute(
                update(insights).where(insights.c.id == insight_id(text)).values(first_seen=NOW - timedelta(days=age))
            )
        await connection.execute(
            update(insights).where(insights.c.id == insight_id(NEWCOMER)).values(first_seen=LAST_DIGEST + timedelta(hours=2))
        )
        run_id = (
            await connection.execute(
                digest_runs.insert()
                .values(
                    guild_id="900",
                    channel_id=CHANNEL,
                    local_date=LAST_DIGEST.date().isoformat(),
                    status="posted",
                    claimed_by="earlier",
                    claimed_at=LAST_DIGEST,
                    posted_at=LAST_DIGEST,
                    message_id="1",
                    attempts=1,
                )
                .returning(digest_runs.c.id)
            )
        ).scalar_one()
        for user in range(25):
            await connection.execute(
                saved_items.insert().values(user_id=str(100 + user), insight_id=insight_id(MUCH_SAVED), saved_at=NOW)
            )
        for user in range(3):
            await connection.execute(
                saved_items.insert().values(user_id=str(200 + user), insight_id=insight_id(RELATED_B), saved_at=NOW)
            )
        for user in range(2):
            await connection.execute(
                digest_feedback.insert().values(
                    run_id=run_id, insight_id=insight_id(RELATED_B), user_id=str(300 + user), kind="vote"
                )
            )
        hub = insight_id(HUB)
        for filler in FILLERS:
            other = insight_id(filler)
            low, high = sorted((hub, other))
            await connection.execute(relations.insert().values(low_id=low, high_id=high, kind="brief", score=None))
    try:
        yield opened
    finally:
        await opened.close()


async def _all_picks(store: InsightStore) -> dict[str, DigestPick]:
    selector = DigestSelector(store.engine, store.repository, store.index, store.settings.same_idea_threshold, size=len(TEXTS))
    picks = await selector.choose(CHANNEL, NOW)
    return {pick.text: pick for pick in picks}


async def test_every_score_is_the_readme_formula(scored_store: InsightStore) -> None:
    picks = await _all_picks(scored_store)
    assert set(picks) == set(TEXTS)
    for text, expected in EXPECTED.items():
        assert picks[text].score == pytest.approx(expected, rel=1e-6), text


async def test_freshness_halves_every_seven_days(scored_store: InsightStore) -> None:
    picks = await _all_picks(scored_store)
    # Alike but for age (one link each, nothing saved): the difference is freshness alone.
    assert picks[RELATED_A].score - picks[FILLERS[0]].score == pytest.approx(_fresh(14) - _fresh(35), rel=1e-6)
    assert picks[HALF_WEEK].score == pytest.approx(math.sqrt(0.5), rel=1e-6)


async def test_new_insights_come_first_and_the_rest_are_resurfaced(scored_store: InsightStore) -> None:
    selector = DigestSelector(scored_store.engine, scored_store.repository, scored_store.index, 0.86)
    picks = await selector.choose(CHANNEL, NOW)
    assert [pick.text for pick in picks][:1] == [NEWCOMER] and not picks[0].resurfaced
    # Then the best older ones by score (orthogonal vectors: nothing for MMR to push apart).
    older = sorted((text for text in EXPECTED if text != NEWCOMER), key=lambda text: -EXPECTED[text])
    assert [pick.text for pick in picks[1:]] == older[:4]
    assert all(pick.resurfaced for pick in picks[1:])


def test_the_lease_doubles_with_each_attempt_up_to_forty_minutes() -> None:
    assert timedelta(minutes=5) == LEASE
    assert [lease_for(attempt) / timedelta(minutes=1) for attempt in range(1, 9)] == [5, 10, 20, 40, 40, 40, 40, 40]


async def test_a_run_that_failed_many_times_is_retaken_after_forty_minutes(settings: Settings) -> None:
    clock_now = [NOW]
    async with await InsightStore.open(settings, FixedEmbedder(VECTORS)) as opened:
        await opened.add_insight(MAIN, related=[RELATED_A])
        digests = DigestService(opened.engine, opened.repository, opened.index, 0.86, clock=lambda: clock_now[0])
        await digests.configure_channel("900", CHANNEL)
        claim = await digests.claim("900", CHANNEL, NOW.date(), "first")
        assert claim is not None
        async with opened.engine.begin() as connection:
            await connection.execute(update(digest_runs).where(digest_runs.c.id == claim.run_id).values(attempts=9))
        clock_now[0] = NOW + timedelta(minutes=40) - timedelta(seconds=5)
        assert await digests.claim("900", CHANNEL, NOW.date(), "second") is None, "inside the 40-minute lease"
        clock_now[0] = NOW + timedelta(minutes=40, seconds=1)
        retaken = await digests.claim("900", CHANNEL, NOW.date(), "second")
        assert retaken is not None and retaken.attempt == 10 and retaken.run_id == claim.run_id


async def test_why_says_new_saved_by_one_person_and_the_pick_as_json(scored_store: InsightStore) -> None:
    async with scored_store.engine.begin() as connection:
        await connection.execute(saved_items.insert().values(user_id="999", insight_id=insight_id(HALF_WEEK), saved_at=NOW))
    selector = DigestSelector(scored_store.engine, scored_store.repository, scored_store.index, 0.86, size=len(TEXTS))
    never = {pick.text: pick for pick in await selector.choose(None, NOW)}  # as for a channel with no digest yet
    assert never[HALF_WEEK].why == "new, saved by 1 person"
    assert never[MAIN].why == "new, main insight of a brief with 2 related"
    here = {pick.text: pick for pick in await selector.choose(CHANNEL, NOW)}
    assert here[NEWCOMER].why == "new since the last digest"
    assert here[MUCH_SAVED].why == "resurfaced: from 21 days ago, not shown here yet, saved by 25 people"
    assert here[RELATED_B].why.endswith("1 related insight, saved by 3 people, 2 reactions on earlier digests")
    pick = here[MUCH_SAVED]
    assert pick.as_dict() == {
        "id": insight_id(MUCH_SAVED),
        "text": MUCH_SAVED,
        "score": round(EXPECTED[MUCH_SAVED], 4),
        "why": pick.why,
        "resurfaced": True,
    }


async def test_status_as_json_and_the_empty_store_message(settings: Settings) -> None:
    async with await InsightStore.open(settings, FixedEmbedder(VECTORS)) as opened:
        digests = DigestService(opened.engine, opened.repository, opened.index, 0.86, clock=lambda: NOW)
        unset = await digests.status("900")
        assert unset.problem == "the insight store is empty; no channel set: use /digest channel"
        assert unset.as_dict() == {
            "channel_id": None,
            "time": "08:00",
            "timezone": "UTC",
            "enabled": False,
            "last_posted_date": None,
            "last_message_id": None,
            "next_post_at": None,
            "next_post_local": None,
            "problem": unset.problem,
            "store_empty": True,
            "state": "unset",
        }
        await opened.add_insight(MAIN)
        await digests.configure_channel("900", CHANNEL)
        await digests.configure_time("900", "07:30", "Europe/Berlin")
        claim = await digests.claim("900", CHANNEL, NOW.date(), "poster")
        assert claim is not None and await digests.mark_posted(claim.run_id, "5151")
        status = (await digests.status("900")).as_dict()
    assert status["last_message_id"] == "5151" and status["last_posted_date"] == NOW.date().isoformat()
    assert (status["channel_id"], status["time"], status["timezone"], status["enabled"]) == (
        CHANNEL,
        "07:30",
        "Europe/Berlin",
        True,
    )
    assert status["next_post_local"] == "2031-03-11T07:30:00+01:00" and status["next_post_at"] == "2031-03-11T06:30:00+00:00"
    assert status["problem"] is None and status["store_empty"] is False


async def test_thirty_days_count_from_the_post_not_the_claim(scored_store: InsightStore) -> None:
    """A digest claimed at 09:00 but posted at 11:00 (after retries) shows its insight again only
    thirty days after 11:00."""
    claimed = NOW
    posted = NOW + timedelta(hours=2)
    async with scored_store.engine.begin() as connection:
        run_id = (
            await connection.execute(
                digest_runs.insert()
                .values(
                    guild_id="900",
                    channel_id=CHANNEL,
                    local_date=NOW.date().isoformat(),
                    status="posted",
                    claimed_by="slow",
                    claimed_at=claimed,
                    posted_at=posted,
                    message_id="2",
                    attempts=3,
                )
                .returning(digest_runs.c.id)
            )
        ).scalar_one()
        await connection.execute(
            digest_items.insert().values(
                run_id=run_id, rank=1, insight_id=insight_id(HUB), score=1.0, why="shown", resurfaced=True
            )
        )
    selector = DigestSelector(scored_store.engine, scored_store.repository, scored_store.index, 0.86, size=len(TEXTS))
    between = {pick.text for pick in await selector.choose(CHANNEL, posted + timedelta(days=30) - timedelta(hours=1))}
    after = {pick.text for pick in await selector.choose(CHANNEL, posted + timedelta(days=30, hours=1))}
    assert HUB not in between, "thirty days after the claim but not yet after the post"
    assert HUB in after
