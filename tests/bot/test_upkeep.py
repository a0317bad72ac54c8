"""The bot repairs the vector index while it runs: the loop indexes what a failed Chroma write left
out, and an outage or a bug in one beat does not stop the loop."""

from __future__ import annotations

import pytest

from bot.exts.upkeep._cog import UpkeepCog
from store.errors import StoreUnavailable
from tests.bot.harness import BotHarness


def _cog(harness: BotHarness) -> UpkeepCog:
    cog = harness.bot.get_cog("UpkeepCog")
    # The bot's loader imports the extension afresh for each bot, so compare by name.
    assert cog is not None and type(cog).__name__ == "UpkeepCog"
    return cog  # type: ignore[return-value]


async def test_the_loop_indexes_what_a_failed_write_left_out(harness: BotHarness) -> None:
    store = harness.bot.store
    lost = sorted(await store.repository.all_ids())[0]
    store.index.delete([lost])
    cog = _cog(harness)
    assert cog.index_repair.is_running()
    await cog.index_repair.coro(cog)
    assert lost in store.index.all_ids()


@pytest.mark.parametrize("error", [StoreUnavailable("the insight store is unavailable, try again shortly"), RuntimeError("bug")])
async def test_one_failed_beat_does_not_stop_the_loop(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    async def failing() -> None:
        raise error

    monkeypatch.setattr(harness.bot.store, "repair_index", failing)
    cog = _cog(harness)
    await cog.index_repair.coro(cog)
    assert "index repair" in caplog.text
    assert cog.index_repair.is_running()
