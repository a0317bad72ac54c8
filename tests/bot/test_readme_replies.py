"""The README's table of replies is what the bot sends: each row is driven through the bot and the
quoted reply compared with what arrived ("…" in a quote stands for a part that varies)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest

from store.errors import StoreUnavailable
from store.service import InsightStore
from store.text import insight_id
from tests.bot.conftest import ALICE, BOB, LAUNCH_INSIGHTS, MANAGER
from tests.bot.fake_discord import button, text_channel
from tests.bot.harness import BotHarness, Exchange
from tests.bot.test_truthful_replies import NAMED
from tests.conftest import REPO_ROOT

Scenario = Callable[[BotHarness, InsightStore], Awaitable[str]]


def readme_replies() -> dict[str, str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| when | the reply |") :].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines()[2:]:
        when, reply = (cell.strip() for cell in line.strip("|").split(" | "))
        rows[when] = reply.removeprefix('"').removesuffix('"')
    return rows


def shown(harness: BotHarness, exchange: Exchange) -> str:
    """What the person sees at the end: the message as Discord holds it, or the last one sent."""
    message = harness.fake.messages.get(int(exchange.last_message["id"]))
    texts = [exchange.text] if message is None else [exchange.text, message.get("content") or ""]
    return "\n".join(texts)


async def _spaces(harness: BotHarness, _store: InsightStore) -> str:
    return (await harness.slash(ALICE, "insight search", query="   ")).text


async def _broken_id(harness: BotHarness, _store: InsightStore) -> str:
    return (await harness.slash(ALICE, "insight related", id="0123abc456")).text


async def _unknown_id(harness: BotHarness, _store: InsightStore) -> str:
    return shown(harness, await harness.slash(ALICE, "insight related", id="0123456789abcdef"))


async def _related_words(harness: BotHarness, _store: InsightStore) -> str:
    return shown(harness, await harness.slash(ALICE, "insight related", id="chip design"))


async def _remove_words(harness: BotHarness, store: InsightStore) -> str:
    await store.saved.save(str(ALICE.id), insight_id(LAUNCH_INSIGHTS[0]))
    return (await harness.slash(ALICE, "saved remove", item="chip design cycle")).text


async def _remove_unsaved(harness: BotHarness, _store: InsightStore) -> str:
    return (await harness.slash(ALICE, "saved remove", item=insight_id(LAUNCH_INSIGHTS[0]))).text


async def _short_list(harness: BotHarness, store: InsightStore) -> str:
    await store.add_insight("Mail crossed the Atlantic by zeppelin airship before aircraft could carry it.")
    await store.add_insight("A zeppelin airship needs a hangar larger than the ship itself.")
    return (await harness.slash(ALICE, "insight search", query="zeppelin airship", count=10)).text


async def _weak(harness: BotHarness, store: InsightStore) -> str:
    await store.add_insight(NAMED)
    return (await harness.slash(ALICE, "insight search", query="Dylan Patel")).text


async def _duplicate(harness: BotHarness, _store: InsightStore) -> str:
    return (await harness.slash(MANAGER, "insight add", text=LAUNCH_INSIGHTS[0])).text


async def _expired(harness: BotHarness, store: InsightStore) -> str:
    message = (await harness.slash(ALICE, "insight search", query="orbital launch costs", count=7)).last_message
    harness.bot.get_cog("InsightsCog").searches = type(harness.bot.get_cog("InsightsCog").searches)()  # type: ignore[union-attr]
    return (await harness.click(ALICE, message, button(message, "Next")["custom_id"])).text


async def _not_yours(harness: BotHarness, _store: InsightStore) -> str:
    message = (await harness.slash(ALICE, "insight search", query="orbital launch costs", count=7)).last_message
    return (await harness.click(BOB, message, button(message, "Next")["custom_id"])).text


async def _off(harness: BotHarness, _store: InsightStore) -> str:
    await harness.slash(MANAGER, "digest channel", channel=text_channel())
    return (await harness.slash(MANAGER, "digest off")).text


async def _now_while_off(harness: BotHarness, store: InsightStore) -> str:
    await _off(harness, store)
    return (await harness.slash(MANAGER, "digest now")).text


async def _now_unset(harness: BotHarness, _store: InsightStore) -> str:
    return (await harness.slash(MANAGER, "digest now")).text


async def _down(harness: BotHarness, store: InsightStore) -> str:
    async def unreachable(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailable("the insight store is unavailable, try again shortly")

    store.search = unreachable  # type: ignore[method-assign]
    return shown(harness, await harness.slash(ALICE, "insight search", query="orbital"))


async def _bug(harness: BotHarness, store: InsightStore) -> str:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    store.stats = broken  # type: ignore[method-assign]
    return shown(harness, await harness.slash(ALICE, "insight stats"))


SCENARIOS: dict[str, Scenario] = {
    "a query of only spaces": _spaces,
    "an id that is not 16 characters of 0-9 and a-f": _broken_id,
    "an id that no insight has": _unknown_id,
    "`/insight related` with words that match nothing": _related_words,
    "`/saved remove` with words no saved item contains": _remove_words,
    "`/saved remove` with an id not on the list": _remove_unsaved,
    "fewer results than asked for": _short_list,
    "a match only by name": _weak,
    "`/insight add` of a stored insight": _duplicate,
    "a page button of a search from before a restart": _expired,
    "someone else's page buttons": _not_yours,
    "`/digest off`": _off,
    "`/digest now` while the digest is off": _now_while_off,
    "`/digest now` before any channel is set": _now_unset,
    "the store is down": _down,
    "a bug": _bug,
}


def test_every_row_of_the_readme_table_has_a_scenario() -> None:
    assert set(readme_replies()) == set(SCENARIOS)


@pytest.mark.parametrize("when", list(SCENARIOS))
async def test_the_readme_quotes_what_the_bot_sends(harness: BotHarness, seeded_store: InsightStore, when: str) -> None:
    quoted = readme_replies()[when]
    sent = await SCENARIOS[when](harness, seeded_store)

    pattern = ".*?".join(re.escape(part) for part in quoted.split("…"))
    assert re.search(pattern, sent, re.DOTALL), f"README: {quoted!r}\nbot: {sent!r}"
