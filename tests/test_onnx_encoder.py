"""The model's transformer in ONNX Runtime: the same vectors as PyTorch, a graph exported once and
cached, and PyTorch kept whenever the runtime cannot be trusted."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from store import onnx_encoder
from store.embedding import SentenceTransformerEmbedder
from store.onnx_encoder import build_onnx_encoder

pytestmark = pytest.mark.model

TEXTS = [
    "Custom AI chips cut inference cost for the labs that design them.",
    "Sleep debt",
    "Zürich's café owners learned that 42% of regulars come back for the staff, not the coffee. " * 30,
    "😀 emoji and ‮ right-to-left marks",
]


def _torch_vectors(embedder: SentenceTransformerEmbedder, texts: list[str]) -> np.ndarray:
    return embedder._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)


def test_the_default_model_runs_in_onnx_runtime_with_pytorch_s_vectors(real_embedder: SentenceTransformerEmbedder) -> None:
    assert real_embedder.backend == "onnx"
    expected = _torch_vectors(real_embedder, TEXTS)
    batched = real_embedder.encode(TEXTS)
    one_by_one = np.concatenate([real_embedder.encode([text]) for text in TEXTS])
    assert batched.dtype == np.float32 and batched.shape == (len(TEXTS), real_embedder.dimension)
    assert np.abs(batched - expected).max() < 1e-4
    assert np.abs(one_by_one - expected).max() < 1e-4
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_a_large_batch_keeps_its_order(real_embedder: SentenceTransformerEmbedder) -> None:
    # More than one runtime batch, lengths shuffled: rows are sorted by length inside and put back.
    texts = [f"insight number {number} " + "about growth " * (number % 13) for number in range(150)]
    vectors = real_embedder.encode(texts)
    for row in (0, 7, 64, 149):
        assert np.abs(vectors[row] - _torch_vectors(real_embedder, [texts[row]])[0]).max() < 1e-4


def test_the_exported_graph_is_cached_and_reused(
    real_embedder: SentenceTransformerEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    assert build_onnx_encoder(real_embedder._model, cache) is not None
    graphs = list(cache.glob("encoder-*.onnx"))
    assert len(graphs) == 1 and graphs[0].stat().st_size > 1_000_000

    def no_export(*_args: object) -> bytes:
        raise AssertionError("exported again although a cached graph exists")

    monkeypatch.setattr(onnx_encoder, "_export", no_export)
    assert build_onnx_encoder(real_embedder._model, cache) is not None


def test_a_damaged_cached_graph_is_exported_again(
    real_embedder: SentenceTransformerEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    assert build_onnx_encoder(real_embedder._model, cache) is not None
    graph = next(cache.glob("encoder-*.onnx"))
    graph.write_bytes(b"half a file")
    with caplog.at_level(logging.WARNING):
        encoder = build_onnx_encoder(real_embedder._model, cache)
    assert encoder is not None and "exporting it again" in caplog.text
    assert graph.stat().st_size > 1_000_000


def test_pytorch_is_kept_when_the_runtime_s_vectors_differ(
    real_embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original = onnx_encoder.OnnxEncoder._encode_batch

    def skewed(self: onnx_encoder.OnnxEncoder, texts: list[str]) -> np.ndarray:
        vectors = original(self, texts)
        vectors[:, 0] += 0.01
        return vectors

    monkeypatch.setattr(onnx_encoder.OnnxEncoder, "_encode_batch", skewed)
    with caplog.at_level(logging.WARNING):
        assert build_onnx_encoder(real_embedder._model, None) is None
    assert "differ from PyTorch" in caplog.text


def test_pytorch_is_kept_when_the_export_fails(
    real_embedder: SentenceTransformerEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object) -> bytes:
        raise ModuleNotFoundError("No module named 'onnx'")

    monkeypatch.setattr(onnx_encoder, "_export", broken)
    with caplog.at_level(logging.WARNING):
        assert build_onnx_encoder(real_embedder._model, tmp_path / "cache") is None
    assert "No module named 'onnx'" in caplog.text and "encoding with PyTorch" in caplog.text


def test_a_model_that_is_not_mean_pooled_stays_on_pytorch(
    real_embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    pooling = real_embedder._model[1]
    monkeypatch.setattr(pooling, "get_config_dict", lambda: {"pooling_mode": "cls"})
    assert build_onnx_encoder(real_embedder._model, None) is None


def test_the_torch_backend_setting_keeps_pytorch() -> None:
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2", backend="torch")
    assert embedder.backend == "torch"
    vector = embedder.encode(["Custom AI chips cut inference cost."])
    assert vector.shape == (1, 384) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
