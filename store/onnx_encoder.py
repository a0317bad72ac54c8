"""The embedding model run by ONNX Runtime and the Rust ``tokenizers`` library, without PyTorch.

For a short query PyTorch spends most of its ~11 ms in per-operator Python overhead, and importing
it costs seconds; ONNX Runtime computes the same vector in ~3 ms. The graph and tokenizer come from
store.prepared_model; pooling (the mean over real tokens) and normalising are done here in numpy,
exactly as sentence-transformers does them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from store.prepared_model import LOAD_CHECK_PROBES, PreparedModel

log = logging.getLogger(__name__)

BATCH_SIZE = 64


class DamagedModel(Exception):
    """The prepared files load but do not give the vectors PyTorch gave when they were made."""


class OnnxEncoder:
    """Mean-pooled, unit-length sentence vectors from an ONNX Runtime session."""

    def __init__(self, session: Any, tokenizer: Any, input_names: Sequence[str]) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._input_names = tuple(input_names)

    @classmethod
    def from_files(
        cls, graph: Path, tokenizer_file: Path, input_names: Sequence[str], settings: dict[str, Any], threads: int | None = None
    ) -> OnnxEncoder:
        import onnxruntime
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        # The saved file carries whatever fixed lengths the model's authors left in it (128 for
        # all-MiniLM-L6-v2); sentence-transformers cuts at the model's own limit and pads to the
        # longest text of a batch, so the same is set here.
        tokenizer.enable_truncation(max_length=int(settings["max_length"]))
        tokenizer.enable_padding(
            pad_id=int(settings["pad_id"]), pad_token=str(settings["pad_token"]), pad_type_id=int(settings["pad_type_id"])
        )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or max(1, min(4, os.cpu_count() or 1))
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        return cls(session, tokenizer, input_names)

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Callers pass at least one text (the embedder answers an empty list itself)."""
        # Sorting by length keeps padding (wasted work) small inside each batch.
        order = sorted(range(len(texts)), key=lambda row: len(texts[row]))
        by_length = np.concatenate(
            [
                self._encode_batch([texts[row] for row in order[start : start + BATCH_SIZE]])
                for start in range(0, len(order), BATCH_SIZE)
            ]
        )
        vectors = np.empty_like(by_length)
        vectors[order] = by_length
        return vectors

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        columns = {
            "input_ids": [encoding.ids for encoding in encodings],
            "attention_mask": [encoding.attention_mask for encoding in encodings],
            "token_type_ids": [encoding.type_ids for encoding in encodings],
        }
        feed = {name: np.asarray(columns[name], dtype=np.int64) for name in self._input_names}
        tokens: np.ndarray = self._session.run(None, feed)[0]
        mask = np.asarray(columns["attention_mask"], dtype=np.float32)[..., None]
        pooled = (tokens * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def largest_difference(self, probes: list[str], expected: np.ndarray) -> float:
        """Against reference vectors, both as one padded batch and one text at a time."""
        batched = self.encode(probes)
        alone = np.concatenate([self.encode([probe]) for probe in probes])
        return float(max(np.abs(batched - expected).max(), np.abs(alone - expected).max()))


class OnnxEmbedder:
    """The run-time embedder: a prepared model, checked against its PyTorch probe vectors on load."""

    def __init__(self, name: str, prepared: PreparedModel, threads: int | None = None) -> None:
        manifest = prepared.manifest
        self._name = name
        self._dimension = prepared.dimension
        self._encoder = OnnxEncoder.from_files(
            prepared.graph, prepared.tokenizer, manifest["input_names"], manifest["tokenizer"], threads
        )
        probes = list(manifest["probes"])[:LOAD_CHECK_PROBES]
        difference = float(np.abs(self._encoder.encode(probes) - prepared.probe_vectors[: len(probes)]).max())
        if difference > float(manifest["tolerance"]):
            raise DamagedModel(f"the prepared model in {prepared.directory} gives vectors {difference:.2g} away from PyTorch's")
        self._vocabulary = prepared.vocabulary()
        # One encode at a time: ONNX Runtime already uses every core for one batch, and concurrent
        # query encodes are gathered into batches by QueryEncoder instead.
        self._lock = threading.Lock()
        log.info("encoding with ONNX Runtime from %s", prepared.directory)

    @property
    def backend(self) -> str:
        return "onnx"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def vocabulary(self) -> frozenset[str]:
        return self._vocabulary

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        with self._lock:
            return self._encoder.encode(list(texts))
