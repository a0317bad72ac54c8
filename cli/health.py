"""`insight-recall health`: is the store reachable? For container health checks and operators.

It reads the settings and asks the database and Chroma for an answer without loading the model,
so it costs well under a second and can run every half minute. When a bot runs on this data
directory it also checks the bot's heartbeat (store.heartbeat): a gateway or digest loop that has
stopped beating fails the check.
"""

from __future__ import annotations

import asyncio
import json
import sys

import click

from config.settings import Settings


async def check_health(settings: Settings) -> dict[str, str]:
    from sqlalchemy import text

    from store.database import create_engine
    from store.heartbeat import stale_parts

    problems: dict[str, str] = stale_parts(settings.data_dir)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:
        problems["database"] = f"unreachable ({type(error).__name__})"
    finally:
        await engine.dispose()
    if settings.chroma_url:
        # Imported only here: embedded Chroma has no server to ask, and numpy and chromadb cost time.
        from store.vector_index import open_chroma_client

        try:
            client = await asyncio.to_thread(open_chroma_client, settings.chroma_url, settings.chroma_dir)
            await asyncio.to_thread(client.heartbeat)
        except Exception as error:
            problems["chroma"] = f"unreachable ({type(error).__name__})"
    return problems


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
    sys.exit(1 if problems else 0)
