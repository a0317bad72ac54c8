"""The SQL schema: the source of truth for insights, where they came from, how they relate, and
who saved what. Chroma only indexes what is here, so anything lost there can be rebuilt from this.

Plain SQLAlchemy Core tables keep the same code on SQLite and PostgreSQL; the lexical index is the
one dialect-specific part (FTS5 on SQLite, a tsvector column on PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 1

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

insights = Table(
    "insights",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("text", Text, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False, index=True),
)

# One brief (or email, JSON line, note file paragraph, manual add). Its id is derived from its content
# so that the same brief arriving as a text file and as an email is one brief.
briefs = Table(
    "briefs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("origin", Text, nullable=False),
    Column("subject", Text, nullable=True),
    Column("date", String(32), nullable=True),
    Column("first_seen", DateTime(timezone=True), nullable=False),
)

insight_sources = Table(
    "insight_sources",
    metadata,
    Column("insight_id", String(32), ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True),
    Column("brief_id", String(32), ForeignKey("briefs.id", ondelete="CASCADE"), primary_key=True),
    Column("position", String(16), primary_key=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Index("ix_insight_sources_brief", "brief_id"),
)

# Relations are undirected; each pair is stored once with low_id < high_id and read in both directions.
relations = Table(
    "relations",
    metadata,
    Column("low_id", String(32), ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True),
    Column("high_id", String(32), ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("score", Float, nullable=True),
    CheckConstraint("low_id < high_id", name="ck_relations_ordered"),
    Index("ix_relations_high", "high_id"),
)

saved_items = Table(
    "saved_items",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("insight_id", String(32), ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    Index("ix_saved_items_user_time", "user_id", "saved_at"),
)

# Files already ingested, by origin (the path as named) and content hash, so an unchanged file is
# recognised before it is parsed. Only a shortcut: without a row the file is parsed and written as
# always, and nothing else reads this table.
ingested_files = Table(
    "ingested_files",
    metadata,
    Column("origin", Text, primary_key=True),
    Column("sha256", String(64), nullable=False),
    # What a re-ingest reports for the file: its insights (as "unchanged") and the parts it skipped.
    Column("occurrences", Integer, nullable=False),
    Column("problems", Text, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
)

__all__ = [
    "SCHEMA_VERSION",
    "briefs",
    "ingested_files",
    "insight_sources",
    "insights",
    "metadata",
    "relations",
    "saved_items",
    "schema_info",
]
