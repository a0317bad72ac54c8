"""SQL reads and writes for insights, briefs, sources and relations.

Every write goes through ``write_batch`` in one transaction, so a file either lands whole or not at
all; inserts ignore rows that already exist, which makes ingest idempotent and safe when two
processes write at once.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store import sql_dialect
from store.model import BriefSource, Position, SourceRef
from store.schema import briefs, insight_sources, insights, relations, saved_items

# SQLite allows 32766 bound parameters; PostgreSQL 65535. Chunks of this size stay far below both.
IN_CHUNK = 900


@dataclass(frozen=True, slots=True)
class Relation:
    other_id: str
    kind: str
    score: float | None


@dataclass(slots=True)
class PendingBrief:
    """One brief ready to write: its insights already have ids."""

    source: BriefSource
    main_id: str
    related_ids: tuple[str, ...]
    main_position: Position = "main"

    @property
    def brief_id(self) -> str:
        key = "\n".join([self.main_id, *sorted(self.related_ids), self.source.subject or "", self.source.date or ""])
        return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(slots=True)
class WriteBatch:
    texts: dict[str, str] = field(default_factory=dict)
    briefs: list[PendingBrief] = field(default_factory=list)
    same_idea: list[tuple[str, str, float]] = field(default_factory=list)


@dataclass(slots=True)
class WriteOutcome:
    added: int = 0
    merged: int = 0
    unchanged: int = 0
    new_ids: list[str] = field(default_factory=list)


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class InsightRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = sql_dialect.name_of(engine)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    def _insert_ignoring_existing(self, table: Table) -> Any:
        return sql_dialect.insert_ignoring_existing(self._engine, table)

    async def existing_ids(self, ids: Iterable[str]) -> set[str]:
        async with self._engine.connect() as connection:
            return await self._present_ids(connection, list(ids))

    async def write_batch(self, batch: WriteBatch) -> WriteOutcome:
        now = datetime.now(UTC)
        outcome = WriteOutcome()
        async with self._engine.begin() as connection:
            occurrence_ids = [brief.main_id for brief in batch.briefs] + [
                rid for brief in batch.briefs for rid in brief.related_ids
            ]
            present = await self._present_ids(connection, occurrence_ids)
            known_sources = await self._known_sources(connection, occurrence_ids)
            known_relations = await self._known_relations(connection, occurrence_ids)

            new_ids = [insight_id for insight_id in dict.fromkeys(occurrence_ids) if insight_id not in present]
            if new_ids:
                await connection.execute(
                    self._insert_ignoring_existing(insights),
                    [{"id": insight_id, "text": batch.texts[insight_id], "first_seen": now} for insight_id in new_ids],
                )
                await self._index_text(connection, [(insight_id, batch.texts[insight_id]) for insight_id in new_ids])
            outcome.new_ids = new_ids

            brief_rows: dict[str, dict[str, Any]] = {}
            source_rows: dict[tuple[str, str, str], dict[str, Any]] = {}
            relation_rows: dict[tuple[str, str, str], dict[str, Any]] = {}
            seen_this_batch: set[str] = set()
            for brief in batch.briefs:
                brief_rows.setdefault(
                    brief.brief_id,
                    {
                        "id": brief.brief_id,
                        "kind": brief.source.kind,
                        "origin": brief.source.origin,
                        "subject": brief.source.subject,
                        "date": brief.source.date,
                        "first_seen": now,
                    },
                )
                occurrences = [(brief.main_id, brief.main_position)] + [(rid, "related") for rid in brief.related_ids]
                for insight_id, position in occurrences:
                    changed = False
                    source_key = (insight_id, brief.brief_id, position)
                    if source_key not in known_sources and source_key not in source_rows:
                        source_rows[source_key] = {
                            "insight_id": insight_id,
                            "brief_id": brief.brief_id,
                            "position": position,
                            "added_at": now,
                        }
                        changed = True
                    partners = brief.related_ids if insight_id == brief.main_id and position == "main" else (brief.main_id,)
                    for partner in partners:
                        if partner == insight_id:
                            continue
                        low, high = _pair(insight_id, partner)
                        relation_key = (low, high, "brief")
                        if relation_key not in known_relations and relation_key not in relation_rows:
                            relation_rows[relation_key] = {"low_id": low, "high_id": high, "kind": "brief", "score": None}
                            changed = True
                    if insight_id not in present and insight_id not in seen_this_batch:
                        outcome.added += 1
                    elif changed:
                        outcome.merged += 1
                    else:
                        outcome.unchanged += 1
                    seen_this_batch.add(insight_id)

            for a, b, score in batch.same_idea:
                if a == b:
                    continue
                low, high = _pair(a, b)
                relation_rows.setdefault(
                    (low, high, "same-idea"), {"low_id": low, "high_id": high, "kind": "same-idea", "score": score}
                )

            if brief_rows:
                await connection.execute(self._insert_ignoring_existing(briefs), list(brief_rows.values()))
            if source_rows:
                await connection.execute(self._insert_ignoring_existing(insight_sources), list(source_rows.values()))
            if relation_rows:
                await connection.execute(self._insert_ignoring_existing(relations), list(relation_rows.values()))
        return outcome

    async def _present_ids(self, connection: AsyncConnection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(sorted(set(ids))):
            rows = await connection.execute(select(insights.c.id).where(insights.c.id.in_(chunk)))
            found.update(row[0] for row in rows)
        return found

    async def _known_sources(self, connection: AsyncConnection, ids: Sequence[str]) -> set[tuple[str, str, str]]:
        found: set[tuple[str, str, str]] = set()
        for chunk in _chunks(sorted(set(ids))):
            rows = await connection.execute(
                select(insight_sources.c.insight_id, insight_sources.c.brief_id, insight_sources.c.position).where(
                    insight_sources.c.insight_id.in_(chunk)
                )
            )
            found.update((row[0], row[1], row[2]) for row in rows)
        return found

    async def _known_relations(self, connection: AsyncConnection, ids: Sequence[str]) -> set[tuple[str, str, str]]:
        found: set[tuple[str, str, str]] = set()
        for chunk in _chunks(sorted(set(ids))):
            rows = await connection.execute(
                select(relations.c.low_id, relations.c.high_id, relations.c.kind).where(
                    or_(relations.c.low_id.in_(chunk), relations.c.high_id.in_(chunk))
                )
            )
            found.update((row[0], row[1], row[2]) for row in rows)
        return found

    async def _index_text(self, connection: AsyncConnection, rows: Sequence[tuple[str, str]]) -> None:
        # PostgreSQL keeps its tsvector as a generated column; only SQLite needs FTS rows written.
        if self._dialect == "sqlite" and rows:
            await connection.execute(
                text("INSERT INTO insights_fts (insight_id, body) VALUES (:insight_id, :body)"),
                [{"insight_id": insight_id, "body": body} for insight_id, body in rows],
            )

    async def texts(self, ids: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(ids))
        found: dict[str, str] = {}
        async with self._engine.connect() as connection:
            for chunk in _chunks(wanted):
                rows = await connection.execute(select(insights.c.id, insights.c.text).where(insights.c.id.in_(chunk)))
                found.update((row[0], row[1]) for row in rows)
        return found

    async def sources_and_relations(self, ids: Iterable[str]) -> tuple[dict[str, list[SourceRef]], dict[str, list[Relation]]]:
        """Both reads on one connection, for search results: one pool checkout instead of two."""
        wanted = sorted(set(ids))
        async with self._engine.connect() as connection:
            return await self._sources_on(connection, wanted), await self._relations_on(connection, wanted)

    async def _sources_on(self, connection: AsyncConnection, wanted: list[str]) -> dict[str, list[SourceRef]]:
        found: dict[str, list[SourceRef]] = defaultdict(list)
        for chunk in _chunks(wanted):
            rows = await connection.execute(
                select(
                    insight_sources.c.insight_id,
                    insight_sources.c.position,
                    briefs.c.kind,
                    briefs.c.origin,
                    briefs.c.subject,
                    briefs.c.date,
                )
                .join(briefs, briefs.c.id == insight_sources.c.brief_id)
                .where(insight_sources.c.insight_id.in_(chunk))
                .order_by(insight_sources.c.added_at, briefs.c.origin)
            )
            for row in rows:
                found[row.insight_id].append(SourceRef(row.kind, row.origin, row.subject, row.date, row.position))
        return dict(found)

    async def relations(self, ids: Iterable[str]) -> dict[str, list[Relation]]:
        """Explicit relations read in both directions: brief links first, then same-idea links."""
        async with self._engine.connect() as connection:
            return await self._relations_on(connection, sorted(set(ids)))

    async def _relations_on(self, connection: AsyncConnection, wanted: list[str]) -> dict[str, list[Relation]]:
        found: dict[str, list[Relation]] = defaultdict(list)
        for chunk in _chunks(wanted):
            rows = await connection.execute(
                select(relations.c.low_id, relations.c.high_id, relations.c.kind, relations.c.score).where(
                    or_(relations.c.low_id.in_(chunk), relations.c.high_id.in_(chunk))
                )
            )
            chunk_set = set(chunk)
            for low, high, kind, score in rows:
                if low in chunk_set:
                    found[low].append(Relation(high, kind, score))
                if high in chunk_set:
                    found[high].append(Relation(low, kind, score))
        order = {"brief": 0, "same-idea": 1}
        for related in found.values():
            related.sort(key=lambda relation: (order.get(relation.kind, 2), -(relation.score or 0.0), relation.other_id))
        return dict(found)

    async def all_ids(self) -> set[str]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(select(insights.c.id))
            return {row[0] for row in rows}

    async def count(self) -> int:
        async with self._engine.connect() as connection:
            return int((await connection.execute(select(func.count()).select_from(insights))).scalar_one())

    async def autocomplete(self, fragment: str, limit: int = 25) -> list[tuple[str, str]]:
        """Insights whose text contains the typed fragment, newest first, for Discord autocomplete."""
        query = select(insights.c.id, insights.c.text).order_by(insights.c.first_seen.desc(), insights.c.id).limit(limit)
        fragment = fragment.strip().lower()
        if fragment:
            pattern = "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                or_(func.lower(insights.c.text).like(pattern, escape="\\"), insights.c.id.like(pattern, escape="\\"))
            )
        async with self._engine.connect() as connection:
            return [(row[0], row[1]) for row in await connection.execute(query)]

    async def stats(self) -> dict[str, int]:
        async with self._engine.connect() as connection:

            async def scalar(statement: Any) -> int:
                return int((await connection.execute(statement)).scalar_one())

            return {
                "insights": await scalar(select(func.count()).select_from(insights)),
                "briefs": await scalar(
                    select(func.count()).select_from(briefs).where(briefs.c.kind.in_(["brief", "email", "jsonl"]))
                ),
                "sources": await scalar(select(func.count()).select_from(briefs)),
                "brief_links": await scalar(select(func.count()).select_from(relations).where(relations.c.kind == "brief")),
                "same_idea_links": await scalar(
                    select(func.count()).select_from(relations).where(relations.c.kind == "same-idea")
                ),
                "saved_items": await scalar(select(func.count()).select_from(saved_items)),
                "saving_users": await scalar(select(func.count(func.distinct(saved_items.c.user_id)))),
            }

    async def iter_texts(self, batch_size: int = 512) -> Any:
        """All insights in id order, a page at a time, for rebuilding the vector index."""
        last = ""
        while True:
            async with self._engine.connect() as connection:
                rows = (
                    await connection.execute(
                        select(insights.c.id, insights.c.text)
                        .where(insights.c.id > last)
                        .order_by(insights.c.id)
                        .limit(batch_size)
                    )
                ).all()
            if not rows:
                return
            yield [(row[0], row[1]) for row in rows]
            last = rows[-1][0]

    async def rebuild_lexical_index(self) -> None:
        if self._dialect != "sqlite":
            return
        async with self._engine.begin() as connection:
            await connection.execute(text("DELETE FROM insights_fts"))
            await connection.execute(text("INSERT INTO insights_fts (insight_id, body) SELECT id, text FROM insights"))

    async def lexical_search(self, terms: Sequence[str], limit: int) -> list[str]:
        """Ids of insights that contain any of the terms, best BM25 (or ts_rank) first."""
        if not terms:
            return []
        async with self._engine.connect() as connection:
            if self._dialect == "sqlite":
                expression = " OR ".join(f'"{term}"' for term in terms)
                rows = await connection.execute(
                    text(
                        "SELECT insight_id FROM insights_fts WHERE insights_fts MATCH :expression ORDER BY bm25(insights_fts) LIMIT :limit"
                    ),
                    {"expression": expression, "limit": limit},
                )
            else:
                expression = " OR ".join(terms)
                rows = await connection.execute(
                    text(
                        "SELECT id FROM insights, websearch_to_tsquery('english', :expression) AS query "
                        "WHERE search_vector @@ query ORDER BY ts_rank_cd(search_vector, query) DESC, id LIMIT :limit"
                    ),
                    {"expression": expression, "limit": limit},
                )
            return [row[0] for row in rows]

    async def term_counts(self, terms: Sequence[str], up_to: int) -> dict[str, int] | None:
        """How many insights contain each term, each count stopping at ``up_to``, in one query on
        SQLite's FTS5 index. None on other databases: their callers use ``rare_terms``."""
        if self._dialect != "sqlite":
            return None
        if not terms:
            return {}
        counts = ", ".join(
            f"(SELECT count(*) FROM (SELECT 1 FROM insights_fts WHERE insights_fts MATCH :term{number} LIMIT :up_to))"
            for number in range(len(terms))
        )
        parameters: dict[str, Any] = {f"term{number}": f'"{term}"' for number, term in enumerate(terms)}
        parameters["up_to"] = up_to
        async with self._engine.connect() as connection:
            row = (await connection.execute(text(f"SELECT {counts}"), parameters)).one()
        return {term: int(found) for term, found in zip(terms, row, strict=True)}

    async def rare_terms(self, terms: Sequence[str], cap: int) -> set[str]:
        """Terms found in at least one and at most ``cap`` insights: names and rare words, which
        should find their insight first even when the dense ranking misses it."""
        rare: set[str] = set()
        async with self._engine.connect() as connection:
            for term in terms:
                if self._dialect == "sqlite":
                    statement = text(
                        "SELECT count(*) FROM (SELECT 1 FROM insights_fts WHERE insights_fts MATCH :expression LIMIT :cap)"
                    )
                    parameters = {"expression": f'"{term}"', "cap": cap + 1}
                else:
                    statement = text(
                        "SELECT count(*) FROM (SELECT 1 FROM insights WHERE search_vector @@ plainto_tsquery('english', :expression) LIMIT :cap) AS hits"
                    )
                    parameters = {"expression": term, "cap": cap + 1}
                found = int((await connection.execute(statement, parameters)).scalar_one())
                if 1 <= found <= cap:
                    rare.add(term)
        return rare


__all__ = ["InsightRepository", "PendingBrief", "Relation", "WriteBatch", "WriteOutcome"]
