"""Settings: defaults, environment, .env, secrets directory, and messages that name the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import DEFAULT_MODEL, ConfigError, load_settings


def test_defaults_are_embedded_and_offline() -> None:
    settings = load_settings()
    assert settings.data_dir == Path("data")
    assert settings.uses_embedded_chroma
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("data/insight-recall.db")
    assert settings.embedding_model == DEFAULT_MODEL


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("INSIGHT_RESULT_COUNT=7\nINSIGHT_CHROMA_URL=http://127.0.0.1:8123\n", encoding="utf-8")
    monkeypatch.setenv("INSIGHT_MIN_SCORE", "0.4")
    settings = load_settings()
    assert (settings.result_count, settings.min_score, settings.chroma_url) == (7, 0.4, "http://127.0.0.1:8123")
    assert not settings.uses_embedded_chroma


def test_secrets_directory_supplies_the_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    token = "MTExMTExMTExMTExMTExMTExMQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
    (secrets / "insight_discord_token").write_text(token, encoding="utf-8")
    monkeypatch.setenv("INSIGHT_SECRETS_DIR", str(secrets))
    assert load_settings().require_discord_token() == token


@pytest.mark.parametrize(
    ("variable", "value", "hint"),
    [
        ("INSIGHT_RESULT_COUNT", "0", "greater than or equal to 1"),
        ("INSIGHT_CHROMA_URL", "chroma:8000", "http://host:port"),
        ("INSIGHT_DATABASE_URL", "postgresql://u:p@h/db", "postgresql+asyncpg://"),
        ("INSIGHT_DEVICE", "gpu0", "pattern"),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str, hint: str | None) -> None:
    monkeypatch.setenv(variable, value)
    if hint is None:
        load_settings()
        return
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert variable in str(raised.value)
    assert hint in str(raised.value)


def test_the_token_is_checked_and_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="INSIGHT_DISCORD_TOKEN is not set"):
        load_settings().require_discord_token()
    secret = "not-a-token-but-secret-ish"
    monkeypatch.setenv("INSIGHT_DISCORD_TOKEN", secret)
    settings = load_settings()
    with pytest.raises(ConfigError) as raised:
        settings.require_discord_token()
    assert secret not in str(raised.value)
    assert secret not in repr(settings)


def test_the_database_password_is_not_in_a_validation_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHT_DATABASE_URL", "postgresql://user:hunter2secret@db/insights")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert "hunter2secret" not in str(raised.value)
