"""Errors the fronts turn into short messages for people; each message says what to do next."""

from __future__ import annotations


class StoreError(Exception):
    """Base for errors whose message is safe and useful to show to a user as it is."""


class InsightNotFound(StoreError):
    def __init__(self, insight_id: str) -> None:
        super().__init__(f"no insight has the id {insight_id!r}: search first and use an id from the results")
        self.insight_id = insight_id


class InvalidInput(StoreError):
    """Input that cannot be used (an empty query, text that is too long, a malformed id)."""


class StoreUnavailable(StoreError):
    """Chroma or the database cannot be reached; the operation may work if tried again shortly."""


class DataDirectoryLocked(StoreError):
    """Another process holds the embedded data directory (embedded Chroma is not safe across processes)."""
