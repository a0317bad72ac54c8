"""The machinery that keeps lookups fast must not change what they find: nearest-neighbour calls
batched across concurrent searches, the lexical postings budget, and the index's count and vector
caches (which must forget what this process changes)."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from store import search as search_module
from store.bench.generator import generate
from store.bench.runner import build_store
from store.errors import StoreUnavailable
from store.service import InsightStore
from tests.fakes import FakeEmbedder

COMMON = "pipeline"


async def _fill(store: InsightStore, count: int) -> list[str]:
    texts = generate(count, seed=3)
    await build_store(store, texts, store.embedder.encode(texts))
    return texts


def _counting(monkeypatch: pytest.MonkeyPatch, store: InsightStore, method: str) -> list[Any]:
    calls: list[Any] = []
    original = getattr(store.index, method)

    def counted(*args: Any) -> Any:
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(store.index, method, counted)
    return calls


async def test_concurrent_searches_share_nearest_neighbour_calls_and_find_the_same(
    store: InsightStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = await _fill(store, 300)
    questions = [" ".join(text.split()[:6]) for text in texts[:40:2]]
    alone = [await store.search(question) for question in questions]
    calls = _counting(monkeypatch, store, "query")
    together = await asyncio.gather(*(store.search(question) for question in questions))
    assert [[hit.id for hit in result.hits] for result in together] == [[hit.id for hit in result.hits] for result in alone]
    assert [[[related.id for related in hit.related] for hit in result.hits] for result in together] == [
        [[related.id for related in hit.related] for hit in result.hits] for result in alone
    ]
    # Two nearest-neighbour steps per search (the query, then the hits' neighbours) if nothing
    # were shared; batched, far fewer calls carry all of them.
    assert len(calls) < len(questions), f"{len(calls)} Chroma queries for {len(questions)} concurrent searches"
    assert max(len(args[0]) for args in calls) > 1


async def test_a_failed_batched_call_reaches_every_waiting_search(store: InsightStore, monkeypatch: pytest.MonkeyPatch) -> None:
    await _fill(store, 50)

    def unavailable(*_args: Any) -> Any:
        raise StoreUnavailable("the insight store is unavailable, try again shortly")

    monkeypatch.setattr(store.index, "query", unavailable)
    outcomes = await asyncio.gather(*(store.search(f"growth question {number}") for number in range(6)), return_exceptions=True)
    assert all(isinstance(outcome, StoreUnavailable) for outcome in outcomes), outcomes


@pytest.mark.parametrize("store", ["persistent"], indirect=True)
async def test_common_words_over_the_postings_budget_are_left_to_the_dense_ranking(
    store: InsightStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "LEXICAL_POSTINGS", 100)
    named = "Quorvex halved its churn by calling every cancelled customer within a day."
    await store.add_insight(named)
    for number in range(150):
        await store.add_insight(f"Note {number} on the {COMMON}: step {number} ran in {number * 3} minutes.")
    asked: list[list[str]] = []
    original = store.repository.lexical_search

    async def recorded(terms: list[str], limit: int) -> list[str]:
        asked.append(list(terms))
        return await original(terms, limit)

    monkeypatch.setattr(store.repository, "lexical_search", recorded)
    result = await store.search(f"Quorvex {COMMON} churn")
    assert result.hits and result.hits[0].text == named
    assert asked and COMMON not in asked[-1] and "quorvex" in [term.lower() for term in asked[-1]]


@pytest.mark.parametrize("store", ["persistent"], indirect=True)
async def test_term_counts_stop_at_the_cap(store: InsightStore) -> None:
    for number in range(12):
        await store.add_insight(f"Budget review {number}: the {COMMON} cost {number} dollars.")
    counts = await store.repository.term_counts([COMMON, "review", "absentword"], up_to=5)
    assert counts == {COMMON: 5, "review": 5, "absentword": 0}


async def test_the_index_count_follows_this_process_s_writes_at_once(store: InsightStore) -> None:
    vectors = FakeEmbedder().encode(["first insight about sleep", "second insight about sleep"])
    assert store.index.query(vectors[:1], 5) == [[]]
    store.index.upsert(["a" * 16], vectors[:1])
    assert [found for found, _ in store.index.query(vectors[:1], 5)[0]] == ["a" * 16]
    store.index.upsert(["b" * 16], vectors[1:])
    assert len(store.index.query(vectors[:1], 5)[0]) == 2, "a cached count must not hide a new vector"
    store.index.delete(["a" * 16])
    assert [found for found, _ in store.index.query(vectors[:1], 5)[0]] == ["b" * 16]


async def test_cached_vectors_are_forgotten_when_rewritten_or_deleted(store: InsightStore) -> None:
    first, second = FakeEmbedder().encode(["cats sleep all day", "markets fell sharply"])
    store.index.upsert(["c" * 16], first[None, :])
    assert np.allclose(store.index.vectors_for(["c" * 16])["c" * 16], first)
    store.index.upsert(["c" * 16], second[None, :])
    assert np.allclose(store.index.vectors_for(["c" * 16])["c" * 16], second)
    store.index.delete(["c" * 16])
    assert store.index.vectors_for(["c" * 16]) == {}
