"""Many people at once: concurrent searches with the real model (its tokenizer fails with
"Already borrowed" when encodes overlap) and an event loop that must stay responsive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from store.service import InsightStore
from tests.conftest import SAMPLE_BRIEFS

MAX_LOOP_LAG_SECONDS = 0.5


@asynccontextmanager
async def loop_lag_monitor(interval: float = 0.02) -> AsyncIterator[list[float]]:
    """Measures how late a ticker wakes up: the longest stall anything caused on the loop."""
    worst: list[float] = [0.0]
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(interval)
            worst[0] = max(worst[0], time.perf_counter() - started - interval)

    ticker = asyncio.create_task(tick())
    try:
        yield worst
    finally:
        stop.set()
        await ticker


@pytest.mark.model
async def test_50_concurrent_searches_succeed_without_stalling_the_loop(real_store: InsightStore) -> None:
    await real_store.ingest_paths([SAMPLE_BRIEFS])
    queries = [f"how do teams of {size} people stay fast" for size in range(25)] + ["sleep and coffee"] * 25
    async with loop_lag_monitor() as worst:
        results = await asyncio.gather(*(real_store.search(query, 3) for query in queries), return_exceptions=True)
    errors = [result for result in results if isinstance(result, BaseException)]
    assert errors == []
    assert all(not result.is_empty for result in results)  # type: ignore[union-attr]
    print(f"worst event-loop lag during 50 concurrent searches: {worst[0] * 1000:.1f} ms")
    assert worst[0] < MAX_LOOP_LAG_SECONDS


@pytest.mark.model
async def test_concurrent_ingest_and_search_do_not_collide(real_store: InsightStore, shared_briefs) -> None:  # type: ignore[no-untyped-def]
    await real_store.ingest_paths([SAMPLE_BRIEFS])
    async with loop_lag_monitor() as worst:
        outcome = await asyncio.gather(
            real_store.ingest_paths([shared_briefs]),
            *(real_store.search(f"question number {number} about custom chips", 3) for number in range(20)),
        )
    assert outcome[0].added == 21
    assert worst[0] < MAX_LOOP_LAG_SECONDS


class SlowEmbedder:
    """A fake whose every encode takes 0.3 s of blocking work, like a loaded CPU: if any encode ran
    on the event loop, the loop would stall for at least that long."""

    def __init__(self) -> None:
        from tests.fakes import FakeEmbedder

        self._inner = FakeEmbedder()
        self.calls = 0
        self.name = self._inner.name
        self.dimension = self._inner.dimension

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.calls += 1
        time.sleep(0.3)
        return self._inner.encode(texts)


async def test_slow_encodes_stay_off_the_loop_and_are_batched(settings, shared_briefs) -> None:  # type: ignore[no-untyped-def]
    embedder = SlowEmbedder()
    async with await InsightStore.open(settings, embedder) as store:
        await store.ingest_paths([shared_briefs])
        calls_before = embedder.calls
        async with loop_lag_monitor() as worst:
            results = await asyncio.gather(*(store.search(f"custom chips question {number}", 3) for number in range(50)))
        assert len(results) == 50
        assert worst[0] < 0.2, "an encode ran on the event loop"
        assert embedder.calls - calls_before <= 3, "concurrent query encodes were not batched"


async def test_the_lag_monitor_sees_a_blocked_loop() -> None:
    async with loop_lag_monitor() as worst:
        await asyncio.sleep(0.05)
        time.sleep(0.6)
        await asyncio.sleep(0.05)
    assert worst[0] > MAX_LOOP_LAG_SECONDS
