"""The `insight-recall` command line."""
