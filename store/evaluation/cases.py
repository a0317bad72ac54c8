"""The evaluation queries: what a user types, the insight it should find, its kind and its split.

Queries live in ``queries.jsonl``, one object a line: ``query``; ``expected``, a prefix of the
insight's text that matches exactly one insight of the corpus (null for a query about nothing in
the store, which must return nothing); optional ``also``, further keys that are equally right
(the corpus holds the same idea twice in two cases); ``kind``; and ``split``.

The split is written into the file and is also a pure function of the queries (within each kind,
ordered by a hash of the query text, alternately dev and test), so it is deterministic, stratified
by kind, and a test can check that the file still agrees with it. Tune on dev, report on test.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from store.evaluation.corpus import resolve
from store.text import insight_id

Split = Literal["dev", "test"]
SPLITS: tuple[Split, ...] = ("dev", "test")
KINDS = ("sentence", "whole", "name", "number", "contrast", "two_topics", "unrelated")
QUERIES_FILE = "queries.jsonl"


@dataclass(frozen=True, slots=True)
class EvaluationCase:
    query: str
    expected: str | None
    kind: str
    split: Split = "dev"
    also: tuple[str, ...] = ()

    @property
    def is_unrelated(self) -> bool:
        return self.expected is None

    def relevant_ids(self) -> frozenset[str]:
        """Ids of the insights that count as a hit; empty for an unrelated query."""
        keys = () if self.expected is None else (self.expected, *self.also)
        return frozenset(insight_id(resolve(key)) for key in keys)

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"query": self.query, "expected": self.expected}
        if self.also:
            entry["also"] = list(self.also)
        entry.update(kind=self.kind, split=self.split)
        return entry


def _order_key(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


def assign_splits(cases: Iterable[EvaluationCase]) -> dict[str, Split]:
    """Query text -> split: within each kind, in hash order, dev and test by turns."""
    by_kind: dict[str, list[str]] = {}
    for case in cases:
        by_kind.setdefault(case.kind, []).append(case.query)
    splits: dict[str, Split] = {}
    for queries in by_kind.values():
        for position, query in enumerate(sorted(queries, key=_order_key)):
            splits[query] = SPLITS[position % 2]
    return splits


def parse_cases(text: str) -> list[EvaluationCase]:
    cases = []
    for line in text.splitlines():
        if line.strip():
            raw = json.loads(line)
            cases.append(
                EvaluationCase(
                    raw["query"],
                    raw.get("expected"),
                    raw["kind"],
                    raw.get("split", "dev"),
                    tuple(raw.get("also", ())),
                )
            )
    return cases


def load_cases(split: str = "all") -> list[EvaluationCase]:
    """The queries of one split (``dev``, ``test``) or ``all``."""
    if split not in (*SPLITS, "all"):
        raise ValueError(f"unknown split {split!r}: use dev, test or all")
    cases = parse_cases((resources.files("store.evaluation") / QUERIES_FILE).read_text(encoding="utf-8"))
    return [case for case in cases if split == "all" or case.split == split]


def dump_cases(cases: Iterable[EvaluationCase]) -> str:
    return "".join(json.dumps(case.as_dict(), ensure_ascii=False) + "\n" for case in cases)
