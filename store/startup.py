"""Building the store's resources once at start-up, for whichever front starts: the bot or a command.

The embedder is built here and not in a front, so the bot does not have to borrow the command
line's start-up code (the layers point one way: the command line may start the bot, not the reverse).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from config.settings import Settings

if TYPE_CHECKING:
    from store.embedding import Embedder
    from store.saved import SavedLists


def build_embedder(settings: Settings) -> Embedder:
    """The model named by the settings, from local files. The model itself loads on the first
    encode, so commands that encode nothing never pay for it (nor import numpy or the model code)."""
    from store.embedding import open_embedder

    return open_embedder(
        settings.embedding_model, settings.device, backend=settings.embedding_backend, cache_dir=settings.resolved_model_cache
    )


def build_loaded_embedder(settings: Settings) -> Embedder:
    """For the bot: loaded at start-up (while the gateway connects), not at the first search."""
    embedder = build_embedder(settings)
    load = getattr(embedder, "load", None)
    return load() if callable(load) else embedder


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
