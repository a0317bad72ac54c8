"""Opening the SQL database once at start-up, with the settings each dialect needs to be safe under
concurrent use, and creating the schema (including the dialect's lexical index) if it is missing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from store import sql_dialect
from store.errors import StoreUnavailable
from store.outages import is_outage
from store.schema import SCHEMA_VERSION, metadata, schema_info

SQLITE_BUSY_TIMEOUT_MS = 15_000


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _configure_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers go on while one writer commits; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
    # SQLite's own lower() folds ASCII only, so "école" would not find "École"; Python's folds all
    # of Unicode, the same as PostgreSQL's, which keeps searches alike on both databases.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


async def initialise(engine: AsyncEngine) -> None:
    """Creates what is missing and records the schema version, so that a later release can tell
    which upgrade steps an existing database needs."""
    try:
        async with engine.begin() as connection:
            await sql_dialect.lock_schema(connection)
            await connection.run_sync(metadata.create_all)
            await _create_lexical_index(connection)
            current = (await connection.execute(select(schema_info.c.value).where(schema_info.c.key == "version"))).scalar()
            if current is None:
                await connection.execute(schema_info.insert().values(key="version", value=str(SCHEMA_VERSION)))
            elif int(current) > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"the database was written by a newer insight-recall (schema {current}, this one knows {SCHEMA_VERSION}): upgrade insight-recall"
                )
    except Exception as error:
        if not is_outage(error):
            raise
        # The driver's text can carry the URL with its password, so only its kind is shown.
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise StoreUnavailable(
            f"cannot open the database ({reason}): check INSIGHT_DATABASE_URL and that the database server is running"
        ) from error


async def _create_lexical_index(connection: AsyncConnection) -> None:
    try:
        index = sql_dialect.lexical_index(connection)
    except sql_dialect.UnsupportedDatabase as error:
        raise StoreUnavailable(str(error)) from None
    await index.create(connection)
