"""The project's evaluation: queries over the sample briefs with the insight each should find,
scored on a fresh store that can also hold thousands of look-alike distractors, so that ranking
changes are judged by what a user would get from a store grown over years of briefs.

``corpus`` says which briefs are ingested, ``cases`` holds the queries and their dev/test split,
``metrics`` scores outcomes, ``harness`` builds the store and asks the queries.
"""

from __future__ import annotations

from store.evaluation.cases import KINDS, EvaluationCase, load_cases
from store.evaluation.harness import evaluate, evaluation_store, rank_cases, run_evaluation
from store.evaluation.metrics import EvaluationReport

__all__ = [
    "KINDS",
    "EvaluationCase",
    "EvaluationReport",
    "evaluate",
    "evaluation_store",
    "load_cases",
    "rank_cases",
    "run_evaluation",
]
