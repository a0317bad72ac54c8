"""`insight-recall digest preview`: the five a digest would post now, from the shell."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from store import InsightStore


@click.group()
def digest() -> None:
    """The daily top-five digest."""


@digest.command()
@click.option("--guild", "guild_id", default=None, help="Preview for this guild's channel (skips what it already showed).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def preview(context: click.Context, guild_id: str | None, as_json: bool) -> None:
    """Show, without posting or recording anything, the five insights a digest would post now."""
    from cli.resources import with_store

    async def work(store: InsightStore) -> list[dict[str, Any]]:
        return [pick.as_dict() for pick in await store.digests.preview(guild_id)]

    picks = with_store(context, work)
    if as_json:
        click.echo(json.dumps({"insights": picks}, ensure_ascii=False))
        return
    if not picks:
        click.echo("Nothing to post: the store is empty, or everything was shown in the last 30 days.")
    for number, pick in enumerate(picks, start=1):
        click.secho(
            f"{number}. [{pick['id']}] score {pick['score']:.2f}{' (resurfaced)' if pick['resurfaced'] else ''}", bold=True
        )
        click.echo(f"   {pick['text']}")
        click.echo(f"   why: {pick['why']}")


def register(group: click.Group) -> None:
    group.add_command(digest)
