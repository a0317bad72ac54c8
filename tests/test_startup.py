"""What every start does, as the README promises it: SQL and Chroma are compared and whatever is
missing (or left over) in Chroma is repaired with no command, and a database written by a newer
release is refused instead of being used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock
from sqlalchemy import select, update

from config.settings import Settings
from store.database import create_engine
from store.errors import StoreUnavailable
from store.schema import SCHEMA_VERSION, insights, schema_info
from store.service import LOCK_NAME, InsightStore
from tests.fakes import FakeEmbedder


async def test_every_start_puts_back_what_chroma_lost_and_drops_what_sql_never_had(
    settings: Settings, fake_embedder: FakeEmbedder, shared_briefs: Path
) -> None:
    async with await InsightStore.open(settings, fake_embedder) as first:
        await first.ingest_paths([shared_briefs])
        sql_ids = await first.repository.all_ids()
        lost = sorted(sql_ids)[:4]
        first.index.delete(lost)
        stale = "f" * 16
        first.index.upsert([stale], np.ones((1, fake_embedder.dimension), dtype=np.float32) / np.sqrt(fake_embedder.dimension))
        assert first.index.count() == len(sql_ids) - len(lost) + 1

    fake_embedder.encoded.clear()
    async with await InsightStore.open(settings, fake_embedder) as second:
        assert second.index.all_ids() == sql_ids
        # Only the lost insights were embedded again: the repair is not a full rebuild.
        texts = await second.repository.texts(lost)
        assert sorted(fake_embedder.encoded) == sorted(texts.values())
        found = (await second.search(texts[lost[0]], 1)).hits
        assert [hit.id for hit in found] == [lost[0]]


async def test_a_start_with_nothing_wrong_embeds_nothing(
    settings: Settings, fake_embedder: FakeEmbedder, shared_briefs: Path
) -> None:
    async with await InsightStore.open(settings, fake_embedder) as first:
        await first.ingest_paths([shared_briefs])
    fake_embedder.encoded.clear()
    async with await InsightStore.open(settings, fake_embedder) as second:
        assert second.index.count() == 21
    assert fake_embedder.encoded == []


async def test_a_database_written_by_a_newer_release_is_refused_and_left_as_it_was(
    settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    async with await InsightStore.open(settings, fake_embedder) as first:
        await first.add_insight("A newer release may change what the tables mean.")
        async with first.engine.begin() as connection:
            await connection.execute(
                update(schema_info).where(schema_info.c.key == "version").values(value=str(SCHEMA_VERSION + 1))
            )

    with pytest.raises(StoreUnavailable) as refused:
        await InsightStore.open(settings, fake_embedder)
    message = str(refused.value)
    assert "newer insight-recall" in message and message.endswith("upgrade insight-recall")
    assert f"schema {SCHEMA_VERSION + 1}" in message

    # Nothing was rewritten: the version stays the newer one and the data is all there; and the
    # refused start released the data directory, so the right release can open it at once.
    engine = create_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as connection:
            version = (await connection.execute(select(schema_info.c.value).where(schema_info.c.key == "version"))).scalar()
            texts = (await connection.execute(select(insights.c.text))).scalars().all()
    finally:
        await engine.dispose()
    assert version == str(SCHEMA_VERSION + 1)
    assert texts == ["A newer release may change what the tables mean."]
    with FileLock(settings.data_dir / LOCK_NAME).acquire(timeout=0):
        pass
