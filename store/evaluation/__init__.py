"""The project's own evaluation set: queries over the bundled sample briefs with the insight each
should find, so changes for speed can be checked for what they cost in quality."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from store.service import InsightStore
from store.text import insight_id


@dataclass(frozen=True, slots=True)
class EvaluationCase:
    query: str
    expected: str | None
    kind: str


@dataclass(slots=True)
class EvaluationReport:
    cases: int = 0
    hit_at_1: float = 0.0
    hit_at_3: float = 0.0
    mrr: float = 0.0
    empty_for_unrelated: float = 0.0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "hit_at_1": round(self.hit_at_1, 4),
            "hit_at_3": round(self.hit_at_3, 4),
            "mrr": round(self.mrr, 4),
            "empty_for_unrelated": round(self.empty_for_unrelated, 4),
            "misses": self.misses,
        }


def load_cases() -> list[EvaluationCase]:
    text = (resources.files("store.evaluation") / "queries.jsonl").read_text(encoding="utf-8")
    cases = []
    for line in text.splitlines():
        if line.strip():
            raw = json.loads(line)
            cases.append(EvaluationCase(raw["query"], raw.get("expected"), raw.get("kind", "paraphrase")))
    return cases


async def evaluate(store: InsightStore, cases: list[EvaluationCase] | None = None) -> EvaluationReport:
    """Scores hit@1, hit@3 and MRR (over the top 10) for queries with an expected insight, and the
    share of unrelated queries that correctly return nothing."""
    cases = cases if cases is not None else load_cases()
    report = EvaluationReport()
    positives = [case for case in cases if case.expected]
    negatives = [case for case in cases if not case.expected]
    reciprocal_ranks = []
    for case in positives:
        wanted = insight_id(case.expected or "")
        found = [hit.id for hit in (await store.search(case.query, 10)).hits]
        rank = found.index(wanted) + 1 if wanted in found else None
        reciprocal_ranks.append(1.0 / rank if rank else 0.0)
        report.hit_at_1 += rank == 1
        report.hit_at_3 += rank is not None and rank <= 3
        if rank != 1:
            report.misses.append({"query": case.query, "kind": case.kind, "rank": rank})
    clean = 0
    for case in negatives:
        result = await store.search(case.query, 10)
        clean += result.is_empty
        if not result.is_empty:
            report.misses.append({"query": case.query, "kind": case.kind, "rank": None, "returned": len(result.hits)})
    report.cases = len(cases)
    if positives:
        report.hit_at_1 /= len(positives)
        report.hit_at_3 /= len(positives)
        report.mrr = sum(reciprocal_ranks) / len(positives)
    report.empty_for_unrelated = clean / len(negatives) if negatives else 1.0
    return report
