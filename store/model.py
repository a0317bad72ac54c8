"""Plain data passed between parsing, ingest, search and the fronts; no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

SourceKind = Literal["brief", "email", "jsonl", "note", "manual"]
Position = Literal["main", "related", "note"]
RelationReason = Literal["brief", "same-idea", "similar"]


@dataclass(frozen=True, slots=True)
class BriefSource:
    """Where one group of insights came from, kept so a user can trace an insight to its brief."""

    kind: SourceKind
    origin: str
    subject: str | None = None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedBrief:
    """One main insight with the insights listed under it; a note is a brief with no related ones."""

    source: BriefSource
    main: str
    related: tuple[str, ...] = ()


@dataclass(slots=True)
class ParsedFile:
    """What one file yielded; ``problems`` are parts skipped (a bad JSON line) while the rest goes in."""

    path: Path
    briefs: list[ParsedBrief] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SourceRef:
    kind: SourceKind
    origin: str
    subject: str | None
    date: str | None
    position: Position

    def as_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "origin": self.origin, "subject": self.subject, "date": self.date, "position": self.position}


@dataclass(frozen=True, slots=True)
class RelatedInsight:
    id: str
    text: str
    reason: RelationReason
    score: float | None

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "text": self.text, "reason": self.reason, "score": _round(self.score)}


@dataclass(frozen=True, slots=True)
class SearchHit:
    id: str
    text: str
    score: float
    sources: tuple[SourceRef, ...]
    related: tuple[RelatedInsight, ...]
    matched_terms: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "text": self.text,
            "score": _round(self.score),
            "sources": [source.as_dict() for source in self.sources],
            "related": [related.as_dict() for related in self.related],
            "matched_terms": list(self.matched_terms),
        }


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    hits: tuple[SearchHit, ...]

    @property
    def is_empty(self) -> bool:
        return not self.hits

    def as_dict(self) -> dict[str, object]:
        return {"query": self.query, "results": [hit.as_dict() for hit in self.hits]}


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    merged: int = 0
    unchanged: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    # Ids of the given insights that the store held before this ingest: "merged" and "unchanged"
    # count occurrences, which cannot tell a person that what they added was already there.
    already_there: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "merged": self.merged,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "problems": self.problems,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)
