"""Answering an interaction the same way from every feature, wherever it is in its life.

Discord gives three seconds for the first answer, and the first answer fixes whether the message
is public: a follow-up after a public "thinking…" replaces that message and stays public whatever
flags it asks for. A private answer after a public defer (an error, mostly) therefore edits the
public placeholder itself. It used to delete the placeholder and send a private follow-up, but
Discord refuses a follow-up once the deferred original is gone (404, Unknown Message) often enough
that people saw "thinking…" vanish and nothing else. Input that can be refused without the store
is refused by the commands before they defer, so what still arrives after a public defer is a
store outage, an id that is not there, or a bug.
"""

from __future__ import annotations

from typing import Any

import discord
from discord.utils import MISSING

from bot.rendering import RenderedMessage, rendered

_PUBLIC_THINKING = "insight_recall.public_thinking"


async def defer_thinking(interaction: discord.Interaction[Any], *, ephemeral: bool) -> None:
    """Acknowledge now, before a store call that may take longer than Discord's three seconds."""
    if interaction.response.is_done():
        return
    await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    if not ephemeral and interaction.type is discord.InteractionType.application_command:
        interaction.extras[_PUBLIC_THINKING] = True


async def send(
    interaction: discord.Interaction[Any],
    message: RenderedMessage,
    *,
    ephemeral: bool,
    view: discord.ui.View = MISSING,
    file: discord.File = MISSING,
) -> discord.Message | None:
    """The first answer, or a follow-up once the interaction was answered or deferred; returns
    the message sent when Discord says which one it was (the pagers need it)."""
    if not interaction.response.is_done():
        callback = await interaction.response.send_message(
            content=message.content, embeds=message.embeds, ephemeral=ephemeral, view=view, file=file
        )
        resource = callback.resource
        return resource if isinstance(resource, discord.Message) else None
    if interaction.extras.pop(_PUBLIC_THINKING, False) and ephemeral:
        attachments: list[discord.File] = [file] if file is not MISSING else []
        return await interaction.edit_original_response(
            content=message.content,
            embeds=message.embeds,
            view=view if view is not MISSING else None,
            attachments=attachments or MISSING,
        )
    # discord.py's overloads want content as str; None (no text, embeds only) is what it sends as such.
    return await interaction.followup.send(  # type: ignore[call-overload,no-any-return]
        content=message.content, embeds=message.embeds, ephemeral=ephemeral, view=view, file=file, wait=True
    )


async def send_notice(interaction: discord.Interaction[Any], text: str) -> None:
    """A short private line: refusals, confirmations and errors."""
    await send(interaction, rendered(text), ephemeral=True)
