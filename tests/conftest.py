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

os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_BRIEFS = REPO_ROOT.parent / "shared" / "samples" / "briefs"
SAMPLE_BRIEFS = REPO_ROOT / "store" / "samples"


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
    if not SHARED_BRIEFS.is_dir():
        pytest.skip(f"{SHARED_BRIEFS} is not beside the repository")
    return SHARED_BRIEFS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", chroma_collection=f"test-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    from store.embedding import load_embedder

    return load_embedder("all-MiniLM-L6-v2", "cpu")


def _memory_client() -> object:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))


@pytest.fixture(params=["persistent", "memory"])
async def store(request: pytest.FixtureRequest, settings: Settings, fake_embedder: FakeEmbedder) -> AsyncIterator[InsightStore]:
    """The store on real Chroma in both embedded shapes, over real SQLite, with the fake embedder."""
    client = _memory_client() if request.param == "memory" else None
    opened = await InsightStore.open(settings, fake_embedder, chroma_client=client)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def real_store(settings: Settings, real_embedder: Embedder) -> AsyncIterator[InsightStore]:
    opened = await InsightStore.open(settings, real_embedder)
    try:
        yield opened
    finally:
        await opened.close()
