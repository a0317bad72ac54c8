"""`insight-recall`: the command line, a thin front over ``store`` like the bot.

Each command reads settings, opens the store once, does one thing, and prints either a human view
or (with --json) one JSON document that scripts and benchmarks read. Settings are read when a
command first needs them and the store's modules are imported inside the commands, so --help and
--version answer at once (even with a wrong setting), and the model loads only if something is
encoded.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli import render
from cli.resources import sample_briefs_dir, with_saved_lists, with_store
from config.exit_codes import ExitCode
from config.logs import configure_logging
from config.settings import ConfigError, Settings, load_settings
from store import StoreError

if TYPE_CHECKING:
    from store import InsightStore, SavedLists


def _settings(context: click.Context) -> Settings:
    return context.obj["settings"]  # type: ignore[no-any-return]


class _CommandResources(dict[str, Any]):
    """The click context's ``obj``: ``obj["settings"]`` reads and checks the settings on first use,
    so a wrong setting stops the commands that need settings, never --help."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self._verbose = verbose

    def __missing__(self, key: str) -> Any:
        if key != "settings":
            raise KeyError(key)
        try:
            settings = load_settings()
        except ConfigError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(ExitCode.CONFIG)
        configure_logging(settings, self._verbose)
        self["settings"] = settings
        return settings


def _emit(as_json: bool, payload: Any, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        human()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="insight-recall", prog_name="insight-recall", message="%(prog)s %(version)s")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail to stderr.")
@click.pass_context
def cli(context: click.Context, verbose: bool) -> None:
    """Recall podcast-brief insights by meaning, from the command line or Discord."""
    context.obj = _CommandResources(verbose)


@cli.command("prepare-model")
@click.option("--force", is_flag=True, help="Prepare again even if a checked preparation exists.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def prepare_model_command(context: click.Context, force: bool, as_json: bool) -> None:
    """Export the embedding model for ONNX Runtime and check it against PyTorch (set-up runs this once)."""
    from store import ModelNotSupported, find_prepared, prepare_model, pytorch_installed

    settings = _settings(context)
    cache = settings.resolved_model_cache
    prepared, reason = (None, "asked to prepare again") if force else find_prepared(cache, settings.embedding_model)
    if prepared is not None:
        try:
            from store import OnnxEmbedder

            OnnxEmbedder(settings.embedding_model, prepared)
        except Exception as error:
            prepared, reason = None, f"damaged ({type(error).__name__}: {error})"
    made = prepared is None
    if prepared is None:
        if not pytorch_installed():
            click.echo("error: preparing the model needs PyTorch and sentence-transformers: run bash scripts/setup.sh", err=True)
            sys.exit(ExitCode.FAILED)
        logging.getLogger(__name__).info("preparing %s: %s", settings.embedding_model, reason)
        try:
            prepared = prepare_model(cache, settings.embedding_model)
        except ModelNotSupported as error:
            click.echo(f"nothing to prepare: {error}; it is encoded with PyTorch")
            return
    summary = {
        "model": settings.embedding_model,
        "directory": str(prepared.directory),
        "dimension": prepared.dimension,
        "verified": prepared.verified,
        "largest_difference": prepared.manifest["largest_difference"],
        "prepared_now": made,
    }
    _emit(
        as_json,
        summary,
        lambda: click.echo(
            f"{'prepared' if made else 'already prepared'}: {prepared.directory} "
            f"(largest difference from PyTorch {summary['largest_difference']:.1g}"
            f"{'' if prepared.verified else ', too large: PyTorch will encode'})"
        ),
    )


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def ingest(context: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Add briefs (.txt/.md), emails (.eml/.mbox), JSON Lines or notes; folders are walked."""

    async def work(store: InsightStore) -> dict[str, Any]:
        with render.progress_bar("ingesting", enabled=not as_json) as advance:
            report = await store.ingest_paths(paths, progress=advance)
        return report.as_dict()

    report = with_store(context, work, reconcile=True)
    _emit(as_json, report, lambda: render.ingest_report(report))
    if report["failed"]:
        sys.exit(ExitCode.FAILED)


@cli.command()
@click.argument("query", required=False)
@click.option("-k", "count", type=click.IntRange(1, 50), default=None, help="How many results (default: INSIGHT_RESULT_COUNT).")
@click.option("--queries-file", type=click.File("r", encoding="utf-8"), help="Answer one query per line (JSON Lines out).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def search(context: click.Context, query: str | None, count: int | None, queries_file: Any, as_json: bool) -> None:
    """Find the insights closest in meaning to QUERY, each with its related insights."""
    if (query is None) == (queries_file is None):
        raise click.UsageError('give a QUERY or --queries-file FILE (one of them), e.g. insight-recall search "custom AI chips"')

    async def one(store: InsightStore) -> dict[str, Any]:
        return (await store.search(query or "", count)).as_dict()

    async def many(store: InsightStore) -> None:
        for line in queries_file:
            text = line.strip()
            if not text:
                continue
            try:
                answer: dict[str, Any] = (await store.search(text, count)).as_dict()
            except StoreError as error:
                answer = {"query": text, "error": str(error), "results": []}
            click.echo(json.dumps(answer, ensure_ascii=False))

    if queries_file is not None:
        with_store(context, many)
        return
    result = with_store(context, one)
    _emit(as_json, result, lambda: render.search_result(result))


@cli.command()
@click.argument("insight_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def related(context: click.Context, insight_id: str, as_json: bool) -> None:
    """Show one insight with all its related insights."""

    async def work(store: InsightStore) -> dict[str, Any]:
        return (await store.related(insight_id)).as_dict()

    hit = with_store(context, work)
    _emit(as_json, hit, lambda: render.search_result({"query": None, "results": [hit]}))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats(context: click.Context, as_json: bool) -> None:
    """Counts of insights, briefs, links and saved items."""

    async def work(store: InsightStore) -> dict[str, Any]:
        return await store.stats()

    counts = with_store(context, work)
    _emit(as_json, counts, lambda: render.key_values(counts))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def reindex(context: click.Context, as_json: bool) -> None:
    """Rebuild the Chroma index (and SQLite's word index) from the SQL database."""

    async def work(store: InsightStore) -> int:
        with render.progress_bar("reindexing", enabled=not as_json) as advance:
            return await store.reindex(progress=advance)

    indexed = with_store(context, work)
    _emit(as_json, {"indexed": indexed}, lambda: click.echo(f"reindexed {indexed} insights"))


@cli.group()
def saved() -> None:
    """A person's saved insights (the same lists the bot's Save buttons fill)."""


def _user_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--user", "user_id", required=True, help="The person's id (a Discord user id).")(function)


@saved.command("add")
@_user_option
@click.argument("insight_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def saved_add(context: click.Context, user_id: str, insight_id: str, as_json: bool) -> None:
    """Save an insight to a person's list (saving twice keeps one)."""

    async def work(lists: SavedLists) -> bool:
        return await lists.save(user_id, insight_id.strip().lower())

    added = with_saved_lists(context, work)
    _emit(as_json, {"saved": added, "already_saved": not added}, lambda: click.echo("saved" if added else "already saved"))


@saved.command("remove")
@_user_option
@click.argument("insight_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def saved_remove(context: click.Context, user_id: str, insight_id: str, as_json: bool) -> None:
    """Remove an insight from a person's list."""

    async def work(lists: SavedLists) -> bool:
        return await lists.remove(user_id, insight_id.strip().lower())

    removed = with_saved_lists(context, work)
    _emit(as_json, {"removed": removed}, lambda: click.echo("removed" if removed else "it was not in the list"))


@saved.command("list")
@_user_option
@click.option("--page", type=click.IntRange(1), default=1)
@click.option("--per-page", type=click.IntRange(1, 100), default=10)
@click.option("--search", "query", default=None, help="Only items whose text has these words.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def saved_list(context: click.Context, user_id: str, page: int, per_page: int, query: str | None, as_json: bool) -> None:
    """A person's saved insights, newest first."""

    async def work(lists: SavedLists) -> dict[str, Any]:
        if query is not None:
            items = await lists.search(user_id, query, limit=per_page)
            return {"page": 1, "pages": 1, "total": len(items), "items": [render.saved_item(item) for item in items]}
        listing = await lists.list(user_id, page=page, per_page=per_page)
        return {
            "page": listing.page,
            "pages": listing.pages,
            "total": listing.total,
            "items": [render.saved_item(item) for item in listing.items],
        }

    listing = with_saved_lists(context, work)
    _emit(as_json, listing, lambda: render.saved_listing(listing))


@saved.command("export")
@_user_option
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "json"]), default="markdown", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Write to this file instead of stdout.")
@click.pass_context
def saved_export(context: click.Context, user_id: str, fmt: str, output: Path | None) -> None:
    """Export a person's saved list as Markdown, CSV or JSON."""

    from store import export_saved

    async def work(lists: SavedLists) -> tuple[str, bytes]:
        return export_saved(await lists.all_items(user_id), fmt)  # type: ignore[arg-type]

    _filename, body = with_saved_lists(context, work)
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        output.write_bytes(body)
        click.echo(f"wrote {output}", err=True)


@cli.command()
@click.option("--query", default="how do companies cut the cost of inference?", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def demo(context: click.Context, query: str, as_json: bool) -> None:
    """Load the bundled sample briefs and answer a sample search: the quick start's main job."""

    async def work(store: InsightStore) -> tuple[dict[str, Any], dict[str, Any]]:
        report = await store.ingest_paths([sample_briefs_dir()])
        result = await store.search(query)
        return report.as_dict(), result.as_dict()

    report, result = with_store(context, work, reconcile=True)
    if as_json:
        click.echo(json.dumps({"ingest": report, "search": result}, ensure_ascii=False))
        return
    render.ingest_report(report)
    click.echo()
    render.search_result(result)


def _register_feature_commands() -> None:
    from cli import bench_commands, bot_commands, digest_commands, health

    for module in (bot_commands, digest_commands, health, bench_commands):
        module.register(cli)


_register_feature_commands()


def main() -> None:
    cli(prog_name="insight-recall")


if __name__ == "__main__":
    main()
