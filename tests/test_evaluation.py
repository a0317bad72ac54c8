"""Quality with the real model: the evaluation set over the bundled samples must stay perfect at
hit@3, and queries about nothing in the store must return nothing."""

from __future__ import annotations

import pytest

from store.evaluation import evaluate, load_cases
from store.service import InsightStore
from tests.conftest import SAMPLE_BRIEFS

pytestmark = pytest.mark.model


async def test_evaluation_set_hit_at_3_is_perfect(real_store: InsightStore) -> None:
    report = await real_store.ingest_paths([SAMPLE_BRIEFS])
    assert report.failed == []
    scores = await evaluate(real_store)
    print("evaluation:", scores.as_dict())
    assert scores.cases == len(load_cases()) >= 20
    assert scores.hit_at_3 == 1.0, scores.misses
    assert scores.empty_for_unrelated == 1.0, scores.misses
    assert scores.mrr >= 0.9, scores.misses


async def test_samples_ingest_with_one_merge_and_one_same_idea_link(real_store: InsightStore) -> None:
    report = await real_store.ingest_paths([SAMPLE_BRIEFS])
    assert (report.added, report.merged) == (27, 1)
    stats = await real_store.stats()
    assert stats["same_idea_links"] == 1
    coffee = (await real_store.search("afternoon coffee and slow-wave sleep", 1)).hits[0]
    assert [related.reason for related in coffee.related].count("same-idea") == 1
