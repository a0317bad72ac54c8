"""Who may run what, checked by the bot itself.

Discord's ``default_member_permissions`` only hides a command, server admins can override it, and
Discord ignores it on subcommands altogether (``/insight add`` is one), so the bot checks the
permissions Discord sends with every interaction as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import discord
from discord import app_commands

T = TypeVar("T")


def is_manager(interaction: discord.Interaction[Any]) -> bool:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    if not interaction.permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])
    return True


def manager_only() -> Callable[[T], T]:
    """Manage Server in this server, as Discord reports it for this interaction."""
    return app_commands.check(is_manager)
