"""The digest tables, by their feature's name; they are defined in store.schema beside SCHEMA_VERSION,
so one ``initialise`` creates them with the rest and no module is imported for its side effect."""

from store.schema import digest_feedback, digest_items, digest_runs, digest_settings

__all__ = ["digest_feedback", "digest_items", "digest_runs", "digest_settings"]
