"""Start-up for the command line: the model and the store, built once per command."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from config.settings import Settings
from store import InsightStore, build_embedder

__all__ = ["build_embedder", "open_store", "sample_briefs_dir"]


async def open_store(settings: Settings, *, reconcile: bool = True) -> InsightStore:
    # build_embedder is looked up here, in this module, so tests can hand in a fake embedder.
    return await InsightStore.open(settings, build_embedder(settings), reconcile=reconcile)


def sample_briefs_dir() -> Path:
    return Path(str(resources.files("store") / "samples"))
