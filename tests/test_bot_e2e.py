"""The real `insight-recall run` process against a local stand-in for Discord: it connects, syncs
its commands, answers /insight search, a Save click lands in the database, nothing it sends pings
anyone, the token never shows in its output, and SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config.settings import Settings
from tests.bot.fake_discord import BOT_TOKEN, GUILD_ID, Person, command_payload, component_payload, custom_ids, snowflake
from tests.conftest import REPO_ROOT
from tests.discord_standin import DiscordStandIn, free_port

LISTENER = Person(1500000000000000042, "listener")
START_TIMEOUT = 90.0


def _environment(standin: DiscordStandIn | None, data_dir: Path, token: str | None = BOT_TOKEN) -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("INSIGHT_")}
    environment |= {"INSIGHT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    if token is not None:
        environment["INSIGHT_DISCORD_TOKEN"] = token
    if standin is not None:
        environment["INSIGHT_DISCORD_API_BASE"] = standin.api_base
        environment["INSIGHT_DEV_GUILD_ID"] = str(GUILD_ID)
    return environment


def _cli(*args: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=180
    )


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    server = DiscordStandIn()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.mark.model
async def test_the_bot_process_end_to_end(standin: DiscordStandIn, tmp_path: Path, shared_briefs: Path) -> None:
    data_dir = tmp_path / "data"
    environment = _environment(standin, data_dir)
    filled = await asyncio.to_thread(_cli, "ingest", str(shared_briefs), "--json", environment=environment)
    assert json.loads(filled.stdout)["added"] == 21, filled.stderr

    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        await standin.wait_for(lambda: standin.identifies, START_TIMEOUT, "IDENTIFY")
        assert standin.identifies[0]["token"] == BOT_TOKEN
        # What discord.py asks of the gateway; the stand-in then compresses every frame as Discord does.
        assert standin.gateway_queries[0] == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
        synced = await standin.wait_for(
            lambda: [r for r in standin.requests if r.method == "PUT" and r.path.endswith(f"/guilds/{GUILD_ID}/commands")],
            START_TIMEOUT,
            "the command sync to the development guild",
        )
        assert "insight" in {command["name"] for command in synced[0].json}
        assert not [
            r for r in standin.requests if r.method == "PUT" and r.path.endswith("/commands") and "/guilds/" not in r.path
        ]

        # The model may still be loading: ask until the answer is a real one, as a person would.
        reply = None
        for _attempt in range(60):
            token = f"search-{snowflake()}"
            payload = command_payload(token, snowflake(), LISTENER, ("insight", "search"), {"query": "custom AI chips"})
            payload["data"]["guild_id"] = str(GUILD_ID)  # Discord names the guild of a guild-registered command
            await standin.dispatch_interaction(payload)
            await standin.wait_for(
                lambda token=token: [r for r in standin.fake.for_token(token) if r.is_webhook() or r.is_callback()],
                30,
                "an answer",
            )
            await asyncio.sleep(0.5)
            answers = [r for r in standin.fake.for_token(token) if r.message_payload and r.message_payload.get("embeds")]
            if answers:
                reply = answers[-1]
                break
            await asyncio.sleep(1)
        assert reply is not None, "the bot never answered the search with results"
        assert reply.message_payload["allowed_mentions"] == {"parse": []}
        callbacks = [r for r in standin.fake.for_token(token) if r.is_callback()]
        assert callbacks[0].json["type"] == 5, "a search must be deferred first"

        message = standin.fake.messages[standin.fake.interactions[token].original_id]
        save_id = next(custom_id for custom_id in custom_ids(message) if custom_id.startswith("ir:save:"))
        click_token = f"click-{snowflake()}"
        await standin.dispatch_interaction(
            component_payload(click_token, snowflake(), LISTENER, message, save_id), message_id=int(message["id"])
        )
        await standin.wait_for(
            lambda: [r for r in standin.fake.for_token(click_token) if r.is_callback()], 30, "the Save click's answer"
        )

        # An error after the public "thinking…" is written into that message: the stand-in, like
        # Discord at times, refuses a follow-up once the deferred original is deleted (10008).
        unknown_token = f"unknown-{snowflake()}"
        payload = command_payload(unknown_token, snowflake(), LISTENER, ("insight", "related"), {"id": "0123456789abcdef"})
        payload["data"]["guild_id"] = str(GUILD_ID)
        await standin.dispatch_interaction(payload)
        edit = await standin.wait_for(
            lambda: [r for r in standin.fake.for_token(unknown_token) if r.method == "PATCH" and r.status == 200],
            30,
            "the error written into the thinking message",
        )
        assert "No insight has the id '0123456789abcdef'" in edit[0].json["content"]
        assert not [r for r in standin.fake.for_token(unknown_token) if r.status >= 400]
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.to_thread(process.communicate, timeout=60)

    assert process.returncode == 0, stderr[-3000:]
    assert standin.gateway_closes == [1000], "SIGTERM must close the gateway cleanly"
    assert BOT_TOKEN not in stdout and BOT_TOKEN not in stderr
    assert "command insight search by user" in stderr

    saved = await asyncio.to_thread(
        _cli, "saved", "list", "--user", str(LISTENER.id), "--json", environment=_environment(None, data_dir)
    )
    assert [item["id"] for item in json.loads(saved.stdout)["items"]] == [save_id.removeprefix("ir:save:")]


def test_a_missing_token_stops_with_one_clear_line(tmp_path: Path) -> None:
    finished = _cli("run", environment=_environment(None, tmp_path / "data", token=None))
    assert finished.returncode == 2
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1 and "INSIGHT_DISCORD_TOKEN" in lines[0]
    assert "Traceback" not in finished.stderr
    assert not (tmp_path / "data").exists(), "nothing may load or be created before the token is checked"


def test_a_malformed_token_stops_without_echoing_it(tmp_path: Path) -> None:
    secret = "definitely-not-a-token-but-secret"
    finished = _cli("run", environment=_environment(None, tmp_path / "data", token=secret))
    assert finished.returncode == 2
    assert "INSIGHT_DISCORD_TOKEN" in finished.stderr
    assert secret not in finished.stderr + finished.stdout
    assert len(finished.stderr.strip().splitlines()) == 1


async def test_sync_commands_registers_in_one_guild(standin: DiscordStandIn, tmp_path: Path) -> None:
    environment = _environment(standin, tmp_path / "data")
    finished = await asyncio.to_thread(_cli, "sync-commands", "--guild", str(GUILD_ID), "--json", environment=environment)
    assert finished.returncode == 0, finished.stderr
    answer = json.loads(finished.stdout)
    assert answer["guild"] == GUILD_ID and answer["synced"] >= 2
    puts = [r for r in standin.requests if r.method == "PUT" and r.path.endswith("/commands")]
    assert [r.path.split("/guilds/")[-1] for r in puts] == [f"{GUILD_ID}/commands"]
    assert BOT_TOKEN not in finished.stderr


def test_the_redactor_hides_the_token_in_any_record() -> None:
    import logging

    from bot.runner import TokenRedactor

    record = logging.LogRecord("discord.http", logging.INFO, __file__, 1, "sent %s to %s", (BOT_TOKEN, "gateway"), None)
    TokenRedactor(BOT_TOKEN).filter(record)
    assert BOT_TOKEN not in record.getMessage() and "[token]" in record.getMessage()


@pytest.mark.model
async def test_a_failing_start_up_logs_neither_the_token_nor_the_database_password(
    standin: DiscordStandIn, tmp_path: Path
) -> None:
    environment = _environment(standin, tmp_path / "data")
    environment["INSIGHT_DATABASE_URL"] = "postgresql+asyncpg://bot:pa55-w0rd-secret@127.0.0.1:9/insights"
    environment["INSIGHT_LOG_LEVEL"] = "DEBUG"
    finished = await asyncio.to_thread(_cli, "-v", "run", environment=environment)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 1, output[-2000:]
    assert "cannot open the insight store" in output
    assert BOT_TOKEN not in output
    assert "pa55-w0rd-secret" not in output


def test_the_redactor_also_hides_the_token_in_a_traceback() -> None:
    import logging

    from bot.runner import TokenRedactor

    try:
        raise RuntimeError(f"request failed with Authorization: Bot {BOT_TOKEN}")
    except RuntimeError:
        record = logging.LogRecord("discord.client", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    TokenRedactor(BOT_TOKEN).filter(record)
    formatted = logging.Formatter().format(record)
    assert "RuntimeError" in formatted and BOT_TOKEN not in formatted


@pytest.mark.parametrize("sharded", [False, True], ids=["client", "auto-sharded"])
async def test_both_client_kinds_connect_to_the_configured_gateway(
    standin: DiscordStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sharded: bool
) -> None:
    """The plain client connects to DEFAULT_GATEWAY and the sharded one to what /gateway/bot says;
    with a non-default API base both must end up at the stand-in, not at gateway.discord.gg."""
    import discord

    from bot.client import create_bot
    from bot.runner import point_at_api, stop_gateway

    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    settings = Settings(data_dir=tmp_path / "data", discord_token=BOT_TOKEN, discord_api_base=standin.api_base, sharded=sharded)
    await point_at_api(settings, BOT_TOKEN)
    bot = create_bot(settings)
    running = asyncio.create_task(bot.start(BOT_TOKEN))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 30)
        assert bot.get_guild(GUILD_ID) is not None
    finally:
        await stop_gateway(running)
        await bot.close()
    await standin.wait_for(lambda: standin.gateway_closes, 5, "the gateway to close")
    assert standin.gateway_closes == [1000], "the runner's shutdown must close the gateway cleanly"
    assert [identify["token"] for identify in standin.identifies] == [BOT_TOKEN]
    assert standin.identifies[0].get("shard") == ([0, 1] if sharded else None)
    assert [r.path for r in standin.requests if r.path == "/gateway/bot"], "the gateway URL must come from the configured API"


def test_a_rejected_token_stops_with_one_clear_line(tmp_path: Path) -> None:
    async def scenario() -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        server = DiscordStandIn(reject_token=True)
        await server.start()
        try:
            environment = _environment(server, tmp_path / "data")
            ran = await asyncio.to_thread(_cli, "run", environment=environment)
            synced = await asyncio.to_thread(_cli, "sync-commands", "--guild", str(GUILD_ID), environment=environment)
            return ran, synced
        finally:
            await server.stop()

    for finished in asyncio.run(scenario()):
        assert finished.returncode == 1, finished.stderr[-2000:]
        assert (
            finished.stderr.strip().splitlines()[-1]
            == "error: Discord rejected the token (401): reset it in the developer portal"
        )
        assert "Traceback" not in finished.stderr
        assert BOT_TOKEN not in finished.stdout + finished.stderr


def test_an_unreachable_api_base_stops_with_one_clear_line(tmp_path: Path) -> None:
    environment = _environment(None, tmp_path / "data")
    environment["INSIGHT_DISCORD_API_BASE"] = f"http://127.0.0.1:{free_port()}/api/v10"
    finished = _cli("run", environment=environment)
    assert finished.returncode == 1
    assert finished.stderr.strip().splitlines() == [
        f"error: cannot reach the Discord API at {environment['INSIGHT_DISCORD_API_BASE']}: ClientConnectorError"
    ]
    assert BOT_TOKEN not in finished.stdout + finished.stderr
