"""A Chroma write that fails after the SQL commit: tried again at once, and whatever is still
missing is found by id and indexed while the process runs, not only at the next start-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import store.ingest
from store.errors import StoreUnavailable
from store.outages import UNAVAILABLE
from store.service import InsightStore
from store.text import insight_id

TEXT = "Quantum annealers solve scheduling problems that classical solvers find hard."
QUERY = "quantum annealers scheduling"


def _failing_upsert(opened: InsightStore, failures: int) -> list[int]:
    """The index's writes fail ``failures`` times (as with a Chroma server restarting), then work."""
    real: Callable[..., Any] = opened.index.upsert
    calls: list[int] = []

    def upsert(ids: Any, vectors: np.ndarray) -> None:
        calls.append(len(ids))
        if len(calls) <= failures:
            raise StoreUnavailable(UNAVAILABLE)
        real(ids, vectors)

    opened.index.upsert = upsert  # type: ignore[method-assign]
    return calls


async def _found_by_meaning(opened: InsightStore, text: str) -> bool:
    return insight_id(text) in {hit for hit, _ in opened.index.query(opened.embedder.encode([text]), 5)[0]}


@pytest.fixture(autouse=True)
def _no_retry_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store.ingest, "INDEX_RETRY_PAUSES", (0.0, 0.0))


async def test_a_chroma_write_that_fails_once_is_retried(store: InsightStore) -> None:
    calls = _failing_upsert(store, failures=1)
    report = await store.add_insight(TEXT)
    assert report.added == 1, "the insight is stored: the ingest must not fail"
    assert len(calls) == 2
    assert await _found_by_meaning(store, TEXT)
    assert (await store.search(QUERY, 3)).hits[0].text == TEXT


async def test_a_write_that_keeps_failing_is_repaired_while_running(store: InsightStore) -> None:
    _failing_upsert(store, failures=4)  # the write and its two retries, then the retry after the ingest
    report = await store.add_insight(TEXT)
    assert report.added == 1
    assert not await _found_by_meaning(store, TEXT)
    again = await store.add_insight(TEXT)
    assert again.unchanged == 1, "a later ingest of the same text skips it"
    assert await _found_by_meaning(store, TEXT), "the next write indexes what is pending"


async def test_the_periodic_repair_finds_what_another_process_left_out(store: InsightStore) -> None:
    _failing_upsert(store, failures=4)
    await store.add_insight(TEXT)
    store.ingestor.unindexed.clear()  # as if another process had failed: only the ids can tell
    assert not await _found_by_meaning(store, TEXT)
    repaired = await store.repair_index()
    assert (repaired.indexed, repaired.removed) == (1, 0)
    assert (await store.search(QUERY, 3)).hits[0].text == TEXT


async def test_the_periodic_repair_compares_ids_not_counts(store: InsightStore, shared_briefs: Any) -> None:
    """Another process's failed write (an id missing here) next to an id SQL no longer has: the
    counts agree, the ids do not."""
    await store.ingest_paths([shared_briefs])
    lost = sorted(await store.repository.all_ids())[3]
    store.index.delete([lost])
    store.index.upsert(["0123456789abcdef"], store.embedder.encode(["an insight nobody stored"]))
    assert store.index.count() == await store.repository.count()
    repaired = await store.repair_index()
    assert (repaired.indexed, repaired.removed) == (1, 1)
    assert store.index.all_ids() == await store.repository.all_ids()


async def test_a_long_ingest_repairs_its_own_failed_writes_before_it_ends(store: InsightStore, shared_briefs: Any) -> None:
    _failing_upsert(store, failures=3)  # the first batch's write and both retries
    report = await store.ingest_paths([shared_briefs])
    assert report.added == 21 and not report.failed
    assert store.index.all_ids() == await store.repository.all_ids()
    assert not store.ingestor.unindexed
