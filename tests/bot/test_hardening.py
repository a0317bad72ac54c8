"""Input anyone can type, and a gateway that reconnects: clear private answers, nothing doubled."""

from __future__ import annotations

import asyncio

import pytest

from tests.bot.conftest import ALICE
from tests.bot.fake_discord import EPHEMERAL
from tests.bot.harness import BotHarness


@pytest.mark.parametrize("query", ["", "   ", "why " * 1500])
async def test_an_empty_or_6000_character_query_gets_a_private_explanation(harness: BotHarness, query: str) -> None:
    exchange = await harness.slash(ALICE, "insight search", query=query)
    assert int(exchange.last_message["flags"]) & EPHEMERAL
    assert "query" in exchange.text.lower() or "1000" in exchange.text
    assert "Traceback" not in exchange.text


@pytest.mark.parametrize("insight_id", ["0123456789abcde", "   ", "0123456789abcdef0"])
async def test_malformed_ids_are_refused_privately_before_any_thinking(harness: BotHarness, insight_id: str) -> None:
    exchange = await harness.slash(ALICE, "insight related", id=insight_id)
    assert exchange.callback_type == 4, "answered at once: no store call can make it right"
    assert int(exchange.last_message["flags"]) & EPHEMERAL
    assert "insight" in exchange.text.lower() and "pick an item from the list" in exchange.text
    assert "Traceback" not in exchange.text


@pytest.mark.parametrize("typed", ["not-an-id", "<@&123> zebra"])
async def test_words_typed_for_an_id_get_a_truthful_answer_that_arrives(harness: BotHarness, typed: str) -> None:
    exchange = await harness.slash(ALICE, "insight related", id=typed)
    shown = harness.fake.messages[int(exchange.last_message["id"])]
    assert "is not an id from the list" in shown["content"] or "No insight matches" in shown["content"]
    assert "<@&123>" not in shown["content"], "what was typed is shown with its mention broken"
    assert "Traceback" not in exchange.text


async def test_a_second_ready_starts_no_second_loop_and_registers_nothing_twice(harness: BotHarness) -> None:
    bot = harness.bot
    loops_before = [task for task in asyncio.all_tasks() if task.get_name().startswith("discord-ext-tasks:")]
    dynamic_before = dict(bot._connection._view_store._dynamic_items)
    for _ in range(2):
        bot.dispatch("ready")
        bot.dispatch("resumed")
    await asyncio.sleep(0.05)
    loops_after = [task for task in asyncio.all_tasks() if task.get_name().startswith("discord-ext-tasks:")]
    names = sorted(task.get_name() for task in loops_after)
    assert names == sorted(task.get_name() for task in loops_before)
    assert names == ["discord-ext-tasks: DigestCog.scheduler", "discord-ext-tasks: UpkeepCog.index_repair"], names
    assert dict(bot._connection._view_store._dynamic_items) == dynamic_before
