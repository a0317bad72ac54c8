"""The model prepared once with PyTorch and run without it: ONNX Runtime and the tokenizers library
give sentence-transformers' vectors, a fresh process answering a search never imports torch, and a
missing, stale or damaged preparation is made again (or named, with the command that fixes it)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from store import embedding, onnx_encoder, prepared_model
from store.embedding import Embedder, LazyEmbedder, open_embedder
from store.prepared_model import ModelNotPrepared, find_prepared, model_directory

pytestmark = pytest.mark.model

MODEL = "all-MiniLM-L6-v2"
REPO_ROOT = Path(__file__).resolve().parents[1]
TEXTS = [
    "Custom AI chips cut inference cost for the labs that design them.",
    "Sleep debt",
    "Zürich's café owners learned that 42% of regulars come back for the staff, not the coffee. " * 30,
    "😀 emoji and ‮ right-to-left marks",
    "",
]


@pytest.fixture(scope="module")
def torch_model():  # type: ignore[no-untyped-def]
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(embedding.resolve_model_location(MODEL), device="cpu")


def _torch_vectors(model, texts: list[str]) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.asarray(model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False))


@pytest.fixture
def prepared_copy(real_embedder: Embedder, model_cache: Path, tmp_path: Path) -> Path:
    """A private copy of the session's prepared model, for tests that damage it."""
    cache = tmp_path / "cache"
    source = model_directory(model_cache, MODEL)
    shutil.copytree(source, model_directory(cache, MODEL))
    return cache


def test_the_runtime_gives_sentence_transformers_vectors(real_embedder: Embedder, torch_model) -> None:  # type: ignore[no-untyped-def]
    assert getattr(real_embedder, "backend", None) == "onnx"
    expected = _torch_vectors(torch_model, TEXTS)
    batched = real_embedder.encode(TEXTS)
    one_by_one = np.concatenate([real_embedder.encode([text]) for text in TEXTS])
    assert batched.dtype == np.float32 and batched.shape == (len(TEXTS), real_embedder.dimension)
    assert np.abs(batched - expected).max() < 1e-4
    assert np.abs(one_by_one - expected).max() < 1e-4
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_a_large_batch_keeps_its_order(real_embedder: Embedder, torch_model) -> None:  # type: ignore[no-untyped-def]
    # More than one runtime batch, lengths shuffled: rows are sorted by length inside and put back.
    texts = [f"insight number {number} " + "about growth " * (number % 13) for number in range(150)]
    vectors = real_embedder.encode(texts)
    rows = [0, 7, 64, 149]
    assert np.abs(vectors[rows] - _torch_vectors(torch_model, [texts[row] for row in rows])).max() < 1e-4


def test_the_manifest_records_the_check_against_pytorch(real_embedder: Embedder, model_cache: Path) -> None:
    prepared, reason = find_prepared(model_cache, MODEL)
    assert prepared is not None, reason
    manifest = json.loads((prepared.directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["verified"] is True and manifest["largest_difference"] <= 1e-4
    assert manifest["dimension"] == 384 and len(manifest["probe_vectors"]) == len(manifest["probes"])
    assert {"torch", "onnxruntime", "tokenizers", "sentence_transformers"} <= set(manifest["versions"])
    assert "model.safetensors" in manifest["source"]["files"]
    assert prepared.graph.stat().st_size > 1_000_000


def test_a_prepared_model_is_used_as_it_is(prepared_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_preparing(*_args: object) -> object:
        raise AssertionError("prepared again although a checked preparation exists")

    monkeypatch.setattr(embedding, "prepare_model", no_preparing)
    opened = open_embedder(MODEL, "cpu", cache_dir=prepared_copy)
    assert isinstance(opened, LazyEmbedder) and not opened.is_loaded and opened.dimension == 384
    assert "chips" in opened.vocabulary and not opened.is_loaded
    assert opened.encode(["Custom AI chips"]).shape == (1, 384) and opened.is_loaded


def test_a_truncated_graph_is_prepared_again(prepared_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    graph = model_directory(prepared_copy, MODEL) / "model.onnx"
    graph.write_bytes(b"half a file")
    assert find_prepared(prepared_copy, MODEL)[0] is None
    opened = open_embedder(MODEL, "cpu", cache_dir=prepared_copy)
    assert opened.dimension == 384 and not opened.is_loaded, "nothing is prepared before something is encoded"
    with caplog.at_level(logging.WARNING):
        assert opened.encode(["Custom AI chips"]).shape == (1, 384)
    assert "damaged" in caplog.text and "preparing it for ONNX Runtime" in caplog.text
    assert graph.stat().st_size > 1_000_000 and find_prepared(prepared_copy, MODEL)[0] is not None


def test_a_graph_damaged_inside_stops_with_the_command_when_pytorch_is_absent(
    prepared_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Same size, so only the load-time comparison with PyTorch's probe vectors can notice.
    directory = model_directory(prepared_copy, MODEL)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    manifest["probe_vectors"][0] = [-value for value in manifest["probe_vectors"][0]]
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setattr(embedding, "pytorch_installed", lambda: False)
    opened = open_embedder(MODEL, "cpu", cache_dir=prepared_copy)
    with pytest.raises(ModelNotPrepared, match=r"damaged.*insight-recall prepare-model"):
        opened.encode(["Custom AI chips"])


def test_a_missing_model_without_pytorch_stops_start_up_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import cli

    monkeypatch.setattr(embedding, "pytorch_installed", lambda: False)
    monkeypatch.setenv("INSIGHT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("INSIGHT_MODEL_CACHE", str(tmp_path / "empty-cache"))
    result = CliRunner().invoke(cli, ["search", "custom chips"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "`insight-recall prepare-model`" in lines[0]


def test_changed_model_files_make_the_preparation_stale(prepared_copy: Path) -> None:
    directory = model_directory(prepared_copy, MODEL)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    manifest["source"]["files"]["model.safetensors"]["size"] += 1
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    prepared, reason = find_prepared(prepared_copy, MODEL)
    assert prepared is None and "changed" in reason


def test_pytorch_encodes_when_the_runtime_s_vectors_differ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original = onnx_encoder.OnnxEncoder._encode_batch

    def skewed(self: onnx_encoder.OnnxEncoder, texts: list[str]) -> np.ndarray:
        vectors = original(self, texts)
        vectors[:, 0] += 0.01
        return vectors

    monkeypatch.setattr(onnx_encoder.OnnxEncoder, "_encode_batch", skewed)
    with caplog.at_level(logging.WARNING):
        opened = open_embedder(MODEL, "cpu", cache_dir=tmp_path / "cache")
        assert opened.backend == "torch"
    assert "differ from PyTorch" in caplog.text
    prepared, _ = find_prepared(tmp_path / "cache", MODEL)
    assert prepared is not None and not prepared.verified


def test_pytorch_encodes_when_the_export_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object) -> bytes:
        raise ModuleNotFoundError("No module named 'onnx'")

    monkeypatch.setattr(prepared_model, "_export", broken)
    with caplog.at_level(logging.WARNING):
        opened = open_embedder(MODEL, "cpu", cache_dir=tmp_path / "cache")
        assert opened.backend == "torch"
    assert "No module named 'onnx'" in caplog.text and "encoding with PyTorch" in caplog.text
    assert not list((tmp_path / "cache").iterdir()), "an interrupted preparation leaves nothing behind"


def test_a_model_that_is_not_mean_pooled_stays_on_pytorch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_mean(_model: object) -> object:
        raise prepared_model.ModelNotSupported("the model pools by cls, not by mean")

    monkeypatch.setattr(prepared_model, "_mean_pooled_transformer", not_mean)
    assert open_embedder(MODEL, "cpu", cache_dir=tmp_path / "cache").backend == "torch"


def test_the_torch_backend_setting_keeps_pytorch(tmp_path: Path) -> None:
    opened = open_embedder(MODEL, "cpu", backend="torch", cache_dir=tmp_path / "cache")
    assert opened.dimension == 384 and "chips" in opened.vocabulary
    assert not opened.is_loaded, "the dimension and the words come from the model's files"
    vector = opened.encode(["Custom AI chips cut inference cost."])
    assert opened.backend == "torch"
    assert vector.shape == (1, 384) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


_NO_TORCH_SCRIPT = """
import json, sys
from cli.main import cli
for arguments in (["ingest", sys.argv[1], "--json"], ["search", "why build custom AI chips?", "--json"]):
    try:
        cli.main(arguments, prog_name="insight-recall", standalone_mode=False)
    except SystemExit as stop:
        assert not stop.code, stop.code
heavy = sorted(name for name in ("torch", "sentence_transformers", "transformers") if name in sys.modules)
print(json.dumps({"heavy": heavy}))
"""


def test_a_fresh_process_answers_a_search_without_importing_torch(
    real_embedder: Embedder, model_cache: Path, tmp_path: Path
) -> None:
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("INSIGHT_")},
        "INSIGHT_DATA_DIR": str(tmp_path / "data"),
        "INSIGHT_MODEL_CACHE": str(model_cache),
        "INSIGHT_SECRETS_DIR": str(tmp_path / "no-secrets"),
    }
    finished = subprocess.run(
        [sys.executable, "-c", _NO_TORCH_SCRIPT, str(REPO_ROOT / "store" / "samples")],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    lines = finished.stdout.strip().splitlines()
    search = json.loads(lines[-2])
    assert search["results"], "the search found the sample insight about custom chips"
    assert json.loads(lines[-1]) == {"heavy": []}
