"""Scores for a ranking: where the right insight landed for each query, summed up overall and by kind.

hit@1, hit@3, MRR (over the top 10) and nDCG@5 are averaged over the queries that have an expected
insight; ``empty_for_unrelated`` is the share of queries about nothing in the store that returned
nothing at all. A query with two equally right insights counts the first of them it finds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from store.evaluation.cases import EvaluationCase

RANKED_DEPTH = 10
NDCG_DEPTH = 5


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    case: EvaluationCase
    found: tuple[str, ...]  # result ids, best first
    relevant: frozenset[str]
    first_text: str | None = None

    @property
    def rank(self) -> int | None:
        return next((position for position, hit in enumerate(self.found, start=1) if hit in self.relevant), None)

    @property
    def ndcg_at_5(self) -> float:
        gains = sum(
            1.0 / math.log2(position + 1) for position, hit in enumerate(self.found[:NDCG_DEPTH], start=1) if hit in self.relevant
        )
        ideal = sum(1.0 / math.log2(position + 1) for position in range(1, min(len(self.relevant), NDCG_DEPTH) + 1))
        return gains / ideal if ideal else 0.0

    @property
    def is_miss(self) -> bool:
        return bool(self.found) if self.case.is_unrelated else self.rank != 1


def _rounded(value: float) -> float:
    return round(value, 4)


def _positive_scores(outcomes: Sequence[CaseOutcome]) -> dict[str, float]:
    if not outcomes:
        return {"hit_at_1": 0.0, "hit_at_3": 0.0, "mrr": 0.0, "ndcg_at_5": 0.0}
    ranks = [outcome.rank for outcome in outcomes]
    count = len(outcomes)
    return {
        "hit_at_1": _rounded(sum(rank == 1 for rank in ranks) / count),
        "hit_at_3": _rounded(sum(rank is not None and rank <= 3 for rank in ranks) / count),
        "mrr": _rounded(sum(1.0 / rank for rank in ranks if rank) / count),
        "ndcg_at_5": _rounded(sum(outcome.ndcg_at_5 for outcome in outcomes) / count),
    }


@dataclass(slots=True)
class EvaluationReport:
    cases: int = 0
    hit_at_1: float = 0.0
    hit_at_3: float = 0.0
    mrr: float = 0.0
    ndcg_at_5: float = 0.0
    empty_for_unrelated: float = 1.0
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_outcomes(cls, outcomes: Iterable[CaseOutcome]) -> EvaluationReport:
        outcomes = list(outcomes)
        positives = [outcome for outcome in outcomes if not outcome.case.is_unrelated]
        negatives = [outcome for outcome in outcomes if outcome.case.is_unrelated]
        scores = _positive_scores(positives)
        report = cls(len(outcomes), scores["hit_at_1"], scores["hit_at_3"], scores["mrr"], scores["ndcg_at_5"])
        report.empty_for_unrelated = (
            _rounded(sum(not outcome.found for outcome in negatives) / len(negatives)) if negatives else 1.0
        )
        kinds: dict[str, list[CaseOutcome]] = {}
        for outcome in outcomes:
            kinds.setdefault(outcome.case.kind, []).append(outcome)
        for kind, members in kinds.items():
            if kind == "unrelated":
                report.by_kind[kind] = {
                    "cases": len(members),
                    "empty_for_unrelated": _rounded(sum(not outcome.found for outcome in members) / len(members)),
                }
            else:
                report.by_kind[kind] = {"cases": len(members), **_positive_scores(members)}
        report.misses = [_miss(outcome) for outcome in outcomes if outcome.is_miss]
        return report

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "hit_at_1": self.hit_at_1,
            "hit_at_3": self.hit_at_3,
            "mrr": self.mrr,
            "ndcg_at_5": self.ndcg_at_5,
            "empty_for_unrelated": self.empty_for_unrelated,
            "by_kind": self.by_kind,
            "misses": self.misses,
        }


def _miss(outcome: CaseOutcome) -> dict[str, Any]:
    case = outcome.case
    entry: dict[str, Any] = {"query": case.query, "kind": case.kind, "split": case.split, "expected": case.expected}
    entry["rank"] = outcome.rank
    entry["returned"] = len(outcome.found)
    if outcome.first_text is not None:
        entry["first"] = outcome.first_text[:160]
    return entry
