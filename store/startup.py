"""Building the store's resources once at start-up, for whichever front starts: the bot or a command.

The embedder is built here and not in a front, so the bot does not have to borrow the command
line's start-up code (the layers point one way: the command line may start the bot, not the reverse).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from config.settings import Settings

if TYPE_CHECKING:
    from store.embedding import Embedder


def build_embedder(settings: Settings) -> Embedder:
    """The model named by the settings, from local files; imported here so that a caller that never
    encodes never imports numpy or the model code."""
    from store.embedding import load_embedder

    return load_embedder(
        settings.embedding_model, settings.device, backend=settings.embedding_backend, cache_dir=settings.data_dir / "model-cache"
    )
