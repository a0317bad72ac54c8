"""Fixtures for the Discord layer: a started bot on the fake Discord, and the store seeded with
insights whose wording the tests control (the fake embedder ranks by shared words)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from config.settings import Settings
from store.service import InsightStore
from tests.bot.fake_discord import MANAGE_GUILD, MEMBER_PERMISSIONS, Person
from tests.bot.harness import BotHarness
from tests.conftest import open_test_store
from tests.fakes import FakeEmbedder

ALICE = Person(1500000000000000001, "alice")
BOB = Person(1500000000000000002, "bob")
MANAGER = Person(1500000000000000003, "mina", permissions=MEMBER_PERMISSIONS | MANAGE_GUILD)

# Seven insights sharing "orbital launch" so that one query finds them all (three pages of three).
LAUNCH_INSIGHTS = [
    f"Orbital launch costs fell again in year {year}: reusable boosters make orbital launch cadence the real moat for {company}."
    for year, company in zip(
        range(2018, 2025), ["SpaceX", "Rocket Lab", "Relativity", "Blue Origin", "Firefly", "Stoke", "ABL"], strict=True
    )
]
LAUNCH_RELATED = "Satellite constellations need cheap orbital launch capacity more than they need better satellites."


@pytest.fixture(params=["persistent", "memory"])
async def store(request: pytest.FixtureRequest, settings: Settings, fake_embedder: FakeEmbedder) -> AsyncIterator[InsightStore]:
    """The Discord layer's tests need a real store, not every storage back end: those are the
    store suite's business, and running the bot over each of them only multiplies the time."""
    async with await open_test_store(request.param, request, settings, fake_embedder) as opened:
        yield opened


@pytest.fixture
async def seeded_store(store: InsightStore) -> InsightStore:
    await store.add_insight(LAUNCH_INSIGHTS[0], [LAUNCH_RELATED])
    for text in LAUNCH_INSIGHTS[1:]:
        await store.add_insight(text)
    return store


@pytest.fixture
async def harness(settings: Settings, seeded_store: InsightStore) -> AsyncIterator[BotHarness]:
    started = BotHarness(settings)
    await started.start(seeded_store)
    try:
        yield started
    finally:
        await started.close()
