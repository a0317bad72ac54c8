"""The evaluation run: a fresh store in a temporary directory (embedded Chroma, SQLite), the
corpus and N distractor briefs ingested through the real ingest path, every query asked through
the store's public search, and the outcomes scored.

Distractors are guarded twice against restating an expected insight: the generator never writes a
run of six words from the corpus, and here any distractor whose vector is closer than
``SAME_AS_EXPECTED`` to a corpus insight is dropped (and replaced, so the store still holds N).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from config.settings import Settings
from store.bench.generator import Distractor, DistractorBrief, distractor_briefs
from store.embedding import Embedder
from store.evaluation.cases import EvaluationCase, load_cases
from store.evaluation.corpus import corpus_paths, corpus_texts
from store.evaluation.metrics import RANKED_DEPTH, CaseOutcome, EvaluationReport
from store.service import InsightStore

Ranking = Literal["store", "dense"]
RANKINGS: tuple[Ranking, ...] = ("store", "dense")
DISTRACTOR_SEED = 13
SAME_AS_EXPECTED = 0.85
_BRIEF_HEADER = "Get your free personalized podcast brief\n\nWe scan new podcasts and send you the top 5 insights daily.\n\n"


@dataclass(frozen=True, slots=True)
class BuiltStore:
    store: InsightStore
    distractors: int
    dropped_distractors: int
    build_seconds: float


def guarded_distractors(embedder: Embedder, count: int, seed: int = DISTRACTOR_SEED) -> tuple[list[DistractorBrief], int]:
    """``count`` distractor insights as briefs, none within ``SAME_AS_EXPECTED`` cosine of a corpus
    insight; and how many candidates that rule dropped."""
    protected = corpus_texts()
    if count <= 0:
        return [], 0
    protected_vectors = embedder.encode(list(protected))
    asked = count + count // 20 + 20
    while True:
        candidates = distractor_briefs(asked, seed, forbidden=protected)
        texts = [insight.text for brief in candidates for insight in brief.insights]
        closest = (embedder.encode(texts) @ protected_vectors.T).max(axis=1)
        rejected = {text for text, similarity in zip(texts, closest.tolist(), strict=True) if similarity > SAME_AS_EXPECTED}
        kept, dropped = _without(candidates, rejected, count)
        if sum(len(brief.insights) for brief in kept) == count:
            return kept, dropped
        asked *= 2


def _without(briefs: Sequence[DistractorBrief], rejected: set[str], count: int) -> tuple[list[DistractorBrief], int]:
    """The first ``count`` insights that are not rejected, still grouped as their briefs (a brief
    whose main insight was dropped is led by its first related one); and how many were dropped."""
    kept: list[DistractorBrief] = []
    remaining = count
    dropped = 0
    for brief in briefs:
        if remaining == 0:
            break
        insights: list[Distractor] = []
        for insight in brief.insights:
            if insight.text in rejected:
                dropped += 1
            elif len(insights) < remaining:
                insights.append(insight)
        if insights:
            kept.append(DistractorBrief(insights[0], tuple(insights[1:])))
            remaining -= len(insights)
    return kept, dropped


def write_brief_files(folder: Path, briefs: Sequence[DistractorBrief]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number, brief in enumerate(briefs):
        related = "\n\n".join(insight.text for insight in brief.related)
        body = _BRIEF_HEADER + brief.main.text + ("\n\nRelated Insights\n\n" + related if related else "")
        (folder / f"distractor-{number:05d}.txt").write_text(body, encoding="utf-8")


@asynccontextmanager
async def evaluation_store(
    settings: Settings, embedder: Embedder, distractors: int = 0, seed: int = DISTRACTOR_SEED
) -> AsyncIterator[BuiltStore]:
    """A fresh embedded store holding the corpus and ``distractors`` distractor insights; the
    ranking settings (minimum score and the like) are the caller's."""
    with tempfile.TemporaryDirectory(prefix="insight-eval-") as folder:
        root = Path(folder)
        local = settings.model_copy(
            update={"data_dir": root / "data", "database_url": None, "chroma_url": None, "chroma_collection": "evaluation"}
        )
        started = time.perf_counter()
        briefs, dropped = await asyncio.to_thread(guarded_distractors, embedder, distractors, seed)
        await asyncio.to_thread(write_brief_files, root / "distractors", briefs)
        async with await InsightStore.open(local, embedder, reconcile=False) as store:
            for paths in (corpus_paths(), [root / "distractors"] if briefs else []):
                if paths:
                    report = await store.ingest_paths(paths)
                    if report.failed:
                        raise RuntimeError(f"evaluation ingest failed: {report.failed}")
            yield BuiltStore(store, distractors, dropped, round(time.perf_counter() - started, 2))


async def _ranked(store: InsightStore, query: str, ranking: Ranking) -> tuple[list[str], str | None]:
    if ranking == "store":
        hits = (await store.search(query, RANKED_DEPTH)).hits
        return [hit.id for hit in hits], hits[0].text if hits else None
    # Plain dense retrieval: nearest neighbours by cosine, cut at the same minimum score.
    vector = await store.encoder.encode(query)
    found = (await asyncio.to_thread(store.index.query, vector[None, :], RANKED_DEPTH))[0]
    ids = [hit_id for hit_id, score in found if score >= store.settings.min_score]
    first = (await store.repository.texts(ids[:1])).get(ids[0]) if ids else None
    return ids, first


async def rank_cases(store: InsightStore, cases: Sequence[EvaluationCase], ranking: Ranking = "store") -> list[CaseOutcome]:
    outcomes = []
    for case in cases:
        found, first = await _ranked(store, case.query, ranking)
        outcomes.append(CaseOutcome(case, tuple(found), case.relevant_ids(), first))
    return outcomes


async def evaluate(
    store: InsightStore, cases: Sequence[EvaluationCase] | None = None, ranking: Ranking = "store"
) -> EvaluationReport:
    """Scores a store that already holds the corpus (and whatever else it holds)."""
    return EvaluationReport.from_outcomes(await rank_cases(store, load_cases() if cases is None else cases, ranking))


def split_reports(outcomes: Sequence[CaseOutcome], splits: Sequence[str]) -> dict[str, EvaluationReport]:
    return {
        split: EvaluationReport.from_outcomes(outcome for outcome in outcomes if split == "all" or outcome.case.split == split)
        for split in splits
    }


async def run_evaluation(
    settings: Settings,
    embedder: Embedder,
    *,
    distractors: int = 0,
    split: str = "all",
    seed: int = DISTRACTOR_SEED,
    ranking: Ranking = "store",
) -> dict[str, object]:
    """What ``insight-recall eval`` prints: the documented scores, then what the store held."""
    cases = load_cases(split)
    async with evaluation_store(settings, embedder, distractors, seed) as built:
        started = time.perf_counter()
        report = await evaluate(built.store, cases, ranking)
        query_seconds = time.perf_counter() - started
        insights = await built.store.repository.count()
    result: dict[str, object] = report.as_dict()
    result.update(
        split=split,
        ranking=ranking,
        distractors=distractors,
        seed=seed,
        store_insights=insights,
        dropped_distractors=built.dropped_distractors,
        build_seconds=built.build_seconds,
        query_ms_mean=round(query_seconds * 1000 / max(1, len(cases)), 2),
    )
    return result
