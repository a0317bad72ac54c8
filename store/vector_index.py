"""The Chroma collection that indexes insight embeddings by insight id.

Chroma holds only ids and vectors: texts, sources and relations live in SQL, so this index can be
dropped and rebuilt at any time. Every call here is blocking; the store runs them in worker threads.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from operator import methodcaller
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import numpy as np

from store.errors import StoreUnavailable
from store.outages import outage_boundary

log = logging.getLogger(__name__)

T = TypeVar("T")

# Chroma caps how many records one add/get may carry; staying well under keeps large reindexes safe.
WRITE_BATCH = 2000
# Counting a large collection costs milliseconds (8 ms at 100,000), so queries use a count that is
# at most this old; this process's own writes refresh it at once.
COUNT_TTL_SECONDS = 5.0
# An insight's id is a hash of its text, so its vector never changes while the model stays the same:
# recently read vectors are kept (384 floats each, about 12 MB at this size).
VECTOR_CACHE_SIZE = 8192


def _telemetry_off() -> Any:
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def open_chroma_client(chroma_url: str | None, chroma_dir: Path) -> Any:
    """One client for the life of the process: embedded in ``chroma_dir``, or a Chroma server."""
    import chromadb

    settings = _telemetry_off()
    if chroma_url:
        parsed = urlparse(chroma_url)
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        host = parsed.hostname or "127.0.0.1"
        # Chroma joins host and port with a colon, so an IPv6 address keeps its brackets.
        host = f"[{host}]" if ":" in host else host
        try:
            return chromadb.HttpClient(host=host, port=port, ssl=parsed.scheme == "https", settings=settings)
        except Exception as error:
            raise StoreUnavailable(f"cannot reach the Chroma server at {chroma_url}: {error}") from error
    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_dir), settings=settings)


class VectorIndex:
    def __init__(self, client: Any, collection_name: str, model_name: str, dimension: int) -> None:
        self._client = client
        self._name = collection_name
        self._model_name = model_name
        self._dimension = dimension
        self._known_count: tuple[int, float] | None = None
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vectors_lock = threading.Lock()
        self._reopen_lock = threading.Lock()
        from chromadb.errors import NotFoundError

        self._not_found = NotFoundError
        self._collection = self._open()

    def _open(self) -> Any:
        with outage_boundary("opening the Chroma collection"):
            collection = self._client.get_or_create_collection(
                self._name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine", "ef_search": 64}},
                metadata={"model": self._model_name, "dimension": self._dimension},
            )
        built_with = (collection.metadata or {}).get("model")
        if built_with and built_with != self._model_name:
            log.warning(
                "the Chroma collection %r was built with model %r but %r is configured; run `insight-recall reindex`",
                self._name,
                built_with,
                self._model_name,
            )
            self.needs_rebuild = True
        else:
            self.needs_rebuild = False
        return collection

    def _call(self, operation: Callable[[Any], T]) -> T:
        """Runs ``operation`` on the collection. A collection that is not found was rebuilt by
        another process (``reindex`` on a shared server gives it a new id): it is reopened by name
        once; if that fails too, the outage is reported like any other."""
        with outage_boundary("Chroma"):
            collection = self._collection
            try:
                return operation(collection)
            except self._not_found:
                self._reopen(collection)
            return operation(self._collection)

    def _reopen(self, stale: Any) -> None:
        with self._reopen_lock:
            if self._collection is not stale:
                return  # another thread has reopened it already
            self._collection = self._client.get_collection(self._name, embedding_function=None)
            self._forget(None)
        log.warning("the Chroma collection %r was rebuilt elsewhere; reopened it by name", self._name)

    def count(self) -> int:
        found = int(self._call(lambda collection: collection.count()))
        self._known_count = (found, time.monotonic())
        return found

    def _recent_count(self) -> int:
        known = self._known_count
        if known is not None and known[0] > 0 and time.monotonic() - known[1] < COUNT_TTL_SECONDS:
            return known[0]
        return self.count()

    def _forget(self, ids: Sequence[str] | None) -> None:
        self._known_count = None
        with self._vectors_lock:
            if ids is None:
                self._vectors.clear()
            else:
                for found in ids:
                    self._vectors.pop(found, None)

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        self._forget(ids)
        for start in range(0, len(ids), WRITE_BATCH):
            chunk_ids = list(ids[start : start + WRITE_BATCH])
            chunk_vectors = vectors[start : start + WRITE_BATCH]
            self._call(methodcaller("upsert", ids=chunk_ids, embeddings=chunk_vectors))
        self._known_count = None

    def delete(self, ids: Sequence[str]) -> None:
        self._forget(ids)
        for start in range(0, len(ids), WRITE_BATCH):
            chunk = list(ids[start : start + WRITE_BATCH])
            self._call(methodcaller("delete", ids=chunk))
        self._known_count = None

    def query(self, vectors: np.ndarray, limit: int) -> list[list[tuple[str, float]]]:
        """Nearest ids for each vector with cosine similarity (Chroma reports cosine distance)."""
        if len(vectors) == 0:
            return []
        available = self._recent_count()
        if available == 0:
            return [[] for _ in range(len(vectors))]
        n_results = min(limit, available)
        answer = self._call(
            lambda collection: collection.query(query_embeddings=vectors, n_results=n_results, include=["distances"])
        )
        return [
            [(found_id, 1.0 - float(distance)) for found_id, distance in zip(ids, distances, strict=True)]
            for ids, distances in zip(answer["ids"], answer["distances"], strict=True)
        ]

    def vectors_for(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        found: dict[str, np.ndarray] = {}
        with self._vectors_lock:
            for wanted in ids:
                cached = self._vectors.get(wanted)
                if cached is not None:
                    self._vectors.move_to_end(wanted)
                    found[wanted] = cached
        missing = list(dict.fromkeys(wanted for wanted in ids if wanted not in found))
        if not missing:
            return found
        answer = self._call(lambda collection: collection.get(ids=missing, include=["embeddings"]))
        read = {
            found_id: np.asarray(vector, dtype=np.float32)
            for found_id, vector in zip(answer["ids"], answer["embeddings"], strict=True)
        }
        with self._vectors_lock:
            for found_id, vector in read.items():
                vector.setflags(write=False)
                self._vectors[found_id] = vector
            while len(self._vectors) > VECTOR_CACHE_SIZE:
                self._vectors.popitem(last=False)
        return {**found, **read}

    def all_ids(self) -> set[str]:
        found: set[str] = set()
        offset = 0
        while True:
            page = self._call(methodcaller("get", include=[], limit=WRITE_BATCH * 5, offset=offset))
            found.update(page["ids"])
            if len(page["ids"]) < WRITE_BATCH * 5:
                return found
            offset += len(page["ids"])

    def recreate(self) -> None:
        """Drops the collection and makes an empty one, for a full rebuild from SQL."""
        with outage_boundary("rebuilding the Chroma collection"):
            try:
                self._client.delete_collection(self._name)
            except Exception as error:
                log.debug("delete_collection(%s): %s", self._name, error)
        self._forget(None)
        self._collection = self._open()
        self.needs_rebuild = False
