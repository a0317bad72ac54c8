"""The one object both fronts hold: the store's resources, created once at start-up and handed in.

``InsightStore.open`` builds the database engine, the Chroma client and the query encoder around an
embedder the caller passes (so a bot can load the model while its gateway connects, and tests can
pass a fake), takes the data-directory lock in embedded mode, and reconciles SQL with Chroma.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout
from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import Settings
from store.database import create_engine, initialise
from store.digest.service import DigestService
from store.embedding import Embedder, QueryEncoder
from store.errors import DataDirectoryLocked, InvalidInput, StoreUnavailable
from store.ingest import BRIEFS_PER_BATCH, Ingestor, occurrence_count
from store.ingest_log import IngestedFile, IngestLog, file_digest
from store.model import BriefSource, IngestReport, ParsedBrief, SearchHit, SearchResult
from store.outages import is_outage, translate_outages
from store.repository import InsightRepository, WriteBatch
from store.saved import SavedLists
from store.search import Searcher, SearchTuning
from store.text import clean_text
from store.vector_index import VectorIndex, open_chroma_client

log = logging.getLogger(__name__)

LOCK_NAME = "insight-recall.lock"


REINDEX_BATCH = 512
# How often a long ingest tries again the Chroma writes that failed during it.
REPAIR_PAUSE_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    indexed: int
    removed: int


class InsightStore:
    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        index: VectorIndex,
        embedder: Embedder,
        lock: FileLock | None,
        chroma_client: Any,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.index = index
        self.embedder = embedder
        self.repository = InsightRepository(engine)
        self.encoder = QueryEncoder(embedder)
        self.saved = SavedLists(engine)
        self.searcher = Searcher(
            self.repository,
            index,
            self.encoder,
            SearchTuning(min_score=settings.min_score, related_count=settings.related_count),
            vocabulary=getattr(embedder, "vocabulary", None) or None,
        )
        self.ingestor = Ingestor(self.repository, index, embedder, settings.same_idea_threshold)
        self.ingest_log = IngestLog(engine)
        self.digests = DigestService(engine, self.repository, index, settings.same_idea_threshold)
        self._lock = lock
        self._chroma_client = chroma_client
        self._last_repair = time.monotonic()

    @classmethod
    async def open(
        cls, settings: Settings, embedder: Embedder, *, reconcile: bool = True, chroma_client: Any | None = None
    ) -> InsightStore:
        """``chroma_client`` lets tests hand in an in-memory Chroma; normally it comes from settings."""
        lock = _lock_data_dir(settings) if settings.uses_embedded_chroma and chroma_client is None else None
        engine = create_engine(settings.resolved_database_url)
        try:
            await initialise(engine)
            client = chroma_client or await asyncio.to_thread(open_chroma_client, settings.chroma_url, settings.chroma_dir)
            index = await asyncio.to_thread(VectorIndex, client, settings.chroma_collection, embedder.name, embedder.dimension)
        except BaseException as error:
            await engine.dispose()
            _release(lock)
            if isinstance(error, Exception) and is_outage(error):
                raise StoreUnavailable(f"cannot open the insight store: {_without_secrets(str(error), settings)}") from None
            raise
        store = cls(settings, engine, index, embedder, lock, client if chroma_client is None else None)
        if reconcile:
            if index.needs_rebuild:
                await store.reindex()
            else:
                await store.reconcile()
        return store

    async def close(self) -> None:
        await self.engine.dispose()
        if self._chroma_client is not None and hasattr(self._chroma_client, "close"):
            # Chroma caches one system per path in the process; closing drops it, so a later open
            # of the same directory reads the disk again instead of a stale in-memory copy.
            await asyncio.to_thread(self._chroma_client.close)
            self._chroma_client = None
        _release(self._lock)
        self._lock = None

    async def __aenter__(self) -> InsightStore:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- ingest -------------------------------------------------------------------------------

    @translate_outages
    async def ingest_paths(self, paths: Iterable[Path], progress: Callable[[int, int], None] | None = None) -> IngestReport:
        """Every file is parsed before anything of it is written, so a file that fails leaves
        nothing behind; the others still go in."""
        # Imported here: the parsers (BeautifulSoup among them) cost a tenth of a second that
        # commands which only read never need.
        from store.parsing import ParseError, iter_input_files, parse_file

        report = IngestReport()
        entries = list(iter_input_files(paths))
        candidates = [entry for entry in entries if not isinstance(entry, tuple)]
        digests = await asyncio.to_thread(lambda: {path: file_digest(path) for path in candidates})
        known = await self.ingest_log.lookup([str(path) for path in candidates])
        parsed_files: list[tuple[Path, list[ParsedBrief]]] = []
        ingested: dict[Path, IngestedFile] = {}
        for entry in entries:
            if isinstance(entry, tuple):
                path, reason = entry
                report.failed.append({"path": str(path), "error": reason})
                continue
            digest, previous = digests[entry], known.get(str(entry))
            if digest is not None and previous is not None and previous.sha256 == digest:
                # The same bytes under the same name: everything in it is stored already.
                report.unchanged += previous.occurrences
                report.problems.extend({"path": str(entry), "problem": problem} for problem in previous.problems)
                continue
            try:
                parsed = await asyncio.to_thread(parse_file, entry)
            except ParseError as error:
                report.failed.append({"path": str(entry), "error": str(error)})
                continue
            report.problems.extend({"path": str(entry), "problem": problem} for problem in parsed.problems)
            parsed_files.append((entry, parsed.briefs))
            if digest is not None:
                ingested[entry] = IngestedFile(str(entry), digest, occurrence_count(parsed.briefs), tuple(parsed.problems))

        total = sum(1 + len(brief.related) for _, briefs in parsed_files for brief in briefs)
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(done, total)

        for group in _file_groups(parsed_files, BRIEFS_PER_BATCH):
            try:
                await self.ingestor.ingest_briefs([brief for _, briefs in group for brief in briefs], report, advance)
            except StoreUnavailable as error:
                report.failed.extend({"path": str(path), "error": str(error)} for path, _ in group)
                continue
            # Recorded only once the group is in SQL and Chroma, so a failed write is tried again in full.
            await self.ingest_log.record(ingested[path] for path, _ in group if path in ingested)
            if self.ingestor.unindexed and time.monotonic() - self._last_repair >= REPAIR_PAUSE_SECONDS:
                # A long run repairs as it goes instead of leaving its own gaps for later.
                self._last_repair = time.monotonic()
                await self._index_unindexed()
        await self._index_unindexed()
        self.searcher.forget_counts()
        return report

    @translate_outages
    async def ingest_bytes(self, data: bytes, filename: str) -> IngestReport:
        """An uploaded file (from Discord): parsed in memory, written like a file from disk."""
        from store.parsing import ParseError, parse_bytes

        report = IngestReport()
        try:
            parsed = await asyncio.to_thread(parse_bytes, data, filename)
        except ParseError as error:
            report.failed.append({"path": filename, "error": str(error)})
            return report
        report.problems.extend({"path": filename, "problem": problem} for problem in parsed.problems)
        await self.ingestor.ingest_briefs(parsed.briefs, report)
        await self._index_unindexed()
        self.searcher.forget_counts()
        return report

    @translate_outages
    async def add_insight(self, text: str, related: Iterable[str] = (), origin: str = "manual") -> IngestReport:
        main = clean_text(text)
        if not main:
            raise InvalidInput("the insight is empty: write one to three sentences")
        related_texts = tuple(cleaned for cleaned in (clean_text(item) for item in related) if cleaned)
        report = IngestReport()
        await self.ingestor.ingest_briefs([ParsedBrief(BriefSource("manual", origin), main, related_texts)], report)
        await self._index_unindexed()
        self.searcher.forget_counts()
        return report

    # -- reading ------------------------------------------------------------------------------

    @translate_outages
    async def search(self, query: str, limit: int | None = None) -> SearchResult:
        return await self.searcher.search(query, limit or self.settings.result_count)

    @translate_outages
    async def related(self, insight_id: str) -> SearchHit:
        return await self.searcher.related(insight_id)

    @translate_outages
    async def autocomplete(self, fragment: str, limit: int = 25) -> list[tuple[str, str]]:
        """(id, text) of insights whose text contains the typed fragment, newest first."""
        return await self.repository.autocomplete(fragment, limit=limit)

    @translate_outages
    async def stats(self) -> dict[str, Any]:
        counts: dict[str, Any] = await self.repository.stats()
        counts["indexed"] = await asyncio.to_thread(self.index.count)
        counts["model"] = self.embedder.name
        counts["chroma"] = self.settings.chroma_url or str(self.settings.chroma_dir)
        return counts

    # -- keeping Chroma in step with SQL ------------------------------------------------------

    @translate_outages
    async def reconcile(self) -> ReconcileReport:
        """The start-up check: counts first, so the usual start, where nothing went wrong, costs two
        count queries instead of reading every id (0.8 s at 50,000 insights). A crash between the
        SQL commit and the Chroma write leaves the counts apart, and then the ids are compared."""
        sql_count = await self.repository.count()
        chroma_count = await asyncio.to_thread(self.index.count)
        if sql_count == chroma_count:
            return ReconcileReport(0, 0)
        return await self._reconcile_ids()

    @translate_outages
    async def repair_index(self) -> ReconcileReport:
        """What the bot calls every few minutes: compares SQL and Chroma by id (equal counts can
        hide one missing and one extra) and indexes insights whose Chroma write failed after their
        SQL commit, in this process or another, so they do not stay out of meaning search until a
        restart."""
        self._last_repair = time.monotonic()
        return await self._reconcile_ids()

    async def _reconcile_ids(self) -> ReconcileReport:
        """Makes Chroma hold exactly the insights SQL holds. Chroma is read before SQL: an insight
        reaches Chroma only after its SQL commit, so an id found in Chroma and not in SQL read
        afterwards is truly extra, even while other processes ingest."""
        chroma_ids = await asyncio.to_thread(self.index.all_ids)
        sql_ids = await self.repository.all_ids()
        missing = sorted(sql_ids - chroma_ids)
        extra = sorted(chroma_ids - sql_ids)
        if extra:
            await asyncio.to_thread(self.index.delete, extra)
        if missing:
            texts = await self.repository.texts(missing)
            await self._index_texts(list(texts.items()))
        self.ingestor.unindexed.difference_update(missing)
        if missing or extra:
            log.warning("reconciled the vector index with SQL: %d indexed, %d removed", len(missing), len(extra))
        return ReconcileReport(len(missing), len(extra))

    async def _index_unindexed(self) -> None:
        """This process's own failed Chroma writes, tried again by id (cheaper than a reconcile)."""
        pending = sorted(self.ingestor.unindexed)
        if not pending:
            return
        texts = await self.repository.texts(pending)
        try:
            await self._index_texts(list(texts.items()))
        except StoreUnavailable:
            log.warning("%d stored insights are still not indexed in Chroma", len(pending))
            return
        self.ingestor.unindexed.difference_update(pending)
        log.info("indexed %d stored insights whose Chroma write had failed", len(pending))

    @translate_outages
    async def write_prepared(self, batch: WriteBatch, vectors_for: Callable[[list[str]], np.ndarray]) -> list[str]:
        """Writes insights whose vectors the caller already has (the benchmark's cached encodes), so a
        large store is built without encoding it again; returns the ids that were new."""
        outcome = await self.repository.write_batch(batch)
        ids = list(outcome.new_ids)
        await asyncio.to_thread(self.index.upsert, ids, vectors_for(ids))
        return ids

    async def reindex(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuilds Chroma (and SQLite's lexical index) from SQL alone."""
        total = await self.repository.count()
        await asyncio.to_thread(self.index.recreate)
        await self.repository.rebuild_lexical_index()
        done = 0
        async for rows in self.repository.iter_texts(REINDEX_BATCH):
            await self._index_texts(rows)
            done += len(rows)
            if progress is not None:
                progress(done, total)
        self.searcher.forget_counts()
        return done

    async def _index_texts(self, rows: list[tuple[str, str]]) -> None:
        for start in range(0, len(rows), REINDEX_BATCH):
            chunk = rows[start : start + REINDEX_BATCH]
            vectors = await asyncio.to_thread(self.embedder.encode, [body for _, body in chunk])
            await asyncio.to_thread(self.index.upsert, [found for found, _ in chunk], vectors)


def _file_groups(parsed_files: list[tuple[Path, list[ParsedBrief]]], limit: int) -> list[list[tuple[Path, list[ParsedBrief]]]]:
    """Consecutive files whose briefs fit one write batch: a folder of daily one-brief files goes
    in as a few transactions instead of one per file (re-ingesting 220 files took 1.1 s, mostly
    per-transaction cost), and each group is still all-or-nothing, so a failure names every file
    in it and none of them is half written. A file larger than one batch forms its own group."""
    groups: list[list[tuple[Path, list[ParsedBrief]]]] = []
    current: list[tuple[Path, list[ParsedBrief]]] = []
    filled = 0
    for path, briefs in parsed_files:
        if current and filled + len(briefs) > limit:
            groups.append(current)
            current, filled = [], 0
        current.append((path, briefs))
        filled += len(briefs)
    if current:
        groups.append(current)
    return groups


def _lock_data_dir(settings: Settings) -> FileLock:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / LOCK_NAME
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise DataDirectoryLocked(
            f"another insight-recall process is using {settings.data_dir} (lock file {path}); stop it first, "
            "or run both against a Chroma server (INSIGHT_CHROMA_URL) because embedded Chroma is not safe across processes"
        ) from None
    return lock


def _release(lock: FileLock | None) -> None:
    if lock is not None and lock.is_locked:
        lock.release()


def _without_secrets(message: str, settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    try:
        password = make_url(settings.resolved_database_url).password
    except Exception:
        password = None
    return message.replace(str(password), "***") if password else message
