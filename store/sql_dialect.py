"""The one seam between SQLite and PostgreSQL: every statement that is written differently for the
two databases is chosen here, so a fix to one of them lands once.

Insert-ignore and upserts (both dialects' ``insert`` carry ``on_conflict_*``), the lock that lets
processes create the schema in turn, and date arithmetic. The lexical index (FTS5 on SQLite, a
tsvector on PostgreSQL) is created in store.database and written and read in store.repository.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, Table, cast, func, literal, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
SCHEMA_LOCK_KEY = 0x1A51647  # any fixed number; it only has to be the same in every process


def name_of(bind: AsyncEngine | AsyncConnection) -> str:
    """ "sqlite" or "postgresql"."""
    return bind.dialect.name


def insert(bind: AsyncEngine | AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT, which (unlike the generic one) can say what to do on a conflict. Typed
    Any because SQLAlchemy's two Insert classes share no base that declares ``on_conflict_*``."""
    return (postgresql.insert if name_of(bind) == POSTGRESQL else sqlite.insert)(table)


def insert_ignoring_existing(bind: AsyncEngine | AsyncConnection, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING: rows already there (from this or another process) stay."""
    return insert(bind, table).on_conflict_do_nothing()


async def lock_schema(connection: AsyncConnection) -> None:
    """Two processes starting at once on a fresh PostgreSQL database would both CREATE TABLE and the
    loser would fail; a transaction-scoped advisory lock makes them take turns. SQLite's writer lock
    already does."""
    if name_of(connection) == POSTGRESQL:
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})


def days_between(dialect: str, now: datetime, column: Any) -> ColumnElement[Any]:
    """Days from ``column`` (a UTC timestamp) to ``now``, computed by the database so that no
    datetime is built per row in Python."""
    if dialect == SQLITE:
        # SQLite stores these as UTC text without an offset; julianday reads that format.
        stamp = now.replace(tzinfo=None).isoformat(sep=" ")
        result: ColumnElement[Any] = func.julianday(literal(stamp)) - func.julianday(column)
        return result
    return cast(func.extract("epoch", literal(now, DateTime(timezone=True)) - column), Float) / 86400.0
