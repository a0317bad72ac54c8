"""`insight-recall run` and `insight-recall sync-commands`: the Discord front's process commands."""

from __future__ import annotations

import json
import sys

import click

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
    import discord

    from bot.runner import sync_commands

    try:
        count = sync_commands(_settings(context), guild_id)
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    except discord.LoginFailure:
        click.echo("error: Discord rejected the token (401): reset it in the developer portal", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({"synced": count, "guild": guild_id}))
    else:
        click.echo(f"synced {count} commands " + (f"to guild {guild_id}" if guild_id else "globally"))


def register(group: click.Group) -> None:
    group.add_command(run)
    group.add_command(sync_commands_command)
