"""Turning parsed briefs into stored insights: ids first, so that nothing already stored is encoded
again; then one encode for what is new, "same idea" links from the vector index, one SQL
transaction, and finally the vectors into Chroma.

SQL commits before Chroma is written, so a failure in between leaves insights present in SQL and
missing from Chroma, never the reverse: a failed write is retried, and what is still missing is
found by the store's reconcile (at start-up and periodically while running) and indexed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from store.embedding import Embedder
from store.errors import StoreUnavailable
from store.model import IngestReport, ParsedBrief
from store.repository import InsightRepository, PendingBrief, WriteBatch
from store.text import clean_text, insight_id
from store.vector_index import VectorIndex

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]

# Briefs per transaction: large JSON Lines files go in as a series of complete batches.
BRIEFS_PER_BATCH = 256
# Not a limit: a longer insight is kept whole, with a warning that the model reads only its start.
LONG_INSIGHT_WARNING_CHARS = 4000
SAME_IDEA_NEIGHBOURS = 3
# Pauses before writing committed insights to Chroma again: short, since a person may be waiting.
INDEX_RETRY_PAUSES = (0.2, 1.0)


@dataclass(slots=True)
class _Prepared:
    batch: WriteBatch
    new_ids: list[str]


class Ingestor:
    def __init__(self, repository: InsightRepository, index: VectorIndex, embedder: Embedder, same_idea_threshold: float) -> None:
        self._repository = repository
        self._index = index
        self._embedder = embedder
        self._threshold = same_idea_threshold
        # One ingest at a time per process keeps "same idea" detection consistent within a batch.
        self._lock = asyncio.Lock()
        # Stored in SQL, but their Chroma write failed even after retries.
        self.unindexed: set[str] = set()

    async def ingest_briefs(
        self, parsed: Sequence[ParsedBrief], report: IngestReport, progress: ProgressCallback | None = None
    ) -> None:
        async with self._lock:
            for start in range(0, len(parsed), BRIEFS_PER_BATCH):
                chunk = parsed[start : start + BRIEFS_PER_BATCH]
                await self._ingest_chunk(chunk, report)
                if progress is not None:
                    progress(sum(1 + len(brief.related) for brief in chunk))

    async def _ingest_chunk(self, parsed: Sequence[ParsedBrief], report: IngestReport) -> None:
        batch = WriteBatch()
        for brief in parsed:
            main_text = _usable(brief.main)
            if main_text is None:
                continue
            main_id = insight_id(main_text)
            batch.texts.setdefault(main_id, main_text)
            related_ids: list[str] = []
            for related in brief.related:
                related_text = _usable(related)
                if related_text is None:
                    continue
                related_id = insight_id(related_text)
                batch.texts.setdefault(related_id, related_text)
                if related_id != main_id and related_id not in related_ids:
                    related_ids.append(related_id)
            position = "note" if brief.source.kind == "note" else "main"
            batch.briefs.append(PendingBrief(brief.source, main_id, tuple(related_ids), position))  # type: ignore[arg-type]
        if not batch.briefs:
            return

        existing = await self._repository.existing_ids(batch.texts)
        new_ids = [candidate for candidate in batch.texts if candidate not in existing]
        report.already_there.extend(candidate for candidate in batch.texts if candidate in existing)
        vectors = await asyncio.to_thread(self._embedder.encode, [batch.texts[new_id] for new_id in new_ids]) if new_ids else None
        if vectors is not None:
            batch.same_idea = await self._same_idea_links(new_ids, vectors)

        outcome = await self._repository.write_batch(batch)
        report.added += outcome.added
        report.merged += outcome.merged
        report.unchanged += outcome.unchanged
        if vectors is not None and outcome.new_ids:
            row_of = {new_id: row for row, new_id in enumerate(new_ids)}
            written = [new_id for new_id in outcome.new_ids if new_id in row_of]
            await self._index_committed(written, vectors[[row_of[new_id] for new_id in written]])

    async def _index_committed(self, ids: list[str], vectors: np.ndarray) -> None:
        """SQL has committed these insights: a failed Chroma write must not fail the ingest (it
        would report stored insights as not stored), nor leave them out of meaning search (a
        later ingest of the same text skips them). It is tried again after a pause; what still
        fails waits in ``unindexed`` for the store's periodic repair."""
        for pause in (*INDEX_RETRY_PAUSES, None):
            try:
                await asyncio.to_thread(self._index.upsert, ids, vectors)
                return
            except StoreUnavailable:
                if pause is None:
                    break
                await asyncio.sleep(pause)
        self.unindexed.update(ids)
        log.warning("%d stored insights could not be indexed in Chroma; they are indexed again at the next repair", len(ids))

    async def _same_idea_links(self, new_ids: list[str], vectors: np.ndarray) -> list[tuple[str, str, float]]:
        """Pairs above the threshold between new insights and stored ones, and among the new ones."""
        links: list[tuple[str, str, float]] = []
        neighbours = await asyncio.to_thread(self._index.query, vectors, SAME_IDEA_NEIGHBOURS)
        for new_id, found in zip(new_ids, neighbours, strict=True):
            for other_id, similarity in found:
                if other_id != new_id and similarity >= self._threshold:
                    links.append((new_id, other_id, similarity))
        if len(new_ids) > 1:
            similarities = vectors @ vectors.T
            rows, columns = np.nonzero(np.triu(similarities >= self._threshold, k=1))
            for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
                links.append((new_ids[row], new_ids[column], float(similarities[row, column])))
        return links


def occurrence_count(parsed: Sequence[ParsedBrief]) -> int:
    """How many insight occurrences these briefs write (what a report counts), without writing."""
    count = 0
    for brief in parsed:
        main_text = _usable(brief.main)
        if main_text is None:
            continue
        main_id = insight_id(main_text)
        related = {insight_id(text) for text in map(_usable, brief.related) if text is not None}
        count += 1 + len(related - {main_id})
    return count


def _usable(raw: str) -> str | None:
    text = clean_text(raw)
    if not text:
        return None
    if len(text) > LONG_INSIGHT_WARNING_CHARS:
        # An insight is one to three sentences; anything far longer is a paste error, but dropping it
        # would lose data, so it is kept whole and only the embedding model truncates what it reads.
        log.warning("insight of %d characters kept; embeddings read only its beginning", len(text))
    return text
