"""Search behaviour on real Chroma and SQLite with the fake embedder: hybrid ranking, cut-off,
related insights and input checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.errors import InsightNotFound, InvalidInput
from store.search import query_terms
from store.service import InsightStore


@pytest.fixture
async def filled(store: InsightStore, shared_briefs: Path) -> InsightStore:
    await store.ingest_paths([shared_briefs])
    return store


async def test_a_name_mentioned_once_finds_its_insight_first(filled: InsightStore) -> None:
    for query, name in (("Zyphra", "zyphra"), ("what does zyphra do?", "zyphra"), ("Dylan Patel", "dylan patel")):
        result = await filled.search(query, 3)
        assert result.hits, query
        first = result.hits[0]
        assert name in first.text.lower()
        assert first.matched_terms


async def test_a_query_about_nothing_stored_returns_no_results(filled: InsightStore) -> None:
    result = await filled.search("sourdough hydration ratio for rye loaves", 5)
    assert result.is_empty
    assert result.as_dict() == {"query": "sourdough hydration ratio for rye loaves", "results": []}


async def test_related_lists_explicit_links_before_neighbours_and_never_the_hit(filled: InsightStore) -> None:
    result = await filled.search("custom chip flexibility for evolving algorithms", 3)
    assert result.hits
    for hit in result.hits:
        assert hit.id not in {related.id for related in hit.related}
        reasons = [related.reason for related in hit.related]
        assert reasons == sorted(reasons, key=lambda reason: reason == "similar")
        assert len({related.id for related in hit.related}) == len(hit.related)


async def test_results_carry_score_and_sources(filled: InsightStore) -> None:
    result = await filled.search("specialized models are cheaper to run", 2)
    payload = result.as_dict()
    assert set(payload["results"][0]) >= {"id", "text", "score", "sources", "related"}
    assert 0.0 < payload["results"][0]["score"] <= 1.0
    assert payload["results"][0]["sources"][0]["origin"].endswith(".txt")


async def test_result_count_is_respected(filled: InsightStore) -> None:
    result = await filled.search("model architecture inference hardware chips", 2)
    assert 1 <= len(result.hits) <= 2


@pytest.mark.parametrize("query", ["", "   ", "\u200b\u200b", "x" * 1001])
async def test_unusable_queries_are_refused_with_a_reason(filled: InsightStore, query: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        await filled.search(query, 3)
    assert "query" in str(raised.value)


async def test_related_checks_the_id(filled: InsightStore) -> None:
    with pytest.raises(InvalidInput, match="not an insight id"):
        await filled.related("not-an-id")
    with pytest.raises(InsightNotFound):
        await filled.related("0123456789abcdef")


def test_query_terms_drop_stop_words_and_fts_syntax() -> None:
    assert query_terms('What is "Zyphra" doing AND OR NEAR(x) -- with GPUs?') == ["zyphra", "near", "gpus"]
