"""`insight-recall health`: is the store reachable? For container health checks and operators.

It reads the settings and asks the store (store.check_health), which loads no model, so it costs
well under a second and can run every half minute. When a bot runs on this data directory it also
checks the bot's heartbeat: a gateway or digest loop that has stopped beating fails the check.
"""

from __future__ import annotations

import asyncio
import json
import sys

import click

from config.exit_codes import ExitCode
from store import check_health


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def health(context: click.Context, as_json: bool) -> None:
    """Check that the database, Chroma and a running bot's loops answer (exit 0) or say which does not (exit 1)."""
    problems = asyncio.run(check_health(context.obj["settings"]))
    if as_json:
        click.echo(json.dumps({"ok": not problems, "problems": problems}))
    elif problems:
        for part, problem in problems.items():
            click.echo(f"{part}: {problem}", err=True)
    else:
        click.echo("ok")
    sys.exit(ExitCode.FAILED if problems else ExitCode.OK)


def register(group: click.Group) -> None:
    group.add_command(health)
