"""The one error handler: known errors become a short private line, bugs an apology and a logged
traceback, and the bot carries on."""

from __future__ import annotations

import logging

import discord
import pytest
from discord import app_commands

import bot.errors
from bot.errors import APOLOGY, StoreStarting, user_message
from config.settings import Settings
from store.errors import InsightNotFound, InvalidInput, StoreUnavailable
from store.service import InsightStore
from tests.bot.conftest import ALICE, BOB
from tests.bot.fake_discord import EPHEMERAL, FakeResponse
from tests.bot.harness import BotHarness


async def test_store_unavailable_after_a_public_defer_edits_the_placeholder_itself(
    harness: BotHarness, seeded_store: InsightStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailable("the database is busy or unreachable: try again in a moment")

    monkeypatch.setattr(seeded_store, "search", unreachable)

    exchange = await harness.slash(ALICE, "insight search", query="orbital launch")

    assert "temporarily unavailable" in exchange.text
    assert "try again in a moment" in exchange.text
    assert exchange.requests[-1].route.endswith("/messages/@original") and exchange.requests[-1].method == "PATCH"
    assert not [request for request in exchange.requests if request.method == "DELETE"], "never deleted first"
    assert "temporarily unavailable" in harness.fake.messages[int(exchange.last_message["id"])]["content"]
    assert exchange.last["allowed_mentions"] == {"parse": []}


async def test_an_unexpected_error_is_logged_with_its_command_and_answered_with_an_apology(
    harness: BotHarness, seeded_store: InsightStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(seeded_store, "stats", broken)
    caplog.set_level(logging.INFO, logger="bot")

    exchange = await harness.slash(ALICE, "insight stats")

    assert exchange.text == APOLOGY
    assert "secret internal detail" not in exchange.text
    assert harness.fake.messages[int(exchange.last_message["id"])]["content"] == APOLOGY, "the thinking… message says it"
    [failure] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert "insight stats" in failure.getMessage() and str(ALICE.id) in failure.getMessage()
    assert failure.exc_info is not None and failure.exc_info[0] is RuntimeError
    assert "secret internal detail" in caplog.text, "the traceback is in the log"

    monkeypatch.undo()
    following = await harness.slash(BOB, "insight stats")
    assert following.last["embeds"][0]["title"] == "insight-recall stats", "the bot keeps handling interactions"


async def test_a_failing_reply_is_logged_not_raised(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    async def discord_down(*_args: object, **_kwargs: object) -> None:
        raise discord.DiscordServerError(FakeResponse(503), "Service Unavailable")

    monkeypatch.setattr(harness.bot.store, "stats", broken)
    monkeypatch.setattr(bot.errors, "send_notice", discord_down)

    await harness.slash(ALICE, "insight stats")

    assert "could not tell user" in caplog.text
    monkeypatch.undo()
    following = await harness.slash(BOB, "insight stats")
    assert following.last["embeds"][0]["title"] == "insight-recall stats", "still answering"


async def test_a_command_before_the_store_is_attached_says_starting_up(settings: Settings, seeded_store: InsightStore) -> None:
    harness = BotHarness(settings)
    await harness.start(store=None)
    try:
        early = await harness.slash(ALICE, "insight search", query="orbital launch")
        early_choices = await harness.autocomplete(ALICE, "insight related", focus="id", id="orbital")
        harness.bot.attach_store(seeded_store)
        assert await harness.bot.wait_for_store() is seeded_store
        later = await harness.slash(ALICE, "insight search", query="orbital launch")
    finally:
        await harness.close()

    assert early.callback_type == 4, "answered at once, not deferred"
    assert int(early.callback.json["data"]["flags"]) & EPHEMERAL
    assert "insight-recall is starting up, try again in a few seconds" in early.text
    assert early_choices.choices == []
    assert later.callback_type == 5 and "Results for" in later.text


@app_commands.command(name="some", description="A command for wrapping errors")
async def _some_command(interaction: discord.Interaction) -> None:
    """Never run; CommandInvokeError needs a command to name."""


class _Shouting(app_commands.Transformer):
    async def transform(self, interaction: discord.Interaction, value: str) -> str:  # type: ignore[override]
        return value.upper()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (app_commands.MissingPermissions(["manage_guild"]), "You need the Manage Server permission to use this command."),
        (app_commands.NoPrivateMessage(), "This command only works in a server."),
        (app_commands.CommandOnCooldown(app_commands.Cooldown(1, 30.0), 12.4), "Slow down a little: try again in 12 s."),
        (app_commands.CheckFailure(), "You cannot use this command here."),
        (
            app_commands.TransformerError("**bold** @everyone", discord.AppCommandOptionType.string, _Shouting()),
            "That value cannot be used",
        ),
        (
            app_commands.CommandInvokeError(_some_command, InsightNotFound("0123456789abcdef")),
            "No insight has the id '0123456789abcdef'",
        ),
        (app_commands.CommandInvokeError(_some_command, InvalidInput("the query is empty")), "The query is empty"),
        (StoreStarting(), "insight-recall is starting up, try again in a few seconds"),
        (app_commands.CommandNotFound("gone", []), "out of date"),
    ],
)
def test_known_errors_have_short_messages(error: Exception, expected: str) -> None:
    message = user_message(error)

    assert message is not None and expected in message
    assert "@everyone" not in message


def test_anything_else_is_a_bug() -> None:
    assert user_message(app_commands.CommandInvokeError(_some_command, KeyError("x"))) is None
    assert user_message(ValueError("x")) is None
