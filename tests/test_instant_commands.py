"""Commands that encode nothing load no model and import nothing heavy: stats, related, saved lists,
health and digest preview answer without touching the embedder's model, and a fresh process
answering `stats` has imported neither PyTorch nor ONNX Runtime nor the parsers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import cli.resources as cli_resources
from cli.main import cli as command_line
from store.embedding import LazyEmbedder
from tests.fakes import FakeEmbedder


class ModelLoaded(AssertionError):
    pass


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_briefs: Path):  # type: ignore[no-untyped-def]
    """The CLI over a store filled with the fake embedder, then run with an embedder whose model
    must not load: its name, dimension and words are known, and loading it fails the test."""
    fake = FakeEmbedder()
    monkeypatch.setenv("INSIGHT_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    monkeypatch.setattr(cli_resources, "build_embedder", lambda _settings: fake)
    assert runner.invoke(command_line, ["ingest", str(shared_briefs)], catch_exceptions=False).exit_code == 0

    def refuse() -> FakeEmbedder:
        raise ModelLoaded("the model was loaded by a command that encodes nothing")

    lazy = LazyEmbedder(fake.name, fake.dimension, refuse, lambda: frozenset({"chips"}))
    monkeypatch.setattr(cli_resources, "build_embedder", lambda _settings: lazy)

    def run(*args: str) -> dict[str, object]:
        result = runner.invoke(command_line, [*args, "--json"], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    return run


def test_commands_that_encode_nothing_never_load_the_model(invoke) -> None:  # type: ignore[no-untyped-def]
    counts = invoke("stats")
    assert counts["insights"] == 21 and counts["indexed"] == 21
    some_id = invoke("digest", "preview")["insights"][0]["id"]
    assert invoke("related", some_id)["id"] == some_id
    assert invoke("saved", "add", "--user", "7", some_id) == {"saved": True, "already_saved": False}
    assert invoke("saved", "list", "--user", "7")["total"] == 1
    assert invoke("saved", "list", "--user", "7", "--search", "the")["total"] in (0, 1)
    assert invoke("saved", "remove", "--user", "7", some_id) == {"removed": True}
    assert invoke("health") == {"ok": True, "problems": {}}


def test_a_search_loads_the_model_on_its_first_encode(invoke) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelLoaded):
        invoke("search", "custom chips")


def test_the_lazy_embedder_loads_once_and_then_encodes_as_the_model() -> None:
    fake = FakeEmbedder()
    loads: list[int] = []

    def load() -> FakeEmbedder:
        loads.append(1)
        return fake

    lazy = LazyEmbedder(fake.name, fake.dimension, load)
    assert not lazy.is_loaded and loads == []
    first = lazy.encode(["one text"])
    lazy.encode(["another"])
    assert loads == [1] and np.array_equal(first, fake.encode(["one text"]))


_STATS_SCRIPT = """
import json, sys
from cli.main import cli
try:
    cli.main(["stats", "--json"], prog_name="insight-recall", standalone_mode=False)
except SystemExit as stop:
    assert not stop.code, stop.code
heavy = ("torch", "sentence_transformers", "transformers", "onnxruntime", "tokenizers", "bs4")
print(json.dumps({"heavy": sorted(name for name in heavy if name in sys.modules)}))
"""


def test_a_fresh_stats_process_imports_no_model_runtime_and_no_parser(tmp_path: Path) -> None:
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("INSIGHT_")},
        "INSIGHT_DATA_DIR": str(tmp_path / "data"),
        "INSIGHT_MODEL_CACHE": str(tmp_path / "never-prepared"),
        "INSIGHT_SECRETS_DIR": str(tmp_path / "no-secrets"),
    }
    finished = subprocess.run(
        [sys.executable, "-c", _STATS_SCRIPT], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    lines = finished.stdout.strip().splitlines()
    assert json.loads(lines[-2])["insights"] == 0
    assert json.loads(lines[-1]) == {"heavy": []}
    assert not (tmp_path / "never-prepared").exists(), "stats prepared a model it does not need"
