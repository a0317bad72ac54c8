"""/saved: private, paged, and only ever the caller's own list."""

from __future__ import annotations

import csv
import io
import json

import pytest

from store.service import InsightStore
from store.text import insight_id
from tests.bot.conftest import ALICE, BOB, LAUNCH_INSIGHTS, LAUNCH_RELATED
from tests.bot.fake_discord import EPHEMERAL, button
from tests.bot.harness import BotHarness


async def _save_all_for_alice_and_one_for_bob(store: InsightStore) -> None:
    for text in LAUNCH_INSIGHTS:
        await store.saved.save(str(ALICE.id), insight_id(text))
    await store.saved.save(str(BOB.id), insight_id(LAUNCH_RELATED))


async def test_saved_list_is_private_paged_and_only_the_callers(harness: BotHarness, seeded_store: InsightStore) -> None:
    await _save_all_for_alice_and_one_for_bob(seeded_store)

    alice = await harness.slash(ALICE, "saved list")

    assert alice.callback_type == 5 and alice.ephemeral
    first = alice.last_message
    assert first["embeds"][0]["footer"]["text"] == "page 1 of 2 · 7 saved"
    assert LAUNCH_RELATED not in alice.text, "Bob's item is not in Alice's list"

    turned = await harness.click(ALICE, first, button(first, "Next")["custom_id"])

    assert turned.callback_type == 6, "the click is acknowledged before the store is read"
    assert any(request.route.endswith("/messages/@original") and request.method == "PATCH" for request in turned.requests)
    page_two = harness.fake.messages[int(first["id"])]
    assert page_two["embeds"][0]["footer"]["text"] == "page 2 of 2 · 7 saved"
    assert int(page_two["flags"]) & EPHEMERAL

    bob = await harness.slash(BOB, "saved list")

    assert bob.ephemeral
    assert LAUNCH_RELATED in bob.text
    assert not any(text in bob.text for text in LAUNCH_INSIGHTS), "Bob sees none of Alice's items"
    assert "Next" not in [component.get("label") for row in bob.last.get("components", []) for component in row["components"]]


async def test_saved_list_when_empty_explains_how_to_save(harness: BotHarness) -> None:
    exchange = await harness.slash(BOB, "saved list")

    assert exchange.ephemeral
    assert "Nothing saved yet" in exchange.text


async def test_saved_remove_autocomplete_offers_only_the_callers_items(harness: BotHarness, seeded_store: InsightStore) -> None:
    await _save_all_for_alice_and_one_for_bob(seeded_store)

    bob_choices = (await harness.autocomplete(BOB, "saved remove", focus="item", item="")).choices
    alice_choices = (await harness.autocomplete(ALICE, "saved remove", focus="item", item="orbital")).choices

    assert bob_choices == [{"name": LAUNCH_RELATED, "value": insight_id(LAUNCH_RELATED)}]
    assert {choice["value"] for choice in alice_choices} == {insight_id(text) for text in LAUNCH_INSIGHTS}
    assert all(len(choice["name"]) <= 100 for choice in alice_choices)

    removed = await harness.slash(BOB, "saved remove", item=bob_choices[0]["value"])

    assert removed.ephemeral and "Removed" in removed.text
    assert await seeded_store.saved.count(str(BOB.id)) == 0
    not_there = await harness.slash(BOB, "saved remove", item=insight_id(LAUNCH_INSIGHTS[0]))
    assert "not on your saved list" in not_there.text
    assert await seeded_store.saved.count(str(ALICE.id)) == len(LAUNCH_INSIGHTS), "Bob cannot remove Alice's items"


async def test_saved_search_looks_only_in_the_callers_list(harness: BotHarness, seeded_store: InsightStore) -> None:
    await _save_all_for_alice_and_one_for_bob(seeded_store)

    alice = await harness.slash(ALICE, "saved search", query="boosters Firefly")
    bob = await harness.slash(BOB, "saved search", query="boosters Firefly")

    assert alice.ephemeral and bob.ephemeral
    assert LAUNCH_INSIGHTS[4] in alice.text
    assert LAUNCH_INSIGHTS[0] not in alice.text, "every word must match"
    assert "Nothing in your list matches" in bob.text


@pytest.mark.parametrize(
    ("export_format", "filename"),
    [("markdown", "saved-insights.md"), ("csv", "saved-insights.csv"), ("json", "saved-insights.json")],
)
async def test_saved_export_attaches_a_private_file(
    harness: BotHarness, seeded_store: InsightStore, export_format: str, filename: str
) -> None:
    await _save_all_for_alice_and_one_for_bob(seeded_store)

    exchange = await harness.slash(ALICE, "saved export", format=export_format)

    assert exchange.callback_type == 5 and exchange.ephemeral
    upload = exchange.requests[-1]
    assert upload.multipart, "files go as multipart/form-data"
    assert int(upload.json["flags"]) & EPHEMERAL
    assert upload.json["allowed_mentions"] == {"parse": []}
    [attached] = upload.files
    assert attached.filename == filename
    body = attached.data.decode("utf-8")
    if export_format == "json":
        assert [item["text"] for item in json.loads(body)["items"]] == list(reversed(LAUNCH_INSIGHTS))
    elif export_format == "csv":
        rows = list(csv.DictReader(io.StringIO(body)))
        assert {row["text"] for row in rows} == set(LAUNCH_INSIGHTS)
    else:
        assert all(text in body for text in LAUNCH_INSIGHTS)
    assert LAUNCH_RELATED not in body
    assert exchange.last_message["attachments"][0]["filename"] == filename
