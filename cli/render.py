"""Human-readable output for the command line; --json output bypasses all of this."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

_REASON_LABEL = {"brief": "same brief", "same-idea": "same idea", "similar": "similar"}


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent)


def search_result(result: dict[str, Any]) -> None:
    hits = result["results"]
    if not hits:
        click.echo(f"No good match for {result['query']!r}. Try other words, or ingest more briefs.")
        return
    for number, hit in enumerate(hits, start=1):
        score = f"{hit['score']:.2f}" if hit.get("score") is not None else "-"
        click.secho(f"{number}. [{hit['id']}] score {score}", bold=True)
        click.echo(_wrap(hit["text"], "   "))
        origins = sorted({source["subject"] or source["origin"] for source in hit["sources"]})
        if origins:
            click.echo(f"   from: {'; '.join(origins)}")
        for related in hit["related"]:
            label = _REASON_LABEL.get(related["reason"], related["reason"])
            click.echo(_wrap(f"- ({label}) {related['text']}", "     "))
        click.echo()


def ingest_report(report: dict[str, Any]) -> None:
    click.echo(
        f"added {report['added']}, merged {report['merged']}, unchanged {report['unchanged']}, failed {len(report['failed'])}"
    )
    for failure in report["failed"]:
        click.echo(f"  failed: {failure['path']}: {failure['error']}", err=True)
    for problem in report.get("problems", []):
        click.echo(f"  skipped part of {problem['path']}: {problem['problem']}", err=True)


def key_values(values: dict[str, Any]) -> None:
    width = max(len(key) for key in values)
    for key, value in values.items():
        click.echo(f"{key.ljust(width)}  {value}")


def saved_item(item: Any) -> dict[str, Any]:
    return {"id": item.insight_id, "text": item.text, "saved_at": item.saved_at.isoformat()}


def saved_listing(listing: dict[str, Any]) -> None:
    if not listing["items"]:
        click.echo("Nothing saved yet.")
        return
    for item in listing["items"]:
        click.echo(f"[{item['id']}] {item['saved_at'][:10]}")
        click.echo(_wrap(item["text"], "   "))
    click.echo(f"page {listing['page']} of {listing['pages']} ({listing['total']} saved)")


@contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal only, so pipes and CI logs stay clean."""
    if not enabled or not sys.stderr.isatty():
        yield lambda _done, _total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True) as progress:
        task = progress.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield advance
