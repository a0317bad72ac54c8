"""The one seam between SQLite and PostgreSQL: every statement that is written differently for the
two databases is chosen here, so a fix to one of them lands once.

Insert-ignore and upserts (both dialects' ``insert`` carry ``on_conflict_*``), the lock that lets
processes create the schema in turn, date arithmetic, and the word index (FTS5 on SQLite, a
tsvector column on PostgreSQL): how it is created, written, searched and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, Table, cast, func, literal, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement, TextClause

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


class LexicalIndex:
    """The word index, one subclass per database (FTS5 on SQLite, a generated tsvector column on
    PostgreSQL). Statements come back with their parameters, so the repository runs them in its own
    transactions."""

    async def create(self, connection: AsyncConnection) -> None:
        raise NotImplementedError

    async def write(self, connection: AsyncConnection, rows: Sequence[tuple[str, str]]) -> None:
        """(insight id, text) of new insights; nothing to do where the database derives the index."""

    async def rebuild(self, connection: AsyncConnection) -> None:
        """From the insights table, after a reindex."""

    async def delete(self, connection: AsyncConnection, ids: Sequence[str]) -> None:
        """Rows of deleted insights; nothing to do where the index is a column of the insight."""

    def search(self, terms: Sequence[str], limit: int) -> tuple[TextClause, dict[str, Any]]:
        """Ids of insights with any of the terms, best first."""
        raise NotImplementedError

    def term_counts(self, terms: Sequence[str], up_to: int) -> tuple[TextClause, dict[str, Any]]:
        """One row: for each term, how many insights contain it, each count stopping at ``up_to``."""
        raise NotImplementedError


class _SqliteLexicalIndex(LexicalIndex):
    async def create(self, connection: AsyncConnection) -> None:
        await connection.execute(
            text(
                "CREATE VIRTUAL TABLE IF NOT EXISTS insights_fts USING fts5("
                "insight_id UNINDEXED, body, tokenize='porter unicode61 remove_diacritics 2')"
            )
        )

    async def write(self, connection: AsyncConnection, rows: Sequence[tuple[str, str]]) -> None:
        if rows:
            await connection.execute(
                text("INSERT INTO insights_fts (insight_id, body) VALUES (:insight_id, :body)"),
                [{"insight_id": insight_id, "body": body} for insight_id, body in rows],
            )

    async def rebuild(self, connection: AsyncConnection) -> None:
        await connection.execute(text("DELETE FROM insights_fts"))
        await connection.execute(text("INSERT INTO insights_fts (insight_id, body) SELECT id, text FROM insights"))

    async def delete(self, connection: AsyncConnection, ids: Sequence[str]) -> None:
        for insight_id in ids:
            await connection.execute(text("DELETE FROM insights_fts WHERE insight_id = :id"), {"id": insight_id})

    def search(self, terms: Sequence[str], limit: int) -> tuple[TextClause, dict[str, Any]]:
        expression = " OR ".join(f'"{term}"' for term in terms)
        statement = text(
            "SELECT insight_id FROM insights_fts WHERE insights_fts MATCH :expression ORDER BY bm25(insights_fts) LIMIT :limit"
        )
        return statement, {"expression": expression, "limit": limit}

    def term_counts(self, terms: Sequence[str], up_to: int) -> tuple[TextClause, dict[str, Any]]:
        counts = ", ".join(
            f"(SELECT count(*) FROM (SELECT 1 FROM insights_fts WHERE insights_fts MATCH :term{number} LIMIT :up_to))"
            for number in range(len(terms))
        )
        parameters: dict[str, Any] = {f"term{number}": f'"{term}"' for number, term in enumerate(terms)}
        return text(f"SELECT {counts}"), {**parameters, "up_to": up_to}


class _PostgresLexicalIndex(LexicalIndex):
    async def create(self, connection: AsyncConnection) -> None:
        await connection.execute(
            text(
                "ALTER TABLE insights ADD COLUMN IF NOT EXISTS search_vector tsvector "
                "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"
            )
        )
        await connection.execute(text("CREATE INDEX IF NOT EXISTS ix_insights_search ON insights USING GIN (search_vector)"))

    def search(self, terms: Sequence[str], limit: int) -> tuple[TextClause, dict[str, Any]]:
        statement = text(
            "SELECT id FROM insights, websearch_to_tsquery('english', :expression) AS query "
            "WHERE search_vector @@ query ORDER BY ts_rank_cd(search_vector, query) DESC, id LIMIT :limit"
        )
        return statement, {"expression": " OR ".join(terms), "limit": limit}

    def term_counts(self, terms: Sequence[str], up_to: int) -> tuple[TextClause, dict[str, Any]]:
        counts = ", ".join(
            f"(SELECT count(*) FROM (SELECT 1 FROM insights WHERE search_vector @@ plainto_tsquery('english', :term{number}) "
            f"LIMIT :up_to) AS hits{number})"
            for number in range(len(terms))
        )
        parameters: dict[str, Any] = {f"term{number}": term for number, term in enumerate(terms)}
        return text(f"SELECT {counts}"), {**parameters, "up_to": up_to}


def lexical_index(bind: AsyncEngine | AsyncConnection) -> LexicalIndex:
    name = name_of(bind)
    if name == SQLITE:
        return _SqliteLexicalIndex()
    if name == POSTGRESQL:
        return _PostgresLexicalIndex()
    raise UnsupportedDatabase(f"unsupported database dialect {name}: use SQLite or PostgreSQL")


class UnsupportedDatabase(Exception):
    """Neither SQLite nor PostgreSQL; database set-up words it for people."""
