"""The insight store: ingest, embeddings, the Chroma index, search, saved lists and digest selection.

Plain Python over strings and ids; it knows nothing of Discord, so the bot and the command line are
two thin fronts over the same code. This module is their one door: they import from ``store`` only,
never from its modules, so the parts behind it can move without touching a front.

Names load on first use (PEP 562): ``import store`` costs nothing, and a command that never searches
never imports numpy, Chroma or the model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The public name and the module that defines it ("module:name" where the module's own name would be
# unclear beside the others). A front needing something else asks for a method
# or a name here; it does not reach into the module.
_EXPORTS: dict[str, str] = {
    # The store and what it is built from once at start-up.
    "InsightStore": "store.service",
    "ReconcileReport": "store.service",
    "build_embedder": "store.startup",
    "build_loaded_embedder": "store.startup",
    "open_saved_lists": "store.startup",
    "ModelNotSupported": "store.prepared_model",
    "find_prepared": "store.prepared_model",
    "prepare_model": "store.prepared_model",
    "pytorch_installed": "store.prepared_model",
    "OnnxEmbedder": "store.onnx_encoder",
    "HEARTBEAT_SECONDS": "store.heartbeat:BEAT_SECONDS",
    "GATEWAY_HEARTBEAT": "store.heartbeat:GATEWAY",
    "DIGEST_HEARTBEAT": "store.heartbeat:DIGEST",
    "record_heartbeat": "store.heartbeat:beat",
    "clear_heartbeat": "store.heartbeat:stop",
    "Embedder": "store.embedding",
    "SavedLists": "store.saved",
    # What it returns.
    "IngestReport": "store.model",
    "SearchHit": "store.model",
    "SearchResult": "store.model",
    "SourceRef": "store.model",
    "RelatedInsight": "store.model",
    "SavedItem": "store.saved",
    "SavedPage": "store.saved",
    "DigestClaim": "store.digest.service",
    "DigestStatus": "store.digest.service",
    "DigestConfig": "store.digest.schedule",
    # Its errors.
    "StoreError": "store.errors",
    "InsightNotFound": "store.errors",
    "InvalidInput": "store.errors",
    "StoreUnavailable": "store.errors",
    "DataDirectoryLocked": "store.errors",
    # Limits and plain helpers the fronts word their answers with.
    "MAX_QUERY_CHARS": "store.search",
    "export_saved": "store.export",
    "timezone_choices": "store.digest.schedule",
    "local_today": "store.digest.schedule",
    "parse_time": "store.digest.schedule",
    "parse_timezone": "store.digest.schedule",
    "clean_text": "store.text",
    "insight_id": "store.text",
    "looks_like_insight_id": "store.text",
    "ID_LENGTH": "store.text",
    "check_health": "store.health",
    "run_bench": "store.bench.runner",
    "CachedEmbedder": "store.bench.vector_cache",
    "run_evaluation": "store.evaluation.harness",
    "DISTRACTOR_SEED": "store.evaluation.harness",
    "RANKINGS": "store.evaluation.harness",
}

__all__ = [
    "DIGEST_HEARTBEAT",
    "DISTRACTOR_SEED",
    "GATEWAY_HEARTBEAT",
    "HEARTBEAT_SECONDS",
    "ID_LENGTH",
    "MAX_QUERY_CHARS",
    "RANKINGS",
    "CachedEmbedder",
    "DataDirectoryLocked",
    "DigestClaim",
    "DigestConfig",
    "DigestStatus",
    "Embedder",
    "IngestReport",
    "InsightNotFound",
    "InsightStore",
    "InvalidInput",
    "ModelNotSupported",
    "OnnxEmbedder",
    "ReconcileReport",
    "RelatedInsight",
    "SavedItem",
    "SavedLists",
    "SavedPage",
    "SearchHit",
    "SearchResult",
    "SourceRef",
    "StoreError",
    "StoreUnavailable",
    "build_embedder",
    "build_loaded_embedder",
    "check_health",
    "clean_text",
    "clear_heartbeat",
    "export_saved",
    "find_prepared",
    "insight_id",
    "local_today",
    "looks_like_insight_id",
    "open_saved_lists",
    "parse_time",
    "parse_timezone",
    "prepare_model",
    "pytorch_installed",
    "record_heartbeat",
    "run_bench",
    "run_evaluation",
    "timezone_choices",
]


def __getattr__(name: str) -> Any:
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'store' has no attribute {name!r}")
    module, _, defined_as = where.partition(":")
    value = getattr(importlib.import_module(module), defined_as or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:
    from store.bench.runner import run_bench
    from store.bench.vector_cache import CachedEmbedder
    from store.digest.schedule import DigestConfig, local_today, parse_time, parse_timezone, timezone_choices
    from store.digest.service import DigestClaim, DigestStatus
    from store.embedding import Embedder
    from store.errors import DataDirectoryLocked, InsightNotFound, InvalidInput, StoreError, StoreUnavailable
    from store.evaluation.harness import DISTRACTOR_SEED, RANKINGS, run_evaluation
    from store.export import export_saved
    from store.health import check_health
    from store.heartbeat import BEAT_SECONDS as HEARTBEAT_SECONDS
    from store.heartbeat import DIGEST as DIGEST_HEARTBEAT
    from store.heartbeat import GATEWAY as GATEWAY_HEARTBEAT
    from store.heartbeat import beat as record_heartbeat
    from store.heartbeat import stop as clear_heartbeat
    from store.model import IngestReport, RelatedInsight, SearchHit, SearchResult, SourceRef
    from store.onnx_encoder import OnnxEmbedder
    from store.prepared_model import ModelNotSupported, find_prepared, prepare_model, pytorch_installed
    from store.saved import SavedItem, SavedLists, SavedPage
    from store.search import MAX_QUERY_CHARS
    from store.service import InsightStore, ReconcileReport
    from store.startup import build_embedder, build_loaded_embedder, open_saved_lists
    from store.text import ID_LENGTH, clean_text, insight_id, looks_like_insight_id
