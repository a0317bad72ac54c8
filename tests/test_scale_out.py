"""Two processes sharing one Chroma server and one PostgreSQL, as a grown installation runs: the
same brief ingested by both at once is stored once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import Settings
from store.service import InsightStore
from tests.conftest import REPO_ROOT, reset_postgres
from tests.fakes import FakeEmbedder
from tests.servers import ChromaServer, postgres_url

_INGEST = r"""
import asyncio, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from config.settings import Settings
from store.service import InsightStore
from tests.fakes import FakeEmbedder

async def main():
    settings = Settings(data_dir=Path({data_dir!r}), chroma_url={chroma!r}, database_url={database!r}, chroma_collection={collection!r})
    async with await InsightStore.open(settings, FakeEmbedder()) as store:
        report = await store.ingest_paths([Path({brief!r})])
        assert not report.failed, report.failed

asyncio.run(main())
"""


async def test_two_processes_ingesting_the_same_brief_store_it_once(
    settings: Settings, chroma_server: ChromaServer, shared_briefs: Path, tmp_path: Path
) -> None:
    url = postgres_url()
    if url is None:
        pytest.skip("INSIGHT_TEST_POSTGRES_URL is not set (.ci/run starts PostgreSQL with scripts/test-services.sh)")
    await reset_postgres(url)
    brief = shared_briefs / "000_5eecbfd325b0d2d0.txt"
    scripts = [
        _INGEST.format(
            repo=str(REPO_ROOT),
            data_dir=str(tmp_path / f"process-{number}"),
            chroma=chroma_server.url,
            database=url,
            collection=settings.chroma_collection,
            brief=str(brief),
        )
        for number in (1, 2)
    ]
    processes = [subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True) for script in scripts]
    outcomes = [(process.wait(timeout=120), process.stderr.read() if process.stderr else "") for process in processes]
    assert [code for code, _ in outcomes] == [0, 0], outcomes

    shared = settings.model_copy(update={"chroma_url": chroma_server.url, "database_url": url})
    async with await InsightStore.open(shared, FakeEmbedder(), reconcile=False) as store:
        stats = await store.stats()
        assert (stats["insights"], stats["indexed"], stats["brief_links"], stats["briefs"]) == (11, 11, 10, 1)
