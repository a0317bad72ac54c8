"""All settings in one place, read from the environment (prefix ``INSIGHT_``), a ``.env`` file
and a secrets directory, so that operators configure every front (command line, bot) the same way.

Nothing here knows about Discord or storage: the values are plain data that the fronts hand to
``store`` and ``bot``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "INSIGHT_"
DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_DISCORD_API_BASE = "https://discord.com/api/v10"
DEFAULT_SECRETS_DIR = "/run/secrets"

# A bot token is three dot-separated base64url parts; checking the shape lets start-up fail with a
# clear line instead of a login error after the model has loaded.
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the environment variable to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(Path("./data"), description="Where the embedded Chroma index and SQLite file live.")
    chroma_url: str | None = Field(None, description="URL of a Chroma server; unset means embedded Chroma in the data directory.")
    chroma_collection: str = Field("insights", min_length=3, max_length=63, description="Chroma collection name.")
    database_url: str | None = Field(None, description="SQLAlchemy async URL; unset means SQLite in the data directory.")
    embedding_model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or local path.")
    device: str = Field(
        "cpu", pattern=r"^(cpu|cuda(:\d+)?|mps)$", description="Torch device for the embedding model (cpu, cuda, cuda:1, mps)."
    )
    embedding_backend: Literal["onnx", "torch"] = Field(
        "onnx",
        description="On CPU, run the model's transformer in ONNX Runtime (same vectors, ~4x faster queries) or in PyTorch.",
    )
    model_cache: Path | None = Field(
        None,
        description="Where `insight-recall prepare-model` puts the model for ONNX Runtime; unset means data_dir/model-cache.",
    )
    result_count: int = Field(5, ge=1, le=10, description="How many results a search returns by default.")
    min_score: float = Field(0.28, ge=-1.0, le=1.0, description="Cosine similarity below which a match is too weak to show.")
    same_idea_threshold: float = Field(
        0.86, gt=0.0, le=1.0, description="Cosine similarity above which two insights are the same idea."
    )
    related_count: int = Field(3, ge=0, le=20, description="How many nearest-neighbour insights to add after the explicit ones.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    discord_token: SecretStr | None = Field(None, description="Bot token; required only by `insight-recall run`.")
    discord_api_base: str = Field(DEFAULT_DISCORD_API_BASE, description="REST base URL discord.py talks to.")
    dev_guild_id: int | None = Field(None, description="Guild that receives command syncs at start-up (development).")
    sharded: bool = Field(False, description="Run with discord.py's AutoShardedClient.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("chroma_url", "database_url", "dev_guild_id", "model_cache", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("chroma_url")
    @classmethod
    def _chroma_url_shape(cls, value: str | None) -> str | None:
        # A host name, an IPv4 address or a bracketed IPv6 address ([::1]), then an optional port.
        if value is not None and not re.match(r"^https?://([^/\s:\[\]]+|\[[0-9A-Fa-f:.]+(%[\w.-]+)?\])(:\d{1,5})?/?$", value):
            raise ValueError("must look like http://host:port (for example http://127.0.0.1:8000 or http://[::1]:8000)")
        return value.rstrip("/") if value else value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_async(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if value.startswith(("postgresql://", "postgres://")):
            raise ValueError("use the async driver: postgresql+asyncpg://user:password@host/dbname")
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("discord_api_base")
    @classmethod
    def _api_base_shape(cls, value: str) -> str:
        if not re.match(r"^https?://\S+$", value):
            raise ValueError("must be an http(s) URL such as https://discord.com/api/v10")
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'insight-recall.db').resolve()}"

    @property
    def resolved_model_cache(self) -> Path:
        return self.model_cache if self.model_cache is not None else self.data_dir / "model-cache"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def uses_embedded_chroma(self) -> bool:
        return self.chroma_url is None

    def require_discord_token(self) -> str:
        """Returns the token, or explains exactly what is wrong without ever echoing it."""
        if self.discord_token is None or not self.discord_token.get_secret_value().strip():
            raise ConfigError(
                f"{ENV_PREFIX}DISCORD_TOKEN is not set: put the bot token from the Discord developer "
                "portal (Bot > Reset Token) in the environment or in .env"
            )
        token = self.discord_token.get_secret_value().strip()
        if not _TOKEN_SHAPE.match(token):
            raise ConfigError(
                f"{ENV_PREFIX}DISCORD_TOKEN does not look like a bot token (three dot-separated parts); "
                "copy it again from the Discord developer portal"
            )
        return token


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "settings"
        variable = f"{ENV_PREFIX}{field.upper()}"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{variable}: {message}")
    return "invalid configuration: " + "; ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Reads and validates every setting once, at start-up, turning pydantic's report into one line
    per wrong variable. Input values are left out of the message because one of them may be a secret."""
    secrets_dir = os.environ.get(f"{ENV_PREFIX}SECRETS_DIR", DEFAULT_SECRETS_DIR)
    kwargs: dict[str, object] = dict(overrides)
    if Path(secrets_dir).is_dir():
        kwargs["_secrets_dir"] = secrets_dir
    try:
        return Settings(**kwargs)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


__all__ = ["DEFAULT_MODEL", "ConfigError", "Settings", "load_settings"]
