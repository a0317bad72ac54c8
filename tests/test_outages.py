"""One translation for every outage: ingest, saves and digests on a locked database all say the
same "try again shortly", and only outages are translated, never bugs."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

import store.database
from config.settings import Settings
from store.errors import InvalidInput, StoreUnavailable
from store.outages import UNAVAILABLE, is_outage, outage_boundary, translate_outages
from store.service import InsightStore
from store.text import insight_id
from tests.fakes import FakeEmbedder

SAVED = "Locked databases unlock again."


async def test_every_write_on_a_locked_database_gets_the_one_message(
    settings: Settings, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store.database, "SQLITE_BUSY_TIMEOUT_MS", 300)
    async with await InsightStore.open(settings, fake_embedder) as opened:
        await opened.add_insight(SAVED)
        attempts: dict[str, Callable[[], Awaitable[object]]] = {
            "ingest": lambda: opened.add_insight("Another insight, written while the lock is held."),
            "upload": lambda: opened.ingest_bytes(b"A brief uploaded while the lock is held.", "brief.txt"),
            "save": lambda: opened.saved.save("42", insight_id(SAVED)),
            "digest": lambda: opened.digests.configure_channel("900", "901"),
        }
        blocker = sqlite3.connect(settings.data_dir / "insight-recall.db", timeout=1)
        blocker.execute("BEGIN EXCLUSIVE")
        messages: dict[str, str] = {}
        try:
            for name, attempt in attempts.items():
                with pytest.raises(StoreUnavailable) as raised:
                    await attempt()
                messages[name] = str(raised.value)
        finally:
            blocker.rollback()
            blocker.close()
        assert messages == dict.fromkeys(attempts, UNAVAILABLE)
        assert await opened.saved.save("42", insight_id(SAVED)), "works again once the lock is gone"


def _driver_error(kind: type[DBAPIError], invalidated: bool = False) -> DBAPIError:
    return kind("SELECT 1", {}, sqlite3.Error("driver text naming db.internal:5432"), connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (_driver_error(OperationalError), True),
        (_driver_error(DBAPIError, invalidated=True), True),
        (_driver_error(IntegrityError), False),
        (_driver_error(ProgrammingError), False),
        (httpx.ConnectError("refused"), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (InvalidInput("empty"), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_outages_are_translated(error: Exception, outage: bool) -> None:
    assert is_outage(error) is outage
    with pytest.raises(StoreUnavailable if outage else type(error)) as raised, outage_boundary("test"):
        raise error
    if outage:
        assert str(raised.value) == UNAVAILABLE and "db.internal" not in str(raised.value)


async def test_the_decorator_and_the_async_form_translate_alike() -> None:
    @translate_outages
    async def unreachable() -> None:
        raise _driver_error(OperationalError)

    with pytest.raises(StoreUnavailable, match="try again shortly"):
        await unreachable()
    with pytest.raises(StoreUnavailable, match="try again shortly"):
        async with outage_boundary("test"):
            raise httpx.ReadTimeout("slow")
