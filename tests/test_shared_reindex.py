"""A reindex on a shared Chroma server gives the collection a new id; every other process holding
the old handle keeps answering, because the index reopens its collection by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from store.errors import StoreUnavailable
from store.service import InsightStore
from tests.fakes import FakeEmbedder
from tests.servers import ChromaServer


async def test_a_reindex_by_another_process_does_not_break_search(
    settings: Settings, chroma_server: ChromaServer, shared_briefs: Path
) -> None:
    shared = settings.model_copy(update={"chroma_url": chroma_server.url})
    async with (
        await InsightStore.open(shared, FakeEmbedder()) as rebuilder,
        await InsightStore.open(shared, FakeEmbedder()) as other,
    ):
        await rebuilder.ingest_paths([shared_briefs])
        assert (await other.search("Zyphra", 1)).hits
        await rebuilder.reindex()
        result = await other.search("custom chips for algorithms", 3)
        assert result.hits
        assert (await other.related(result.hits[0].id)).id == result.hits[0].id
        assert (await other.stats())["indexed"] == 21


async def test_a_collection_missing_for_a_moment_is_an_outage_not_a_bug(
    settings: Settings, chroma_server: ChromaServer, shared_briefs: Path
) -> None:
    """Between a reindex's delete and create the collection does not exist: "try again shortly"."""
    shared = settings.model_copy(update={"chroma_url": chroma_server.url})
    async with await InsightStore.open(shared, FakeEmbedder()) as opened:
        await opened.ingest_paths([shared_briefs])
        from store.vector_index import open_chroma_client

        open_chroma_client(chroma_server.url, shared.chroma_dir).delete_collection(shared.chroma_collection)
        with pytest.raises(StoreUnavailable, match="try again shortly"):
            await opened.search("custom chips for algorithms", 3)
        await opened.reindex()
        assert (await opened.search("Zyphra", 1)).hits
