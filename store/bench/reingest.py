"""Re-ingesting an unchanged JSON Lines file: the case a nightly import job hits every day, where
only a hash and one query should be spent (the content-hash shortcut in InsightStore.ingest_paths)."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from config.settings import Settings
from store.bench.generator import generate
from store.embedding import Embedder
from store.service import InsightStore

JSONL_LINES = 10_000


async def measure_jsonl_reingest(embedder: Embedder, lines: int = JSONL_LINES) -> dict[str, Any]:
    texts = generate(lines, seed=47)
    with tempfile.TemporaryDirectory(prefix="bench-jsonl-") as folder:
        feed = Path(folder) / "feed.jsonl"
        feed.write_text(
            "".join(json.dumps({"text": text, "source": "bench feed"}, ensure_ascii=False) + "\n" for text in texts),
            encoding="utf-8",
        )
        async with await InsightStore.open(Settings(data_dir=Path(folder) / "data"), embedder, reconcile=False) as store:
            started = time.perf_counter()
            first = await store.ingest_paths([feed])
            first_seconds = time.perf_counter() - started
            started = time.perf_counter()
            again = await store.ingest_paths([feed])
            again_seconds = time.perf_counter() - started
    return {
        "lines": lines,
        "first_seconds": round(first_seconds, 2),
        "first_added": first.added,
        "reingest_seconds": round(again_seconds, 3),
        "reingest_unchanged": again.unchanged,
        "reingest_speedup": round(first_seconds / again_seconds, 1),
    }
