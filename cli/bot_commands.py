"""`insight-recall run` and `insight-recall sync-commands`: the Discord front's process commands."""

from __future__ import annotations

import json
import sys

import click

from config.exit_codes import ExitCode
from config.settings import ConfigError, Settings


def _settings(context: click.Context) -> Settings:
    return context.obj["settings"]  # type: ignore[no-any-return]


@click.command()
@click.pass_context
def run(context: click.Context) -> None:
    """Start the Discord bot (needs INSIGHT_DISCORD_TOKEN)."""
    from bot.runner import run_bot

    sys.exit(run_bot(_settings(context)))


@click.command("sync-commands")
@click.option("--guild", "guild_id", type=int, default=None, help="Register in this guild only (shows at once).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sync_commands_command(context: click.Context, guild_id: int | None, as_json: bool) -> None:
    """Register the slash commands with Discord, globally or in one guild."""
    settings = _settings(context)
    try:
        # Before discord.py is even imported: a missing token should cost nothing.
        settings.require_discord_token()
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(ExitCode.CONFIG)

    import aiohttp
    import discord

    from bot.runner import REJECTED_TOKEN, sync_commands

    try:
        count = sync_commands(settings, guild_id)
    except discord.LoginFailure:
        click.echo(REJECTED_TOKEN, err=True)
        sys.exit(ExitCode.FAILED)
    except discord.HTTPException as error:
        click.echo(f"error: Discord refused the command sync (HTTP {error.status}): {error.text}", err=True)
        sys.exit(ExitCode.FAILED)
    except (aiohttp.ClientError, OSError) as error:
        click.echo(f"error: cannot reach the Discord API at {settings.discord_api_base}: {type(error).__name__}", err=True)
        sys.exit(ExitCode.FAILED)
    if as_json:
        click.echo(json.dumps({"synced": count, "guild": guild_id}))
    else:
        click.echo(f"synced {count} commands " + (f"to guild {guild_id}" if guild_id else "globally"))


def register(group: click.Group) -> None:
    group.add_command(run)
    group.add_command(sync_commands_command)
