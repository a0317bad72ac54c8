"""`insight-recall eval`: the evaluation set on a fresh store, with or without distractors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from store import DISTRACTOR_SEED, RANKINGS


@click.command(name="eval")
@click.option(
    "--distractors", type=click.IntRange(0, 200_000), default=0, show_default=True, help="Generated look-alike insights added."
)
@click.option(
    "--split", type=click.Choice(["dev", "test", "all"]), default="dev", show_default=True, help="Tune on dev, report on test."
)
@click.option("--seed", type=int, default=DISTRACTOR_SEED, show_default=True, help="Seed of the distractor generator.")
@click.option(
    "--ranking",
    type=click.Choice(list(RANKINGS)),
    default="store",
    show_default=True,
    help="store: the store's own search; dense: nearest neighbours alone, as a baseline.",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=Path(".bench-cache"),
    show_default=True,
    help="Where distractor vectors are cached.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (with the misses).")
@click.pass_context
def evaluate_command(
    context: click.Context, distractors: int, split: str, seed: int, ranking: str, cache_dir: Path, as_json: bool
) -> None:
    """Score search on the evaluation set: hit@1, hit@3, MRR, nDCG@5, unrelated queries empty."""
    from cli.resources import build_embedder
    from store import CachedEmbedder, run_evaluation

    embedder = CachedEmbedder(build_embedder(context.obj["settings"]), cache_dir)
    result = asyncio.run(
        run_evaluation(context.obj["settings"], embedder, distractors=distractors, split=split, seed=seed, ranking=ranking)  # type: ignore[arg-type]
    )
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    _print(result)


def _print(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    table = Table(
        title=f"evaluation: {result['split']} split, {result['distractors']:,} distractors, "
        f"{result['store_insights']:,} insights, ranking {result['ranking']}"
    )
    for column in ("kind", "cases", "hit@1", "hit@3", "MRR", "nDCG@5", "unrelated empty"):
        table.add_column(column, justify="right" if column != "kind" else "left")
    rows = [("all", result), *sorted(result["by_kind"].items())]
    for kind, scores in rows:
        table.add_row(
            kind,
            str(scores["cases"]),
            *(str(scores.get(name, "")) for name in ("hit_at_1", "hit_at_3", "mrr", "ndcg_at_5")),
            str(scores.get("empty_for_unrelated", "")) if kind in ("all", "unrelated") else "",
        )
    console.print(table)
    for miss in result["misses"]:
        where = "returned results" if miss["expected"] is None else f"rank {miss['rank'] or '-'}"
        console.print(f"  miss ({miss['kind']}, {where}): {miss['query']}", highlight=False, markup=False)
