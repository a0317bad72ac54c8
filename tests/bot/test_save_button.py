"""The persistent Save button: saves for whoever clicks, and keeps working across restarts and
after the pager it sits in has timed out."""

from __future__ import annotations

import asyncio

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


async def test_a_pager_keeps_nothing_that_expires_and_never_edits_through_the_commands_token(
    harness: BotHarness, seeded_store: InsightStore
) -> None:
    """Issue 11, defect 4: the pagers used to be views with a 600 s timeout, restarted by every page
    turn, whose end removed the page buttons through the command's own token; Discord lets that
    token go after 15 minutes, so the edit failed and the dead buttons answered "This interaction
    failed". Now nothing is kept that times out, and every edit goes through the click's own token."""
    search = await harness.slash(ALICE, "insight search", query="orbital launch costs", count=7)
    message = search.last_message
    sent_through_command = len(search.requests)

    turned = await harness.click(ALICE, message, button(message, "Next")["custom_id"])
    page_two = turned.last_message
    again = await harness.click(ALICE, page_two, button(page_two, "Next")["custom_id"])
    clicked = await harness.click(BOB, again.last_message, button(again.last_message, "Save 7")["custom_id"])

    store_of_views = harness.bot._connection._view_store
    assert int(message["id"]) not in store_of_views._views, "no in-memory view for the pager's message"
    assert not [task for task in asyncio.all_tasks() if "timeout_task_impl" in getattr(task.get_coro(), "__qualname__", "")]
    assert len(search.requests) == sent_through_command, "nothing later used the command's token"
    assert turned.callback_type == 7 and again.callback_type == 7, "page turns answer through the click itself"
    assert "page 3 of 3" in again.last_message["content"]
    assert clicked.text.startswith("Saved")
    assert "Save" in [component["label"][:4] for row in message["components"] for component in row["components"]]


async def test_save_for_an_insight_that_is_gone_is_a_short_private_error(harness: BotHarness) -> None:
    search = await harness.slash(ALICE, "insight search", query="orbital launch costs", count=1)
    message = search.last_message
    message["components"][0]["components"][0]["custom_id"] = "ir:save:00000000deadbeef"

    clicked = await harness.click(BOB, message, "ir:save:00000000deadbeef")

    assert clicked.ephemeral
    assert "no longer in the store" in clicked.text
