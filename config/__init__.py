"""Settings for every front of insight-recall, read once at start-up."""

from config.settings import DEFAULT_MODEL, ConfigError, Settings, load_settings

__all__ = ["DEFAULT_MODEL", "ConfigError", "Settings", "load_settings"]
