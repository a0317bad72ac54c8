"""The SQL schema: the source of truth for insights, where they came from, how they relate, and
who saved what. Chroma only indexes what is here, so anything lost there can be rebuilt from this.

Plain SQLAlchemy Core tables keep the same code on SQLite and PostgreSQL; the lexical index is the
one dialect-specific part (FTS5 on SQLite, a tsvector column on PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
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
    UniqueConstraint,
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

# The daily digest. The unique (channel_id, local_date) on digest_runs is the claim: whichever process
# inserts the row for a channel's local day owns that day's post, across restarts and across processes.
digest_settings = Table(
    "digest_settings",
    metadata,
    Column("guild_id", String(32), primary_key=True),
    Column("channel_id", String(32), nullable=True),
    Column("post_time", String(5), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

digest_runs = Table(
    "digest_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guild_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("local_date", String(10), nullable=False),
    Column("status", String(16), nullable=False),
    Column("claimed_by", String(128), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=True),
    Column("message_id", String(32), nullable=True),
    Column("attempts", Integer, nullable=False, default=1),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("channel_id", "local_date", name="uq_digest_runs_channel_day"),
)

digest_items = Table(
    "digest_items",
    metadata,
    Column("run_id", Integer, ForeignKey("digest_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("rank", Integer, primary_key=True),
    Column("insight_id", String(32), ForeignKey("insights.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("score", Float, nullable=False),
    Column("why", Text, nullable=False),
    Column("resurfaced", Boolean, nullable=False),
)

digest_feedback = Table(
    "digest_feedback",
    metadata,
    Column("run_id", Integer, ForeignKey("digest_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("insight_id", String(32), ForeignKey("insights.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(32), primary_key=True),
    Column("kind", String(16), primary_key=True),
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
    "digest_feedback",
    "digest_items",
    "digest_runs",
    "digest_settings",
    "ingested_files",
    "insight_sources",
    "insights",
    "metadata",
    "relations",
    "saved_items",
    "schema_info",
]
