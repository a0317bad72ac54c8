"""Sentence embeddings: which runtime encodes, loading it only when something is encoded, and
encoding off the event loop.

On CPU the model runs in ONNX Runtime from files prepared once (store.prepared_model), so no
command imports PyTorch; with INSIGHT_EMBEDDING_BACKEND=torch, or another device, it runs in
sentence-transformers. Either way the store gets a LazyEmbedder: its name and dimension are known
from small files, and the model itself loads on the first encode, so commands that encode nothing
(stats, saved lists, related) start in a fraction of a second.

Encodes are serialised behind one lock because a Hugging Face fast tokenizer shared between
threads fails with "Already borrowed"; concurrent query encodes are instead gathered into one batch
(micro-batching), which is both safe and faster than encoding them one by one.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from config.settings import DEFAULT_MODEL
from store.prepared_model import (
    PREPARE_COMMAND,
    ModelNotPrepared,
    ModelNotSupported,
    PreparedModel,
    find_prepared,
    prepare_model,
    pytorch_installed,
    resolve_model_location,
)

log = logging.getLogger(__name__)

__all__ = [
    "Embedder",
    "LazyEmbedder",
    "QueryEncoder",
    "SentenceTransformerEmbedder",
    "load_embedder",
    "open_embedder",
    "resolve_model_location",
]


class Embedder(Protocol):
    """Anything that turns texts into unit-length float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    """The model in PyTorch through sentence-transformers: for GPUs and Apple silicon, for models
    ONNX Runtime cannot stand in for, and when INSIGHT_EMBEDDING_BACKEND=torch asks for it."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu", batch_size: int = 64) -> None:
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

    @property
    def backend(self) -> str:
        return "torch"

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
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


class LazyEmbedder:
    """An embedder whose model loads on the first encode (once, whichever thread asks first)."""

    def __init__(
        self,
        name: str,
        dimension: int | None,
        load: Callable[[], Embedder],
        vocabulary: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        self._name = name
        self._dimension = dimension
        self._load = load
        self._vocabulary = vocabulary
        self._loaded: Embedder | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension if self._dimension is not None else self.load().dimension

    @property
    def is_loaded(self) -> bool:
        return self._loaded is not None

    @property
    def backend(self) -> str:
        return str(getattr(self.load(), "backend", "custom"))

    @property
    def vocabulary(self) -> frozenset[str]:
        if self._vocabulary is not None:
            return self._vocabulary()
        return frozenset(getattr(self.load(), "vocabulary", ()) or ())

    def load(self) -> Embedder:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
        return self._loaded

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.load().encode(texts)


def open_embedder(model: str, device: str, *, backend: str = "onnx", cache_dir: Path | None = None) -> LazyEmbedder:
    """Reads only small files now; the model loads (and, if it was never prepared, is prepared)
    on the first encode, so a command that encodes nothing never waits for either. A model that
    cannot be prepared here (no PyTorch) stops the first encode with the command that fixes it."""
    if cache_dir is None:
        cache_dir = Path(tempfile.mkdtemp(prefix="insight-model-"))
    if backend != "onnx" or device != "cpu":
        return _torch_embedder(model, device)
    prepared, reason = find_prepared(cache_dir, model)
    if prepared is not None and prepared.verified:
        checked = prepared
        return LazyEmbedder(model, checked.dimension, lambda: _load_onnx(model, checked, cache_dir), checked.vocabulary)
    location = resolve_model_location(model)
    dimension = prepared.dimension if prepared is not None else _declared_dimension(location)
    if prepared is None:
        load = functools.partial(_prepare_and_load, model, device, cache_dir, reason)
    else:
        load = functools.partial(_unverified, model, device, prepared)
    if dimension is None:
        # The store needs the dimension when it opens; a model that does not state it is loaded to ask.
        loaded = load()
        return LazyEmbedder(model, loaded.dimension, lambda: loaded)
    return LazyEmbedder(model, dimension, load, functools.partial(_source_vocabulary, location))


def _prepare_and_load(model: str, device: str, cache_dir: Path, reason: str) -> Embedder:
    if not pytorch_installed():
        raise ModelNotPrepared(f"the embedding model {model} is {reason}: run `{PREPARE_COMMAND}`")
    log.warning("the embedding model is %s; preparing it for ONNX Runtime now (once)", reason)
    try:
        prepared = prepare_model(cache_dir, model)
    except ModelNotSupported as error:
        log.info("%s; encoding with PyTorch", error)
        return SentenceTransformerEmbedder(model, device=device)
    except Exception as error:
        log.warning("cannot prepare the model for ONNX Runtime (%s: %s); encoding with PyTorch", type(error).__name__, error)
        return SentenceTransformerEmbedder(model, device=device)
    if not prepared.verified:
        return _unverified(model, device, prepared)
    return _load_onnx(model, prepared, cache_dir)


def _unverified(model: str, device: str, prepared: PreparedModel) -> Embedder:
    if not pytorch_installed():
        raise ModelNotPrepared(
            f"ONNX Runtime's vectors for {model} differ from PyTorch's (see {prepared.directory}); "
            "install PyTorch, or set INSIGHT_EMBEDDING_BACKEND=torch"
        )
    log.warning("ONNX Runtime's vectors for %s differ from PyTorch's; encoding with PyTorch", model)
    return SentenceTransformerEmbedder(model, device=device)


def _source_vocabulary(location: str) -> frozenset[str]:
    """Before the model is prepared, its words come from the files it ships with: a WordPiece
    vocab.txt is plain text (milliseconds); any other tokenizer is asked through its tokenizer.json."""
    words = Path(location) / "vocab.txt"
    if words.is_file():
        return frozenset(word for word in words.read_text(encoding="utf-8").split() if word.isalnum())
    path = Path(location) / "tokenizer.json"
    if not path.is_file():
        return frozenset()
    from tokenizers import Tokenizer

    return frozenset(word for word in Tokenizer.from_file(str(path)).get_vocab() if word.isalnum())


def _load_onnx(model: str, prepared: PreparedModel, cache_dir: Path) -> Embedder:
    from store.onnx_encoder import OnnxEmbedder

    try:
        return OnnxEmbedder(model, prepared)
    except Exception as error:
        if not pytorch_installed():
            raise ModelNotPrepared(
                f"the prepared embedding model in {prepared.directory} is damaged ({type(error).__name__}): run `{PREPARE_COMMAND}`"
            ) from None
        log.warning(
            "the prepared model in %s is damaged (%s: %s); preparing it again", prepared.directory, type(error).__name__, error
        )
        return OnnxEmbedder(model, prepare_model(cache_dir, model))


def _torch_embedder(model: str, device: str) -> LazyEmbedder:
    location = resolve_model_location(model)
    dimension = _declared_dimension(location)
    load = functools.partial(SentenceTransformerEmbedder, model, device=device)
    if dimension is None:
        loaded = load()
        return LazyEmbedder(model, loaded.dimension, lambda: loaded)
    # Words from the model's own files, so opening the store loads nothing on this backend either.
    return LazyEmbedder(model, dimension, load, functools.partial(_source_vocabulary, location))


def _declared_dimension(location: str) -> int | None:
    """A local transformer + pooling model states its output size in a file; reading it lets the
    store open without loading PyTorch. Anything else (a Dense layer, a hub name) is loaded to ask."""
    root = Path(location)
    try:
        modules = json.loads((root / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(module.get("type", "")).rsplit(".", 1)[-1] for module in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        pooling = next(module for module in modules if str(module.get("type", "")).endswith("Pooling"))
        config = json.loads((root / pooling["path"] / "config.json").read_text(encoding="utf-8"))
        return int(config["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, StopIteration, TypeError):
        return None


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


def load_embedder(model: str, device: str, *, backend: str = "onnx", cache_dir: Path | None = None) -> Embedder:
    """The embedder with its model loaded now (a bot loads it while its gateway connects)."""
    log.info("loading embedding model %s on %s", model, device)
    return open_embedder(model, device, backend=backend, cache_dir=cache_dir).load()
