"""Real-model vectors kept on disk between runs, keyed by model and text.

Encoding ten thousand distractor insights takes a minute or two on a small machine; every later run
of the evaluation reads them back instead. The cache wraps the embedder, so the texts still go
through the real ingest path and only the encode is skipped. Small encodes (a query, a handful of
texts) are kept in memory only, so the cache directory does not fill with one file per query.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from store.embedding import Embedder

PERSIST_AT_LEAST = 32


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class CachedEmbedder:
    """An embedder that asks the wrapped one only for texts it has not seen (on disk or in this
    process). Anything else the wrapped embedder offers (its vocabulary, say) is passed through."""

    def __init__(self, inner: Embedder, cache_dir: Path, persist_at_least: int = PERSIST_AT_LEAST) -> None:
        self._inner = inner
        safe_model = inner.name.replace("/", "_")
        self._folder = cache_dir / f"vectors-{safe_model}-{inner.dimension}"
        self._persist_at_least = persist_at_least
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.encoded_texts = 0
        self._load()

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    @property
    def inner(self) -> Embedder:
        return self._inner

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._inner, attribute)

    def _load(self) -> None:
        if not self._folder.is_dir():
            return
        for shard in sorted(self._folder.glob("*.npz")):
            if shard.name.endswith(".partial.npz"):
                continue
            try:
                with np.load(shard) as stored:
                    keys, vectors = stored["keys"], stored["vectors"]
            except (OSError, ValueError, KeyError):
                continue  # a shard cut short by a crash: its texts are encoded again
            if vectors.ndim == 2 and vectors.shape[1] == self.dimension:
                self._vectors.update(zip(keys.tolist(), vectors, strict=True))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [text_key(text) for text in texts]
        with self._lock:
            missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in self._vectors}
        if missing:
            vectors = self._inner.encode(list(missing.values()))
            with self._lock:
                self._vectors.update(zip(missing, vectors, strict=True))
                self.encoded_texts += len(missing)
            if len(missing) >= self._persist_at_least:
                self._save(list(missing), vectors)
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            return np.stack([self._vectors[key] for key in keys]).astype(np.float32, copy=False)

    def _save(self, keys: list[str], vectors: np.ndarray) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        partial = self._folder / f"{name}.partial.npz"
        np.savez(partial, keys=np.array(keys), vectors=np.asarray(vectors, dtype=np.float32))
        partial.rename(self._folder / f"{name}.npz")
