"""Shared fixtures: real Chroma (a temporary persistent directory and an in-memory client), real
SQLite, a deterministic fake embedder for most tests and the real model, loaded once, for a few."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from store.embedding import Embedder
from store.service import InsightStore
from tests.fakes import FakeEmbedder
from tests.servers import POSTGRES_SKIP_REASON, ChromaServer, postgres_url, start_chroma_server

os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
# The two sample briefs the project was given, copied into the repository so the suite needs nothing beside it.
SHARED_BRIEFS = REPO_ROOT / "store" / "evaluation" / "briefs"
SAMPLE_BRIEFS = REPO_ROOT / "store" / "samples"


# .ci/run sets this: there every test must run, so a skip (a missing service, a missing package)
# fails the run instead of passing quietly.
NO_SKIPS_VARIABLE = "INSIGHT_TEST_NO_SKIPS"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get(NO_SKIPS_VARIABLE) == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but {NO_SKIPS_VARIABLE}=1 allows no skips: {reason}"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's own INSIGHT_* variables or .env file."""
    for name in list(os.environ):
        if name.startswith("INSIGHT_") and not name.startswith("INSIGHT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("INSIGHT_SECRETS_DIR", str(tmp_path / "no-secrets"))
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def shared_briefs() -> Path:
    return SHARED_BRIEFS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", chroma_collection=f"test-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def real_embedder(model_cache: Path) -> Embedder:
    from store.embedding import load_embedder

    return load_embedder("all-MiniLM-L6-v2", "cpu", cache_dir=model_cache)


def _memory_client() -> object:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))


@pytest.fixture(scope="session")
def chroma_server() -> Iterator[ChromaServer]:
    """One real Chroma server for the session; each test uses its own collection."""
    server = start_chroma_server()
    try:
        yield server
    finally:
        server.stop()


async def reset_postgres(url: str) -> None:
    """Each test starts from empty tables; the tests run one at a time against one database."""
    from store.database import create_engine
    from store.schema import metadata

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
    finally:
        await engine.dispose()


STORE_MODES = ["persistent", "memory", "server", "postgres"]


async def open_test_store(mode: str, request: pytest.FixtureRequest, settings: Settings, embedder: FakeEmbedder) -> InsightStore:
    """The store on real Chroma (a persistent directory, in memory, a real server) over real SQLite,
    or over PostgreSQL when one is reachable, with the fake embedder."""
    client = None
    if mode == "memory":
        client = _memory_client()
    elif mode == "server":
        server: ChromaServer = request.getfixturevalue("chroma_server")
        settings = settings.model_copy(update={"chroma_url": server.url})
    elif mode == "postgres":
        url = postgres_url()
        if url is None:
            pytest.skip(POSTGRES_SKIP_REASON)
        await reset_postgres(url)
        settings = settings.model_copy(update={"database_url": url})
    return await InsightStore.open(settings, embedder, chroma_client=client)


@pytest.fixture(params=STORE_MODES)
async def store(request: pytest.FixtureRequest, settings: Settings, fake_embedder: FakeEmbedder) -> AsyncIterator[InsightStore]:
    async with await open_test_store(request.param, request, settings, fake_embedder) as opened:
        yield opened


@pytest.fixture
async def real_store(settings: Settings, real_embedder: Embedder) -> AsyncIterator[InsightStore]:
    opened = await InsightStore.open(settings, real_embedder)
    try:
        yield opened
    finally:
        await opened.close()
