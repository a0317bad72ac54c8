"""Digest tables, on the shared metadata so one `initialise` creates them with the rest.

The unique (channel_id, local_date) on digest_runs is the claim: whichever process inserts the
row for a channel's local day owns that day's post, across restarts and across processes.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from store.schema import metadata

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
