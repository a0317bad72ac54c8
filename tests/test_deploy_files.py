"""The container files, checked here because no container engine runs in CI: compose keeps Chroma
and PostgreSQL off the outside network and secrets out of the file; the Dockerfile lints clean;
`insight-recall health` tells a working store from a broken one without loading the model."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text(encoding="utf-8"))


def test_chroma_and_postgres_publish_no_port_and_sit_on_the_internal_network_only() -> None:
    services = COMPOSE["services"]
    for name in ("chroma", "postgres"):
        assert "ports" not in services[name], f"{name} must not be reachable from outside"
        assert services[name]["networks"] == ["internal"]
    assert COMPOSE["networks"]["internal"]["internal"] is True


def test_the_bot_uses_the_chroma_server_and_postgresql() -> None:
    environment = COMPOSE["services"]["bot"]["environment"]
    assert environment["INSIGHT_CHROMA_URL"] == "http://chroma:8000"
    assert environment["INSIGHT_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert set(COMPOSE["volumes"]) == {"bot-data", "chroma-data", "postgres-data"}


def test_no_secret_is_written_in_the_compose_file() -> None:
    for name, service in COMPOSE["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "TOKEN" in key:
                assert str(value).startswith("${"), f"a literal secret in compose.yaml: {name}.{key}"
    assert "${POSTGRES_PASSWORD:?" in COMPOSE["services"]["bot"]["environment"]["INSIGHT_DATABASE_URL"]


def test_the_dockerfile_lints_clean_and_runs_as_non_root() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    finished = subprocess.run([str(hadolint), str(REPO_ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER 10001", dockerfile, re.MULTILINE)
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in dockerfile
    assert "HEALTHCHECK" in dockerfile and 'VOLUME ["/data"]' in dockerfile


def _health(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    clean = {name: value for name, value in os.environ.items() if not name.startswith("INSIGHT_")}
    return subprocess.run(
        [sys.executable, "-m", "cli", "health", "--json"],
        cwd=REPO_ROOT,
        env=clean | environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_health_is_ok_on_a_working_store_and_names_what_is_broken(tmp_path: Path) -> None:
    good = _health({"INSIGHT_DATA_DIR": str(tmp_path / "data")})
    assert good.returncode == 0, good.stderr
    assert '"ok": true' in good.stdout
    bad = _health(
        {
            "INSIGHT_DATA_DIR": str(tmp_path / "data"),
            "INSIGHT_DATABASE_URL": "postgresql+asyncpg://bot:topsecret@127.0.0.1:9/insights",
            "INSIGHT_CHROMA_URL": "http://127.0.0.1:9",
        }
    )
    assert bad.returncode == 1
    assert '"database"' in bad.stdout and '"chroma"' in bad.stdout
    assert "topsecret" not in bad.stdout + bad.stderr
