"""Faults in the database: a locked or unreachable database gives the known "try again shortly"
error, loses nothing, and everything works again once it is back, with no restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import store.database
from config.settings import Settings
from store.errors import StoreUnavailable
from store.service import InsightStore
from tests.fakes import FakeEmbedder


async def test_a_locked_database_is_reported_as_unavailable_and_recovers(
    settings: Settings, fake_embedder: FakeEmbedder, shared_briefs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store.database, "SQLITE_BUSY_TIMEOUT_MS", 300)
    async with await InsightStore.open(settings, fake_embedder) as opened:
        await opened.ingest_paths([shared_briefs])
        blocker = sqlite3.connect(settings.data_dir / "insight-recall.db", timeout=1)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            with pytest.raises(StoreUnavailable, match="try again shortly"):
                await opened.add_insight("Locks are released eventually.")
        finally:
            blocker.rollback()
            blocker.close()
        report = await opened.add_insight("Locks are released eventually.")
        assert report.added == 1
        assert (await opened.stats())["insights"] == 22


async def test_an_unreachable_database_stops_start_up_with_a_clear_message_and_no_password(
    settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    unreachable = settings.model_copy(update={"database_url": "postgresql+asyncpg://bot:s3cretpass@127.0.0.1:9/insights"})
    with pytest.raises(StoreUnavailable) as raised:
        await InsightStore.open(unreachable, fake_embedder)
    assert "s3cretpass" not in str(raised.value)
    assert "INSIGHT_DATABASE_URL" in str(raised.value)
    # The data-directory lock is released, so a corrected start-up can go on.
    reopened = await InsightStore.open(settings, fake_embedder)
    await reopened.close()


_KILLED_INGEST = r"""
import asyncio, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from config.settings import Settings
from store.service import InsightStore
from store.vector_index import VectorIndex
from tests.fakes import FakeEmbedder

marker = Path({marker!r})
original = VectorIndex.upsert

def upsert_then_hang(self, ids, vectors):
    # SQL has committed this batch; die before Chroma hears of it.
    marker.write_text(str(len(ids)))
    time.sleep(60)

VectorIndex.upsert = upsert_then_hang

async def main():
    settings = Settings(data_dir=Path({data_dir!r}), chroma_collection={collection!r})
    async with await InsightStore.open(settings, FakeEmbedder()) as store:
        await store.ingest_paths([Path({briefs!r})])

asyncio.run(main())
"""


async def test_sigkill_between_sql_commit_and_chroma_write_is_repaired_at_start_up(
    settings: Settings, fake_embedder: FakeEmbedder, shared_briefs: Path, tmp_path: Path
) -> None:
    import asyncio
    import os
    import signal
    import subprocess
    import sys

    repo = str(Path(__file__).resolve().parents[1])
    marker = tmp_path / "committed"
    script = _KILLED_INGEST.format(
        repo=repo,
        marker=str(marker),
        data_dir=str(settings.data_dir),
        collection=settings.chroma_collection,
        briefs=str(shared_briefs),
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=repo)
    try:
        for _ in range(600):
            if marker.exists() or process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        assert marker.exists(), "the ingest never reached the Chroma write"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)

    committed = int(marker.read_text())  # the first write batch: both sample files fit in one
    # Looked at without repairing, to prove the kill left something to repair.
    async with await InsightStore.open(settings, fake_embedder, reconcile=False) as looked_at:
        in_sql = await looked_at.repository.count()
        assert in_sql == committed > 0 and looked_at.index.count() == 0, "the kill should leave SQL ahead of Chroma"
    # An ordinary start (as the bot's) repairs it by itself: nothing is called by hand.
    async with await InsightStore.open(settings, fake_embedder) as started:
        assert started.index.count() == committed
        assert (await started.search("Zyphra", 1)).hits
    async with await InsightStore.open(settings, fake_embedder) as reopened:
        report = await reopened.ingest_paths([shared_briefs])
        assert report.added == 21 - committed and (await reopened.stats())["indexed"] == 21


async def test_a_chroma_server_that_goes_away_is_unavailable_then_recovers_without_restart(
    settings: Settings, fake_embedder: FakeEmbedder, shared_briefs: Path, tmp_path: Path
) -> None:
    import time

    from tests.servers import start_chroma_server

    server = start_chroma_server(tmp_path / "chroma-server")
    try:
        remote = settings.model_copy(update={"chroma_url": server.url})
        async with await InsightStore.open(remote, fake_embedder) as opened:
            await opened.ingest_paths([shared_briefs])
            assert (await opened.search("Zyphra", 1)).hits
            server.kill()
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="try again shortly"):
                await opened.search("custom chips for algorithms", 3)
            assert time.monotonic() - started < 2.5, "must fail within Discord's three seconds"
            server = start_chroma_server(server.path, server.port)
            result = await opened.search("Zyphra", 1)
            assert result.hits and "Zyphra" in result.hits[0].text
    finally:
        server.stop()
