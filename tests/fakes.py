"""Test doubles that keep behaviour real where it matters: the fake embedder is deterministic and
still puts texts that share words close together, so ranking and "same idea" tests mean something."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")
_IGNORED = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "are",
        "was",
        "were",
        "has",
        "have",
        "its",
        "their",
        "into",
        "than",
        "not",
        "but",
        "can",
        "how",
        "what",
        "why",
        "who",
    ]
)


class FakeEmbedder:
    def __init__(self, dimension: int = 384, name: str = "fake-embedder") -> None:
        self._dimension = dimension
        self._name = name
        self.encoded: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def _bucket(self, word: str) -> int:
        return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big") % self._dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = [word for word in _WORD.findall(text.lower()) if len(word) > 2 and word not in _IGNORED]
            for word in words or ["empty"]:
                vectors[row, self._bucket(word)] += 1.0
            vectors[row] /= np.linalg.norm(vectors[row])
        return vectors


class FixedEmbedder(FakeEmbedder):
    """Returns exactly the vectors a test chooses, for tests about thresholds."""

    def __init__(self, vectors: dict[str, Sequence[float]], name: str = "fixed-embedder") -> None:
        dimension = len(next(iter(vectors.values())))
        super().__init__(dimension, name)
        self._vectors = {text: np.asarray(vector, dtype=np.float32) / np.linalg.norm(vector) for text, vector in vectors.items()}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return np.stack([self._vectors[text] for text in texts]) if texts else np.zeros((0, self.dimension), dtype=np.float32)
