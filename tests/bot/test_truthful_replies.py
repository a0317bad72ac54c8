"""Issue 16: replies that tell the user the truth, each through discord.py's real interaction path.

Where one of these failed before its fix, the test says how."""

from __future__ import annotations

from datetime import timedelta

from bot.exts.insights._pager import EXPIRED
from config.settings import Settings
from store.service import InsightStore
from store.text import insight_id
from tests.bot.conftest import ALICE, BOB, LAUNCH_INSIGHTS, MANAGER
from tests.bot.fake_discord import EPHEMERAL, button, custom_ids, iter_buttons
from tests.bot.harness import BotHarness

NAMED = (
    "Analyst Dylan Patel keeps saying that packaging capacity, memory bandwidth, power delivery, cooling, "
    "export licences, substrate supply, yield learning, test time and wafer allocation decide every accelerator "
    "roadmap long before any benchmark does, whatever the keynote slides promise about next year."
)

# -- 1. every failure reaches the user -----------------------------------------------------------


async def test_a_query_of_only_spaces_is_answered_at_once_and_privately(harness: BotHarness) -> None:
    exchange = await harness.slash(ALICE, "insight search", query="  \u200b  ")

    assert exchange.callback_type == 4, "refused before deferring: no 'thinking…' that could vanish"
    assert int(exchange.callback.json["data"]["flags"]) & EPHEMERAL
    assert "The query is empty" in exchange.text


async def test_a_manager_command_by_a_member_is_refused_before_any_thinking(harness: BotHarness) -> None:
    exchange = await harness.slash(ALICE, "insight add", text="An insight nobody may add.")

    assert exchange.callback_type == 4 and exchange.ephemeral
    assert "Manage Server" in exchange.text


async def test_a_store_failure_after_a_public_defer_arrives_where_follow_ups_are_refused(
    harness: BotHarness, seeded_store: InsightStore
) -> None:
    """The fake answers a follow-up after a deleted deferred original with 10008, as Discord has;
    the old reply path (delete, then a private follow-up) lost the message there."""

    async def broken(_insight_id: str) -> None:
        raise RuntimeError("boom")

    seeded_store.related = broken  # type: ignore[method-assign]
    exchange = await harness.slash(ALICE, "insight related", id=insight_id(LAUNCH_INSIGHTS[0]))

    assert all(request.status < 400 for request in exchange.requests), exchange.dump()
    assert harness.fake.messages[int(exchange.last_message["id"])]["content"].startswith("Sorry, something went wrong")


# -- 2. weak matches and short lists say so ------------------------------------------------------


async def test_a_short_result_list_says_only_so_many_are_close_enough(harness: BotHarness, seeded_store: InsightStore) -> None:
    found = len((await seeded_store.search("orbital launch cadence", 10)).hits)
    assert 1 < found < 10

    exchange = await harness.slash(ALICE, "insight search", query="orbital launch cadence", count=10)

    assert f"Only {found} insights are close enough (you asked for 10)." in exchange.last["content"]


async def test_a_full_result_list_says_nothing_about_it(harness: BotHarness) -> None:
    exchange = await harness.slash(ALICE, "insight search", query="orbital launch cadence", count=3)

    assert "close enough" not in exchange.last["content"]
    assert "weak match" not in exchange.text


async def test_a_match_kept_only_by_its_name_is_marked_weak(harness: BotHarness, seeded_store: InsightStore) -> None:
    await seeded_store.add_insight(NAMED)
    result = await seeded_store.search("Dylan Patel", 5)
    [hit] = result.hits
    assert hit.score < seeded_store.settings.min_score and hit.matched_terms, "the premise: a weak hit kept by the name"

    exchange = await harness.slash(ALICE, "insight search", query="Dylan Patel")

    [embed] = exchange.last["embeds"]
    assert embed["title"] == "1. Insight (weak match)"
    assert embed["description"].startswith("-# A weak match, found by the name “Dylan Patel”; its meaning is not close.")
    assert "Only 1 insight is close enough" in exchange.last["content"]


# -- 3. words where an id is expected ------------------------------------------------------------


async def _save(store: InsightStore, person_id: int, *texts: str) -> None:
    for text in texts:
        await store.saved.save(str(person_id), insight_id(text))


async def test_saved_remove_with_typed_words_offers_the_match_and_removes_it_on_confirmation(
    harness: BotHarness, seeded_store: InsightStore
) -> None:
    """Before: "That insight is not on your saved list." while it was."""
    await _save(seeded_store, ALICE.id, *LAUNCH_INSIGHTS[:3])

    asked = await harness.slash(ALICE, "saved remove", item="Rocket Lab cadence")

    assert asked.ephemeral
    assert "not on your saved list" not in asked.text
    shown = asked.last_message
    assert "Remove this from your saved list?" in asked.text and LAUNCH_INSIGHTS[1] in asked.text
    assert custom_ids(shown) == [f"ir:unsave:{insight_id(LAUNCH_INSIGHTS[1])}"]
    assert await seeded_store.saved.count(str(ALICE.id)) == 3, "nothing is removed before the click"

    confirmed = await harness.click(ALICE, shown, custom_ids(shown)[0])

    assert confirmed.callback_type == 6
    assert harness.fake.messages[int(shown["id"])]["content"] == "Removed from your saved list."
    assert harness.fake.messages[int(shown["id"])]["components"] == [], "the question cannot be answered twice"
    assert {item.insight_id for item in await seeded_store.saved.all_items(str(ALICE.id))} == {
        insight_id(LAUNCH_INSIGHTS[0]),
        insight_id(LAUNCH_INSIGHTS[2]),
    }


async def test_saved_remove_with_words_matching_several_offers_them_best_first(
    harness: BotHarness, seeded_store: InsightStore
) -> None:
    await _save(seeded_store, ALICE.id, *LAUNCH_INSIGHTS[:4])

    asked = await harness.slash(ALICE, "saved remove", item="reusable boosters")

    labels = [component["label"] for component in iter_buttons(asked.last_message)]
    assert labels == ["Remove 1", "Remove 2", "Remove 3"]
    assert "Remove which one?" in asked.text


async def test_saved_remove_with_words_matching_nothing_says_pick_from_the_list(
    harness: BotHarness, seeded_store: InsightStore
) -> None:
    await _save(seeded_store, ALICE.id, LAUNCH_INSIGHTS[0])

    refused = await harness.slash(ALICE, "saved remove", item="chip design cycle")

    assert refused.ephemeral
    assert refused.text == (
        "Nothing on your saved list contains “chip design cycle”: pick an item from the list as you type, or see `/saved list`."
    )
    assert await seeded_store.saved.count(str(ALICE.id)) == 1


async def test_saved_remove_with_a_broken_id_is_refused_before_deferring(harness: BotHarness) -> None:
    refused = await harness.slash(ALICE, "saved remove", item="0123456789abcde")

    assert refused.callback_type == 4 and refused.ephemeral
    assert "is not an insight id" in refused.text and "pick an item from the list" in refused.text


# -- 4 and 5. the digest ------------------------------------------------------------------------


async def test_digest_set_up_after_its_time_first_posts_tomorrow_and_says_so(
    harness: BotHarness, seeded_store: InsightStore
) -> None:
    """Before: set up at 12:00 with the default 08:00, today's digest was posted within a beat."""
    from tests.bot.fake_discord import CHANNEL_ID, text_channel
    from tests.bot.test_digest_commands import START, Clock, _cog, _digest_posts

    noon = START.replace(hour=12)
    clock = Clock(noon)
    seeded_store.digests.clock = clock
    tomorrow_eight = noon.replace(hour=8) + timedelta(days=1)

    exchange = await harness.slash(MANAGER, "digest channel", channel=text_channel())

    assert f"The first post: <t:{int(tomorrow_eight.timestamp())}:F>" in exchange.text
    assert await _cog(harness).post_due_digests() == 0
    assert _digest_posts(harness) == []
    clock.now = tomorrow_eight - timedelta(minutes=1)
    assert await _cog(harness).post_due_digests() == 0
    clock.now = tomorrow_eight
    assert await _cog(harness).post_due_digests() == 1
    assert [post["channel_id"] for post in _digest_posts(harness)] == [str(CHANNEL_ID)]


async def test_digest_now_after_off_says_it_is_off_and_how_to_turn_it_on(harness: BotHarness) -> None:
    """Before: "Set a channel first with /digest channel." while the channel was set."""
    from tests.bot.fake_discord import text_channel

    await harness.slash(MANAGER, "digest channel", channel=text_channel())
    off = await harness.slash(MANAGER, "digest off")
    now = await harness.slash(MANAGER, "digest now")
    status = await harness.slash(MANAGER, "digest status")

    assert off.text == "The daily digest is off. `/digest channel` turns it on again."
    assert "Set a channel first" not in now.text
    assert now.text.startswith("The daily digest is off (turned off with `/digest off`): `/digest channel` turns it on again")
    assert "State: off, turned off with `/digest off`" in status.text
    assert "Problem" not in status.text, "a deliberate off is a state, not a problem"


# -- 6. smaller ---------------------------------------------------------------------------------


async def test_adding_an_insight_that_is_already_there_says_so(harness: BotHarness) -> None:
    """Before: "added 0, merged 1" and no word that it was already there."""
    first = await harness.slash(MANAGER, "insight add", text="Idle GPUs are the most expensive line item nobody budgets for.")
    again = await harness.slash(MANAGER, "insight add", text="Idle GPUs are the most expensive line item nobody budgets for.")

    assert first.last["embeds"][0]["title"] == "Added by hand" and "already" not in first.text
    assert again.last["embeds"][0]["title"] == "Already there"
    assert again.text.count("This insight was already in the store") == 1


async def test_page_buttons_after_a_restart(settings: Settings, seeded_store: InsightStore) -> None:
    """Before: after a restart, Previous/Next on an old pager got "This interaction failed" (no
    view answered them). Now the saved list turns (its state is the custom id) and a search says
    plainly that it has expired, taking its page buttons off and keeping the Save buttons."""
    await _save(seeded_store, ALICE.id, *LAUNCH_INSIGHTS)
    before = BotHarness(settings)
    await before.start(seeded_store)
    search = (await before.slash(ALICE, "insight search", query="orbital launch costs", count=7)).last_message
    saved = (await before.slash(ALICE, "saved list")).last_message
    await before.close()

    after = BotHarness(settings, fake=before.fake)
    await after.start(seeded_store)
    try:
        turned = await after.click(ALICE, saved, button(saved, "Next")["custom_id"])
        expired = await after.click(ALICE, search, button(search, "Next")["custom_id"])
        refused = await after.click(BOB, saved, button(saved, "Next")["custom_id"])
    finally:
        await after.close()

    assert after.fake.messages[int(saved["id"])]["embeds"][0]["footer"]["text"] == "page 2 of 2 · 7 saved"
    assert turned.callback_type == 6
    assert expired.callback_type == 7, "the page buttons are taken off through the click itself"
    left = [component["label"] for component in iter_buttons(after.fake.messages[int(search["id"])])]
    assert left == ["Save 1", "Save 2", "Save 3"]
    assert EXPIRED in expired.text and int(expired.sent[-1]["flags"]) & EPHEMERAL
    assert "someone else's saved list" in refused.text


def test_the_search_memory_is_bounded_and_keeps_what_is_still_being_paged() -> None:
    from bot.exts.insights._pager import RememberedSearch, SearchMemory

    memory = SearchMemory(capacity=2)
    searches = [RememberedSearch(ALICE.id, f"query {number}", (), 5, 0.28) for number in range(3)]
    first = memory.remember(searches[0])
    second = memory.remember(searches[1])
    assert memory.recall(first) is searches[0]  # paged just now: the most recent again
    third = memory.remember(searches[2])

    assert memory.recall(second) is None, "the least recently used went"
    assert memory.recall(first) is searches[0] and memory.recall(third) is searches[2]
