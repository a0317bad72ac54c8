"""The persistent Save button: saves for whoever clicks, and keeps working across restarts and
after the pager it sits in has timed out."""

from __future__ import annotations

import asyncio

import pytest

from bot.views import OwnedPager
from config.settings import Settings
from store.service import InsightStore
from tests.bot.conftest import ALICE, BOB
from tests.bot.fake_discord import EPHEMERAL, button, custom_ids
from tests.bot.harness import BotHarness


async def test_save_persists_for_the_clicker_and_a_second_click_says_already_saved(
    harness: BotHarness, seeded_store: InsightStore
) -> None:
    search = await harness.slash(ALICE, "insight search", query="orbital launch costs", count=3)
    message = search.last_message
    save = button(message, "Save 1")["custom_id"]
    insight_id = save.removeprefix("ir:save:")

    first = await harness.click(BOB, message, save)

    assert first.callback_type == 5 and int(first.callback.json["data"]["flags"]) & EPHEMERAL
    assert first.text.startswith("Saved")
    assert first.ephemeral
    assert await seeded_store.saved.contains(str(BOB.id), [insight_id]) == {insight_id}
    assert await seeded_store.saved.count(str(ALICE.id)) == 0, "saved for the clicker, not for whoever searched"

    second = await harness.click(BOB, message, save)

    assert second.text.startswith("Already saved")
    assert second.ephemeral
    assert await seeded_store.saved.count(str(BOB.id)) == 1


async def test_save_button_works_after_a_restart(settings: Settings, seeded_store: InsightStore) -> None:
    before = BotHarness(settings)
    await before.start(seeded_store)
    message = (await before.slash(ALICE, "insight search", query="orbital launch costs", count=3)).last_message
    save = custom_ids(message)[0]
    await before.close()

    after = BotHarness(settings)  # a new process: new client, new view store, Discord still has the message
    await after.start(seeded_store)
    try:
        clicked = await after.click(BOB, message, save)
    finally:
        await after.close()

    assert clicked.text.startswith("Saved")
    assert await seeded_store.saved.contains(str(BOB.id), [save.removeprefix("ir:save:")])


async def test_save_button_still_works_after_its_pager_timed_out(
    harness: BotHarness, seeded_store: InsightStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(OwnedPager, "timeout_seconds", 0.05)
    search = await harness.slash(ALICE, "insight search", query="orbital launch costs", count=7)
    message_id = int(search.last_message["id"])

    await asyncio.sleep(0.2)
    await harness.settle()

    timed_out = harness.fake.messages[message_id]
    labels = [component["label"] for row in timed_out["components"] for component in row["components"]]
    assert labels == ["Save 1", "Save 2", "Save 3"], "the page buttons go, the Save buttons stay"
    clicked = await harness.click(BOB, timed_out, button(timed_out, "Save 2")["custom_id"])
    assert clicked.text.startswith("Saved")


async def test_save_for_an_insight_that_is_gone_is_a_short_private_error(harness: BotHarness) -> None:
    search = await harness.slash(ALICE, "insight search", query="orbital launch costs", count=1)
    message = search.last_message
    message["components"][0]["components"][0]["custom_id"] = "ir:save:00000000deadbeef"

    clicked = await harness.click(BOB, message, "ir:save:00000000deadbeef")

    assert clicked.ephemeral
    assert "no longer in the store" in clicked.text
