"""Start-up for the command line: the model and the store, built once per command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from config.settings import Settings

if TYPE_CHECKING:
    from store.embedding import Embedder
    from store.saved import SavedLists
    from store.service import InsightStore


def build_embedder(settings: Settings) -> Embedder:
    """Kept as a seam so tests can hand in a fake embedder without loading a model. The model
    itself loads on the first encode, so commands that encode nothing never pay for it."""
    from store.embedding import open_embedder

    return open_embedder(
        settings.embedding_model, settings.device, backend=settings.embedding_backend, cache_dir=settings.resolved_model_cache
    )


def build_loaded_embedder(settings: Settings) -> Embedder:
    """For the bot: loaded at start-up (while the gateway connects), not at the first search."""
    embedder = build_embedder(settings)
    load = getattr(embedder, "load", None)
    return load() if callable(load) else embedder


async def open_store(settings: Settings, *, reconcile: bool = True) -> InsightStore:
    from store.service import InsightStore

    return await InsightStore.open(settings, build_embedder(settings), reconcile=reconcile)


@asynccontextmanager
async def open_saved_lists(settings: Settings) -> AsyncIterator[SavedLists]:
    """Saved lists live in SQL alone, so their commands open neither Chroma nor the model (and,
    with no embedded Chroma open, need not wait for the data-directory lock)."""
    from store.database import create_engine, initialise
    from store.saved import SavedLists

    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    try:
        await initialise(engine)
        yield SavedLists(engine)
    finally:
        await engine.dispose()


def sample_briefs_dir() -> Path:
    return Path(str(resources.files("store") / "samples"))
