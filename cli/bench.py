"""`insight-recall bench`: builds synthetic stores and prints how fast they answer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click


def _sizes(value: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter("give sizes as numbers separated by commas, e.g. 1000,10000,100000") from None
    if not sizes or min(sizes) < 50:
        raise click.BadParameter("each size must be at least 50")
    return sizes


@click.command()
@click.option("--sizes", default="1000,10000,100000", show_default=True, help="Store sizes to build and measure.")
@click.option("--lookups", type=click.IntRange(10, 5000), default=200, show_default=True, help="Sequential lookups per size.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=Path(".bench-cache"),
    show_default=True,
    help="Where embeddings are cached.",
)
@click.option(
    "--quality-distractors",
    type=click.IntRange(0, 200_000),
    default=10_000,
    show_default=True,
    help="Distractor insights in the store the evaluation set is scored on.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def bench(context: click.Context, sizes: str, lookups: int, cache_dir: Path, quality_distractors: int, as_json: bool) -> None:
    """Measure lookup latency, concurrency, ingest, start-up, memory and quality."""
    from cli.resources import build_embedder
    from store import run_bench

    embedder = build_embedder(context.obj["settings"])
    result = asyncio.run(run_bench(_sizes(sizes), lookups, cache_dir, embedder, quality_distractors))
    if as_json:
        click.echo(json.dumps(result))
        return
    _table(result)


def _table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        # Piped or redirected output would be cut to 80 columns, shortening every figure to "1,0…".
        console = Console(width=160)
    table = Table(title=f"insight-recall bench ({result['machine']['cpus']} CPUs, {result['machine']['memory_gb']} GB)")
    for column in (
        "size",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "repeat p50",
        "100 concurrent s",
        "lookups/s",
        "naive p50",
        "naive ÷ ours",
        "ready s",
        "RSS MB",
    ):
        table.add_column(column, justify="right")
    for entry in result["sizes"]:
        start_up = entry["start_up"]
        table.add_row(
            f"{entry['size']:,}",
            str(entry["lookup_ms"]["p50"]),
            str(entry["lookup_ms"]["p95"]),
            str(entry["lookup_ms"]["p99"]),
            str(entry["repeat_lookup_ms_p50"]),
            str(entry["concurrent_100"]["seconds"]),
            str(entry["concurrent_100"]["lookups_per_second"]),
            str(entry["naive_lookup_ms_p50"]),
            str(entry["naive_to_ours_ratio"]),
            str(start_up.get("ready_seconds", "-")),
            str(start_up.get("rss_mb", "-")),
        )
    console.print(table)
    ingest = result["ingest"]
    console.print(
        f"ingest: {ingest['insights']} insights in {ingest['first_seconds']} s = {ingest['insights_per_second']}/s; "
        f"re-ingest {ingest['reingest_seconds']} s ({ingest['reingest_speedup']}x faster)"
    )
    jsonl = result.get("jsonl_reingest")
    if jsonl:
        console.print(
            f"JSON Lines: {jsonl['lines']:,} lines ingested in {jsonl['first_seconds']} s; "
            f"unchanged again in {jsonl['reingest_seconds']} s ({jsonl['reingest_speedup']}x faster)"
        )
    quality = result["quality"]
    for label, splits in (("with", quality["with_distractors"]), ("without", quality["without_distractors"])):
        for split, scores in splits.items():
            console.print(
                f"quality, {split} split, {label} {quality['distractors']:,} distractors: hit@1 {scores['hit_at_1']}, "
                f"hit@3 {scores['hit_at_3']}, MRR {scores['mrr']}, nDCG@5 {scores['ndcg_at_5']}, "
                f"unrelated empty {scores['empty_for_unrelated']}"
            )
    for name, verdict in result["targets"].items():
        console.print(f"{'met' if verdict['met'] else 'NOT met':>7}  {name}: {verdict['measured']} (target {verdict['target']})")
