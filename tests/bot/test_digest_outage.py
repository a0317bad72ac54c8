"""A database outage during /digest reads as one during /insight search does: "try again
shortly", logged as an outage, not the apology for a bug."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.errors import APOLOGY
from store.service import InsightStore
from tests.bot.conftest import MANAGER
from tests.bot.harness import BotHarness


class _UnreachableEngine:
    """Stands in for the engine while the database is away: every connection attempt fails the
    way the driver fails when the file is locked or the server is gone."""

    def __init__(self, real: Any) -> None:
        self.dialect = real.dialect

    def _fail(self) -> Any:
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))

    def connect(self) -> Any:
        return self._fail()

    def begin(self) -> Any:
        return self._fail()


@pytest.mark.parametrize("command", ["digest status", "digest preview", "digest now", "digest off"])
async def test_an_outage_during_a_digest_command_says_try_again_shortly(
    harness: BotHarness, seeded_store: InsightStore, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    exchange = await harness.slash(MANAGER, "digest status")
    assert "try again" not in exchange.text
    digests = seeded_store.digests
    monkeypatch.setattr(digests, "_engine", _UnreachableEngine(digests._engine))
    monkeypatch.setattr(digests._selector, "_engine", _UnreachableEngine(digests._engine))
    exchange = await harness.slash(MANAGER, command)
    assert exchange.text != APOLOGY
    assert "try again shortly" in exchange.text, exchange.text
