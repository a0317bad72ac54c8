"""Measuring a store the way the bot uses it.

Each size is built in a temporary data directory: its embeddings come from the real model once and
are cached on disk (keyed by generator version, model and size), then written through the real SQL
write path and the Chroma index directly, skipping only the encode. Ingest speed is measured
separately, through the full ingest path with the real model, on a sample of brief files.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from config.settings import Settings
from store.bench.generator import GENERATOR_VERSION, briefs, generate, queries
from store.bench.reingest import JSONL_LINES, measure_jsonl_reingest
from store.embedding import Embedder
from store.model import BriefSource
from store.repository import PendingBrief, WriteBatch
from store.service import InsightStore
from store.text import insight_id

INGEST_SAMPLE = 2000
CONCURRENT = 100
BUILD_CHUNK_BRIEFS = 500


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def cached_embeddings(embedder: Embedder, texts: list[str], cache_dir: Path) -> np.ndarray:
    safe_model = embedder.name.replace("/", "_")
    path = cache_dir / f"{safe_model}-g{GENERATOR_VERSION}-{len(texts)}.npy"
    if path.exists():
        vectors: np.ndarray = np.load(path)
        if vectors.shape == (len(texts), embedder.dimension):
            return vectors
    cache_dir.mkdir(parents=True, exist_ok=True)
    vectors = embedder.encode(texts)
    np.save(path, vectors)
    return vectors


async def build_store(store: InsightStore, texts: list[str], vectors: np.ndarray) -> None:
    position = {insight_id(text): row for row, text in enumerate(texts)}
    groups = briefs(texts)
    for start in range(0, len(groups), BUILD_CHUNK_BRIEFS):
        batch = WriteBatch()
        for number, (main, related) in enumerate(groups[start : start + BUILD_CHUNK_BRIEFS], start=start):
            for text in (main, *related):
                batch.texts[insight_id(text)] = text
            batch.briefs.append(
                PendingBrief(
                    BriefSource("brief", f"bench-brief-{number}.txt"),
                    insight_id(main),
                    tuple(insight_id(text) for text in related),
                )
            )
        await store.write_prepared(batch, lambda ids: vectors[[position[found] for found in ids]])


async def _lookup_latencies(store: InsightStore, asked: list[str]) -> list[float]:
    latencies = []
    for query in asked:
        started = time.perf_counter()
        await store.search(query)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def _naive_latencies(store: InsightStore, asked: list[str]) -> list[float]:
    """The straightforward way: its own encode per request, one query per related insight."""
    latencies = []
    for query in asked:
        started = time.perf_counter()
        vector = await asyncio.to_thread(store.embedder.encode, [query])
        found = (await asyncio.to_thread(store.index.query, vector, store.settings.result_count))[0]
        for hit_id, _score in found:
            await store.repository.texts([hit_id])
            for relation in (await store.repository.relations([hit_id])).get(hit_id, []):
                await store.repository.texts([relation.other_id])
            neighbours = (
                await asyncio.to_thread(
                    store.index.query, (await asyncio.to_thread(store.index.vectors_for, [hit_id]))[hit_id][None, :], 4
                )
            )[0]
            for other, _ in neighbours:
                await store.repository.texts([other])
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def measure_size(size: int, embedder: Embedder, cache_dir: Path, lookups: int) -> dict[str, Any]:
    texts = generate(size)
    vectors = await asyncio.to_thread(cached_embeddings, embedder, texts, cache_dir)
    with tempfile.TemporaryDirectory(prefix=f"bench-{size}-") as folder:
        settings = Settings(data_dir=Path(folder))
        async with await InsightStore.open(settings, embedder, reconcile=False) as store:
            started = time.perf_counter()
            await build_store(store, texts, vectors)
            build_seconds = time.perf_counter() - started
            asked = queries(lookups)
            await _lookup_latencies(store, queries(5, seed=99))  # warm-up
            latencies = await _lookup_latencies(store, asked)
            repeat = await _lookup_latencies(store, asked[:20])
            concurrent_queries = [f"{query} (concurrent {number})" for number, query in enumerate(queries(CONCURRENT, seed=23))]
            started = time.perf_counter()
            await asyncio.gather(*(store.search(query) for query in concurrent_queries))
            concurrent_seconds = time.perf_counter() - started
            naive = await _naive_latencies(store, [f"{query} (naive)" for query in asked[: max(10, lookups // 4)]])
        start_up = ready_in_subprocess(settings, embedder.name, cache_dir / "model-cache")
    p50 = statistics.median(latencies)
    return {
        "size": size,
        "build_seconds": round(build_seconds, 2),
        "lookup_ms": {
            "p50": round(p50, 2),
            "p95": round(_percentile(latencies, 0.95), 2),
            "p99": round(_percentile(latencies, 0.99), 2),
        },
        "repeat_lookup_ms_p50": round(statistics.median(repeat), 2),
        "concurrent_100": {
            "seconds": round(concurrent_seconds, 3),
            "lookups_per_second": round(CONCURRENT / concurrent_seconds, 1),
        },
        "naive_lookup_ms_p50": round(statistics.median(naive), 2),
        "naive_to_ours_ratio": round(statistics.median(naive) / p50, 2),
        "start_up": start_up,
    }


_READY_SCRIPT = r"""
import time
started = time.perf_counter()
import asyncio, json, resource, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from config.settings import Settings
from store.embedding import load_embedder
from store.service import InsightStore
imported = time.perf_counter()
embedder = load_embedder({model!r}, "cpu", cache_dir=Path({model_cache!r}))
loaded = time.perf_counter()

async def main():
    async with await InsightStore.open(Settings(data_dir=Path({data_dir!r})), embedder) as store:
        opened = time.perf_counter()
        await store.search("why does inference cost matter")
        answered = time.perf_counter()
        rss_kb = int(next(line for line in open("/proc/self/status") if line.startswith("VmRSS")).split()[1])
        print(json.dumps({{"ready_seconds": round(answered - started, 2), "import_seconds": round(imported - started, 2),
                          "model_seconds": round(loaded - imported, 2), "open_seconds": round(opened - loaded, 2),
                          "first_answer_seconds": round(answered - opened, 2), "rss_mb": round(rss_kb / 1024, 1)}}))

asyncio.run(main())
"""


def ready_in_subprocess(settings: Settings, model: str, model_cache: Path) -> dict[str, Any]:
    """A fresh process: imports, model, store, one answer; and its resident memory after that.
    Its exported model graph is cached as on any restart after the first."""
    repo = str(Path(__file__).resolve().parents[2])
    script = _READY_SCRIPT.format(repo=repo, data_dir=str(settings.data_dir), model=model, model_cache=str(model_cache))
    started = time.perf_counter()
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        return {"error": finished.stderr[-500:]}
    answer: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    answer["process_wall_seconds"] = round(wall, 2)
    return answer


async def measure_ingest(embedder: Embedder, sample: int = INGEST_SAMPLE) -> dict[str, Any]:
    texts = generate(sample, seed=31)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as folder:
        files = Path(folder) / "briefs"
        files.mkdir()
        header = "Get your free personalized podcast brief\n\nWe scan new podcasts and send you the top 5 insights daily.\n\n"
        for number, (main, related) in enumerate(briefs(texts)):
            body = header + main + "\n\nRelated Insights\n\n" + "\n\n".join(related)
            (files / f"brief-{number:05d}.txt").write_text(body, encoding="utf-8")
        async with await InsightStore.open(Settings(data_dir=Path(folder) / "data"), embedder, reconcile=False) as store:
            started = time.perf_counter()
            first = await store.ingest_paths([files])
            first_seconds = time.perf_counter() - started
            started = time.perf_counter()
            again = await store.ingest_paths([files])
            again_seconds = time.perf_counter() - started
    return {
        "insights": first.added,
        "first_seconds": round(first_seconds, 2),
        "insights_per_second": round(first.added / first_seconds, 1),
        "reingest_seconds": round(again_seconds, 3),
        "reingest_added": again.added,
        "reingest_speedup": round(first_seconds / again_seconds, 1),
    }


QUALITY_DISTRACTORS = 10_000


def _scores(report: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in report.items() if name != "misses"}


async def measure_quality(embedder: Embedder, cache_dir: Path, distractors: int = QUALITY_DISTRACTORS) -> dict[str, Any]:
    """The evaluation set on a fresh store holding ``distractors`` look-alike insights (the figure
    that matters: a store grown over years of briefs) and on one holding the corpus alone. The
    top-level scores are the test split with distractors."""
    from store.bench.vector_cache import CachedEmbedder
    from store.evaluation.cases import load_cases
    from store.evaluation.harness import evaluation_store, rank_cases, split_reports

    cached = CachedEmbedder(embedder, cache_dir)
    settings = Settings()
    by_size: dict[int, dict[str, Any]] = {}
    for size in sorted({0, distractors}):
        async with evaluation_store(settings, cached, size) as built:
            outcomes = await rank_cases(built.store, load_cases())
        by_size[size] = {split: _scores(report.as_dict()) for split, report in split_reports(outcomes, ("dev", "test")).items()}
    headline = {name: value for name, value in by_size[distractors]["test"].items() if name != "by_kind"}
    return {
        **headline,
        "split": "test",
        "distractors": distractors,
        "with_distractors": by_size[distractors],
        "without_distractors": by_size[0],
    }


TARGETS = {
    "lookup_p50_ms_at_100k": 20.0,
    "lookup_p95_ms_at_100k": 40.0,
    "concurrent_100_seconds": 1.5,
    "ingest_insights_per_second": 70.0,
    "reingest_speedup": 20.0,
    "jsonl_reingest_seconds": 0.5,
    "jsonl_reingest_speedup": 20.0,
    "ready_seconds": 10.0,
    "rss_mb_at_100k": 1536.0,
}


def verdicts(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    largest = max(result["sizes"], key=lambda entry: entry["size"])
    at = f" (at {largest['size']:,})"
    measured = {
        "lookup_p50_ms_at_100k": largest["lookup_ms"]["p50"],
        "lookup_p95_ms_at_100k": largest["lookup_ms"]["p95"],
        "concurrent_100_seconds": max(entry["concurrent_100"]["seconds"] for entry in result["sizes"]),
        "ingest_insights_per_second": result["ingest"]["insights_per_second"],
        "reingest_speedup": result["ingest"]["reingest_speedup"],
        "jsonl_reingest_seconds": result["jsonl_reingest"]["reingest_seconds"],
        "jsonl_reingest_speedup": result["jsonl_reingest"]["reingest_speedup"],
        "ready_seconds": max(entry["start_up"].get("ready_seconds", float("inf")) for entry in result["sizes"]),
        "rss_mb_at_100k": largest["start_up"].get("rss_mb", float("inf")),
    }
    higher_is_better = {"ingest_insights_per_second", "reingest_speedup", "jsonl_reingest_speedup"}
    return {
        name + (at if name.endswith("100k") else ""): {
            "target": target,
            "measured": measured[name],
            "met": measured[name] >= target if name in higher_is_better else measured[name] <= target,
        }
        for name, target in TARGETS.items()
    }


async def run_bench(
    sizes: list[int], lookups: int, cache_dir: Path, embedder: Embedder, quality_distractors: int = QUALITY_DISTRACTORS
) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": _machine(), "sizes": []}
    for size in sizes:
        result["sizes"].append(await measure_size(size, embedder, cache_dir, lookups))
    result["ingest"] = await measure_ingest(embedder, min(INGEST_SAMPLE, max(200, max(sizes))))
    result["jsonl_reingest"] = await measure_jsonl_reingest(embedder, min(JSONL_LINES, max(200, max(sizes))))
    result["quality"] = await measure_quality(embedder, cache_dir, quality_distractors)
    result["targets"] = verdicts(result)
    return result


def _machine() -> dict[str, Any]:
    import os
    import platform

    with open("/proc/meminfo") as meminfo:
        memory_kb = next((int(line.split()[1]) for line in meminfo if line.startswith("MemTotal")), 0)
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
