"""Start-up for the command line: the model and the store, built once per command."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from config.settings import Settings
from store.embedding import Embedder, load_embedder
from store.service import InsightStore


def build_embedder(settings: Settings) -> Embedder:
    """Kept as a seam so tests can hand in a fake embedder without loading torch."""
    return load_embedder(
        settings.embedding_model, settings.device, backend=settings.embedding_backend, cache_dir=settings.data_dir / "model-cache"
    )


async def open_store(settings: Settings, *, reconcile: bool = True) -> InsightStore:
    return await InsightStore.open(settings, build_embedder(settings), reconcile=reconcile)


def sample_briefs_dir() -> Path:
    return Path(str(resources.files("store") / "samples"))
