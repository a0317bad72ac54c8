"""/insight search, related and stats through discord.py's real interaction handling."""

from __future__ import annotations

import re

from store.service import InsightStore
from store.text import insight_id
from tests.bot.conftest import ALICE, BOB, LAUNCH_INSIGHTS, LAUNCH_RELATED
from tests.bot.fake_discord import EPHEMERAL, LOADING, button, custom_ids, iter_buttons
from tests.bot.harness import BotHarness

SAVE_ID = re.compile(r"ir:save:[0-9a-f]{16}")


async def test_search_shows_hits_with_related_insights_and_save_buttons(harness: BotHarness, seeded_store: InsightStore) -> None:
    expected = await seeded_store.search("orbital launch costs SpaceX", 3)

    exchange = await harness.slash(ALICE, "insight search", query="orbital launch costs SpaceX", count=3)

    assert exchange.callback_type == 5, "a search defers with 'thinking' before touching the store"
    assert not exchange.ephemeral
    message = exchange.last
    assert message["allowed_mentions"] == {"parse": []}
    descriptions = [embed["description"] for embed in message["embeds"]]
    assert descriptions == [hit.text for hit in expected.hits]
    field_names = [field["name"] for embed in message["embeds"] for field in embed.get("fields", [])]
    assert "↳ same brief" in field_names, "the explicit related insight is labelled with its reason"
    assert any(LAUNCH_RELATED in field["value"] for embed in message["embeds"] for field in embed.get("fields", []))
    assert {"↳ same idea", "↳ similar"} & set(field_names)
    assert [embed["footer"]["text"].split(" · ")[0] for embed in message["embeds"]] == [f"id {hit.id}" for hit in expected.hits]
    save_ids = [custom_id for custom_id in custom_ids(message) if custom_id.startswith("ir:save:")]
    assert save_ids == [f"ir:save:{hit.id}" for hit in expected.hits]
    assert all(SAVE_ID.fullmatch(custom_id) for custom_id in save_ids)
    assert "Next" not in [component.get("label") for component in iter_buttons(message)], "one page needs no pager"


async def test_weak_match_says_so(harness: BotHarness) -> None:
    exchange = await harness.slash(ALICE, "insight search", query="marmalade zebra tuba")

    assert exchange.callback_type == 5
    assert "No good match — try other words" in exchange.text
    assert not exchange.last.get("components")


async def test_next_shows_page_two_to_the_owner(harness: BotHarness) -> None:
    search = await harness.slash(ALICE, "insight search", query="orbital launch costs", count=7)
    first = search.last_message
    assert "page 1 of 3" in first["content"]
    assert button(first, "Previous")["disabled"] is True

    turned = await harness.click(ALICE, first, button(first, "Next")["custom_id"])

    assert turned.callback_type == 7, "turning a page edits the message in place"
    page_two = turned.last_message
    assert "page 2 of 3" in page_two["content"]
    assert [embed["title"] for embed in page_two["embeds"]] == ["4. Insight", "5. Insight", "6. Insight"]
    assert [component["label"] for component in iter_buttons(page_two)][:3] == ["Save 4", "Save 5", "Save 6"]
    assert all(SAVE_ID.fullmatch(custom_id) for custom_id in custom_ids(page_two)[:3])
    assert button(page_two, "Previous")["disabled"] is False


async def test_someone_else_cannot_turn_the_pages(harness: BotHarness) -> None:
    search = await harness.slash(ALICE, "insight search", query="orbital launch costs", count=7)
    first = search.last_message

    refused = await harness.click(BOB, first, button(first, "Next")["custom_id"])

    assert refused.callback_type == 4
    assert int(refused.callback.json["data"]["flags"]) & EPHEMERAL
    assert "these buttons belong to someone else's search" in refused.text.lower()
    assert "page 1 of 3" in harness.fake.messages[int(first["id"])]["content"], "the message did not move"


async def test_related_autocomplete_offers_insights_by_text(harness: BotHarness, seeded_store: InsightStore) -> None:
    for number in range(30):
        await seeded_store.add_insight(f"Orbital filler insight number {number} about tugs and depots.")
    # Newest first: this one is among the 25 offered.
    await seeded_store.add_insight("Orbital refuelling " + "depots change the economics of deep space missions entirely " * 6)

    exchange = await harness.autocomplete(ALICE, "insight related", focus="id", id="orbital")

    assert exchange.callback_type == 8
    choices = exchange.choices
    assert 1 <= len(choices) <= 25
    assert all(1 <= len(choice["name"]) <= 100 for choice in choices)
    assert all(re.fullmatch(r"[0-9a-f]{16}", choice["value"]) for choice in choices)
    assert any(choice["name"].startswith("Orbital refuelling depots") and choice["name"].endswith("…") for choice in choices)


async def test_related_shows_the_insight_with_reasons_and_a_save_button(harness: BotHarness, seeded_store: InsightStore) -> None:
    choices = (await harness.autocomplete(ALICE, "insight related", focus="id", id="SpaceX")).choices
    chosen = choices[0]["value"]

    exchange = await harness.slash(ALICE, "insight related", id=chosen)

    assert exchange.callback_type == 5
    embed = exchange.last["embeds"][0]
    assert embed["description"] == LAUNCH_INSIGHTS[0]
    assert {"name": "↳ same brief", "value": LAUNCH_RELATED, "inline": False} in embed["fields"]
    assert custom_ids(exchange.last) == [f"ir:save:{chosen}"]


async def test_related_with_an_unknown_id_edits_the_thinking_message_even_where_follow_ups_are_refused(
    harness: BotHarness,
) -> None:
    """Issue 16, point 1: the bot used to delete the public "thinking…" and send a private
    follow-up, which Discord refused (10008, as the fake now does): the person saw nothing."""
    exchange = await harness.slash(ALICE, "insight related", id="0123456789abcdef")

    assert exchange.callback_type == 5
    assert not [route for route in exchange.routes if route.startswith("DELETE")], "the placeholder is never deleted"
    assert all(request.status < 400 for request in exchange.requests), exchange.dump()
    shown = harness.fake.messages[int(exchange.last_message["id"])]
    assert "No insight has the id '0123456789abcdef'" in shown["content"]
    assert not int(shown["flags"]) & LOADING, "it no longer says thinking…"


async def test_related_with_words_shows_the_insight_they_match_best_and_says_so(harness: BotHarness) -> None:
    exchange = await harness.slash(ALICE, "insight related", id="Satellite constellations cheap capacity")

    shown = harness.fake.messages[int(exchange.last_message["id"])]
    assert "“Satellite constellations cheap capacity” is not an id from the list" in shown["content"]
    assert shown["embeds"][0]["description"] == LAUNCH_RELATED
    assert custom_ids(shown) == [f"ir:save:{insight_id(LAUNCH_RELATED)}"]


async def test_related_with_words_that_match_nothing_says_so_truthfully(harness: BotHarness) -> None:
    exchange = await harness.slash(ALICE, "insight related", id="marmalade zebra tuba")

    shown = harness.fake.messages[int(exchange.last_message["id"])]
    assert shown["content"].startswith("No insight matches “marmalade zebra tuba”: pick an item from the list")


async def test_stats_shows_counts_without_the_storage_location(harness: BotHarness, seeded_store: InsightStore) -> None:
    exchange = await harness.slash(BOB, "insight stats")

    assert exchange.callback_type == 5
    fields = {field["name"]: field["value"] for field in exchange.last["embeds"][0]["fields"]}
    assert fields["Insights"] == str(len(LAUNCH_INSIGHTS) + 1)
    assert fields["Indexed vectors"] == fields["Insights"]
    assert fields["Model"] == "fake-embedder"
    assert str(seeded_store.settings.data_dir) not in exchange.text
