"""Operating it: --version, --help whatever the settings hold, settings as people write them (a
lower-case log level, IPv6 addresses), and set-up and the image preparing the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import cli as command_line
from config.settings import ConfigError, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(command_line, list(args), catch_exceptions=False)


def test_version_names_the_installed_release() -> None:
    from importlib.metadata import version

    result = _invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"insight-recall {version('insight-recall')}"


@pytest.mark.parametrize(
    "arguments", [["--help"], ["search", "--help"], ["saved", "list", "--help"], ["digest", "preview", "-h"]]
)
def test_help_works_when_a_setting_is_invalid(monkeypatch: pytest.MonkeyPatch, arguments: list[str]) -> None:
    monkeypatch.setenv("INSIGHT_RESULT_COUNT", "99")
    result = _invoke(*arguments)
    assert result.exit_code == 0 and "Usage:" in result.stdout


def test_a_command_still_stops_on_an_invalid_setting_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHT_RESULT_COUNT", "99")
    result = _invoke("stats")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid configuration: INSIGHT_RESULT_COUNT")


@pytest.mark.parametrize(
    ("written", "read"), [("debug", "DEBUG"), ("Warning", "WARNING"), (" error ", "ERROR"), ("INFO", "INFO")]
)
def test_the_log_level_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch, written: str, read: str) -> None:
    monkeypatch.setenv("INSIGHT_LOG_LEVEL", written)
    assert load_settings().log_level == read


def test_an_unknown_log_level_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHT_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError, match="INSIGHT_LOG_LEVEL"):
        load_settings()


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://[::1]", "http://[::1]"),
        ("https://[2001:db8::7]:8443/", "https://[2001:db8::7]:8443"),
        ("http://[fe80::1%eth0]:8000", "http://[fe80::1%eth0]:8000"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ],
)
def test_chroma_urls_may_name_ipv6_addresses(monkeypatch: pytest.MonkeyPatch, url: str, kept: str) -> None:
    monkeypatch.setenv("INSIGHT_CHROMA_URL", url)
    assert load_settings().chroma_url == kept


@pytest.mark.parametrize("url", ["http://::1:8000", "http://[::1", "http://[nothex]:8000", "http://[::1]:port"])
def test_malformed_ipv6_chroma_urls_are_refused(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("INSIGHT_CHROMA_URL", url)
    with pytest.raises(ConfigError, match="INSIGHT_CHROMA_URL"):
        load_settings()


def test_other_urls_accept_ipv6_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHT_DATABASE_URL", "postgresql+asyncpg://insight:secret@[::1]:5432/insight")
    monkeypatch.setenv("INSIGHT_DISCORD_API_BASE", "http://[::1]:8080/api/v10")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://insight:secret@[::1]:5432/insight"
    assert settings.discord_api_base == "http://[::1]:8080/api/v10"


def test_the_chroma_client_is_given_the_ipv6_host_in_brackets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import chromadb

    from store.vector_index import open_chroma_client

    asked: dict[str, Any] = {}
    monkeypatch.setattr(chromadb, "HttpClient", lambda **kwargs: asked.update(kwargs) or object())
    open_chroma_client("http://[::1]:8123", tmp_path)
    assert (asked["host"], asked["port"], asked["ssl"]) == ("[::1]", 8123, False)
    open_chroma_client("https://chroma.internal", tmp_path)
    assert (asked["host"], asked["port"], asked["ssl"]) == ("chroma.internal", 443, True)


def test_set_up_and_the_image_prepare_the_model() -> None:
    setup = (REPO_ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "insight-recall prepare-model" in setup
    assert "RUN insight-recall prepare-model" in dockerfile
    assert "COPY --from=build /opt/model-cache /opt/model-cache" in dockerfile
    assert "INSIGHT_MODEL_CACHE=/opt/model-cache" in dockerfile
