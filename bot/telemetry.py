"""Per-interaction timing for the one log line each command leaves behind.

The start is taken when the tree first sees the interaction (its ``interaction_check``), so the
latency covers everything the bot did, including the store call, and not Discord's own delivery.
"""

from __future__ import annotations

import time
from typing import Any

import discord

_RECEIVED = "insight_recall.received_at"


def mark_received(interaction: discord.Interaction[Any]) -> None:
    interaction.extras.setdefault(_RECEIVED, time.perf_counter())


def elapsed_ms(interaction: discord.Interaction[Any]) -> int:
    started = interaction.extras.get(_RECEIVED)
    return 0 if started is None else round((time.perf_counter() - started) * 1000)


def command_label(interaction: discord.Interaction[Any]) -> str:
    """ "insight search" for a slash command, the custom id's kind ("ir:save") for a button."""
    command = interaction.command
    if command is not None:
        return command.qualified_name
    data: dict[str, Any] = dict(interaction.data or {})
    custom_id = str(data.get("custom_id", ""))
    if custom_id:
        return ":".join(custom_id.split(":")[:2])
    return str(data.get("name", "unknown"))


def user_id(interaction: discord.Interaction[Any]) -> int | None:
    return interaction.user.id if interaction.user else None
