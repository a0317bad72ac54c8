"""Taking an item off a saved list when words were typed instead of an item picked from the list.

The items whose text contains every typed word are shown, best first, each with a Remove button;
nothing is removed until one is pressed. The button carries the insight id and removes it from the
list of whoever presses it (the message is private, so that is its owner), after any restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import discord

from bot import limits, rendering, telemetry
from bot.errors import reply_with_error
from bot.rendering import RenderedMessage
from bot.typed import PICK_FROM_THE_LIST
from bot.views import bot_of, dynamic_view
from store import SavedItem

log = logging.getLogger(__name__)

REMOVE_TEMPLATE = re.compile(r"ir:unsave:(?P<insight_id>[0-9a-f]{16})")
CANDIDATES = 3
REMOVED = "Removed from your saved list."
NOT_SAVED = "That insight is not on your saved list."
ALREADY_GONE = "That item is no longer on your saved list; nothing was removed."


def best_first(words: str, items: Sequence[SavedItem]) -> list[SavedItem]:
    """Every typed word is in each of them (the store's search); the one whose text is mostly those
    words, the shortest, is the likeliest meant; newer wins a tie (the store's order)."""
    return sorted(items, key=lambda item: len(item.text))[:CANDIDATES]


def confirmation(words: str, items: Sequence[SavedItem]) -> tuple[RenderedMessage, discord.ui.View]:
    quoted = rendering.safe(limits.truncate(rendering.one_line(words), 100))
    if len(items) == 1:
        title = f"Remove this from your saved list? It is the one that matches “{quoted}”."
    else:
        title = f"Remove which one? These on your saved list match “{quoted}”, best first."
    lines = [
        f"**{number}.** {rendering.safe(limits.truncate(item.text, 500))}\n`{item.insight_id}`"
        for number, item in enumerate(items, start=1)
    ]
    embed = discord.Embed(
        title=limits.truncate(title, limits.EMBED_TITLE), description="\n\n".join(lines), colour=rendering.ACCENT
    )
    embed.set_footer(text="Nothing is removed until you press a button.")
    buttons = [
        RemoveButton(item.insight_id, f"Remove {number}" if len(items) > 1 else "Remove")
        for number, item in enumerate(items, start=1)
    ]
    return rendering.rendered(None, [embed]), dynamic_view(buttons)


def nothing_matches(words: str) -> str:
    quoted = rendering.safe(limits.truncate(rendering.one_line(words), 100))
    return f"Nothing on your saved list contains “{quoted}”: {PICK_FROM_THE_LIST}, or see `/saved list`."


class RemoveButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=REMOVE_TEMPLATE):
    def __init__(self, insight_id: str, label: str = "Remove") -> None:
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.danger, custom_id=f"ir:unsave:{insight_id}"))
        self.insight_id = insight_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RemoveButton:
        return cls(match["insight_id"], getattr(item, "label", None) or "Remove")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        telemetry.mark_received(interaction)
        try:
            store = bot_of(interaction).store
            await interaction.response.defer()
            removed = await store.saved.remove(str(interaction.user.id), self.insight_id)
            done = rendering.rendered(REMOVED if removed else ALREADY_GONE)
            # The question is replaced by the answer, so its buttons cannot be pressed twice.
            await interaction.edit_original_response(content=done.content, embeds=[], view=None)
            log.info("button remove by user %s completed in %d ms", interaction.user.id, telemetry.elapsed_ms(interaction))
        except Exception as error:
            await reply_with_error(interaction, error)


__all__ = ["ALREADY_GONE", "NOT_SAVED", "REMOVED", "RemoveButton", "best_first", "confirmation", "nothing_matches"]
