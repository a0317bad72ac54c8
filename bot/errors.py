"""One place that turns a failure into what the person sees and what the log keeps.

Known errors (the store's own, whose messages are written for people, and discord.py's check
and option failures) become one short private line. Anything else is a bug: its traceback goes
to the log with the command's name and the person gets an apology that leaks nothing. Replying
can itself fail (the token expired, Discord is down); that is logged and swallowed, because the
handler raising would only produce a second, less useful traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot import telemetry
from bot.rendering import safe
from bot.replies import send_notice
from store import InvalidInput, StoreError, StoreUnavailable

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side. It has been logged; please try again in a moment."
STARTING_UP = "insight-recall is starting up, try again in a few seconds"


class StoreStarting(StoreUnavailable):
    """The gateway is up before the embedding model has loaded; commands arriving in that gap
    get this instead of waiting past Discord's three seconds."""

    def __init__(self) -> None:
        super().__init__(STARTING_UP)


class AttachmentRefused(InvalidInput):
    """An upload that is refused by its name or size, before a byte of it is downloaded."""


def user_message(error: BaseException) -> str | None:
    """The line to show for a known error, or None for a bug."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, StoreStarting):
        return STARTING_UP
    if isinstance(error, StoreUnavailable):
        return f"The insight store is temporarily unavailable: {_sentence(str(error))}"
    if isinstance(error, StoreError):
        return _sentence(str(error)) or "That did not work; check the input and try again."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.MissingPermissions):
        wanted = ", ".join(name.replace("_", " ").replace("guild", "server").title() for name in error.missing_permissions)
        return f"You need the {wanted} permission to use this command."
    if isinstance(error, app_commands.BotMissingPermissions):
        wanted = ", ".join(name.replace("_", " ").replace("guild", "server").title() for name in error.missing_permissions)
        return f"I need the {wanted} permission here to do that."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again in {max(1, round(error.retry_after))} s."
    if isinstance(error, app_commands.CheckFailure):
        return "You cannot use this command here."
    if isinstance(error, app_commands.TransformerError):
        return f"That value cannot be used for this option: {safe(str(error.value))[:200]}"
    if isinstance(error, (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch)):
        return "This command is out of date in this server. A server manager can fix it with `insight-recall sync-commands`."
    return None


async def reply_with_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Shared by the command tree and by buttons, whose errors discord.py handles elsewhere."""
    try:
        message = user_message(error)
        label = telemetry.command_label(interaction)
        user = telemetry.user_id(interaction)
        if message is None:
            original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
            log.error(
                "command %s failed for user %s after %d ms",
                label,
                user,
                telemetry.elapsed_ms(interaction),
                exc_info=(type(original), original, original.__traceback__),
            )
            message = APOLOGY
        else:
            log.info(
                "command %s refused for user %s in %d ms: %s",
                label,
                user,
                telemetry.elapsed_ms(interaction),
                type(error).__name__,
            )
        await send_notice(interaction, message)
    except Exception:
        log.warning("could not tell user about a failed interaction %s", getattr(interaction, "id", "?"), exc_info=True)


async def on_tree_error(interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
    await reply_with_error(interaction, error)


def install_error_handler(tree: app_commands.CommandTree[Any]) -> None:
    tree.error(on_tree_error)


def _sentence(text: str) -> str:
    text = safe(text.strip())
    return text[:1].upper() + text[1:] if text else text


__all__ = [
    "APOLOGY",
    "STARTING_UP",
    "AttachmentRefused",
    "StoreStarting",
    "install_error_handler",
    "on_tree_error",
    "reply_with_error",
    "user_message",
]
