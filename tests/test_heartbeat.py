"""The bot's heartbeat: the gateway and the digest loop touch their files, and `insight-recall
health` fails when one of them has gone stale (and not when no bot runs)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from cli.main import cli as command_line
from config.settings import Settings
from store import heartbeat


def _health(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> tuple[int, dict[str, object]]:
    monkeypatch.setenv("INSIGHT_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(command_line, ["health", "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_no_bot_means_nothing_to_be_stale(tmp_path: Path) -> None:
    assert heartbeat.stale_parts(tmp_path) == {}


def test_a_fresh_heartbeat_is_healthy_and_a_stale_one_is_named(tmp_path: Path) -> None:
    heartbeat.beat(tmp_path, heartbeat.GATEWAY)
    heartbeat.beat(tmp_path, heartbeat.DIGEST)
    assert heartbeat.stale_parts(tmp_path) == {}
    _age(heartbeat.heartbeat_dir(tmp_path) / heartbeat.DIGEST, 301)
    assert list(heartbeat.stale_parts(tmp_path)) == ["bot digest"]
    heartbeat.stop(tmp_path, heartbeat.DIGEST)
    assert heartbeat.stale_parts(tmp_path) == {}


def test_health_fails_when_the_gateway_heartbeat_is_stale(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    heartbeat.beat(data_dir, heartbeat.GATEWAY)
    assert _health(monkeypatch, data_dir) == (0, {"ok": True, "problems": {}})
    _age(heartbeat.heartbeat_dir(data_dir) / heartbeat.GATEWAY, 121)
    code, answer = _health(monkeypatch, data_dir)
    assert code == 1 and answer["ok"] is False
    assert str(answer["problems"]["bot gateway"]).startswith("no heartbeat for 12")  # type: ignore[index]


async def test_the_gateway_beats_while_connected(tmp_path: Path) -> None:
    from bot.runner import _gateway_heartbeat

    connected = SimpleNamespace(is_ready=lambda: True, is_closed=lambda: False)
    task = asyncio.create_task(_gateway_heartbeat(connected, Settings(data_dir=tmp_path)))  # type: ignore[arg-type]
    path = heartbeat.heartbeat_dir(tmp_path) / heartbeat.GATEWAY
    for _ in range(100):
        if path.exists():
            break
        await asyncio.sleep(0.02)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert path.exists()


async def test_a_disconnected_gateway_does_not_beat(tmp_path: Path) -> None:
    from bot.runner import _gateway_heartbeat

    offline = SimpleNamespace(is_ready=lambda: False, is_closed=lambda: False)
    task = asyncio.create_task(_gateway_heartbeat(offline, Settings(data_dir=tmp_path)))  # type: ignore[arg-type]
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert not heartbeat.heartbeat_dir(tmp_path).exists()


async def test_the_digest_loop_beats_even_when_a_beat_fails(tmp_path: Path) -> None:
    from bot.exts.digest._cog import DigestCog

    cog = DigestCog.__new__(DigestCog)
    cog.bot = SimpleNamespace(settings=Settings(data_dir=tmp_path))  # type: ignore[assignment]

    async def failing() -> int:
        raise RuntimeError("the database went away")

    cog.post_due_digests = failing  # type: ignore[method-assign]
    await DigestCog.scheduler.coro(cog)
    assert (heartbeat.heartbeat_dir(tmp_path) / heartbeat.DIGEST).exists()
