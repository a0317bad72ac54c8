"""Previous/Next for a saved list: the owner and the page are the whole state, in the custom id.

Pages are read from the store when turned to, so the list is current (an item removed meanwhile is
gone), and the buttons work after any number of restarts, like the Save button. The click is
acknowledged before that read and the message is edited through the click's own interaction, never
the original command's, whose token Discord lets go after 15 minutes.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot import rendering, telemetry
from bot.errors import reply_with_error
from bot.rendering import RenderedMessage
from bot.replies import send, send_notice
from bot.views import SAVED_PER_PAGE, bot_of, dynamic_view, page_button
from store import SavedLists, SavedPage

log = logging.getLogger(__name__)

SAVED_PAGE_TEMPLATE = re.compile(r"ir:saved:(?P<owner>\d{1,20}):(?P<page>\d{1,6}):(?P<way>[pn])")
NOT_YOURS = "These buttons belong to someone else's saved list. `/saved list` shows your own."


def page_custom_id(owner_id: int, page: int, way: str) -> str:
    return f"ir:saved:{owner_id}:{page}:{way}"


def saved_list_page(owner_id: int, page: SavedPage) -> tuple[RenderedMessage, discord.ui.View]:
    items: list[discord.ui.Item[Any]] = []
    if page.pages > 1:
        items.append(SavedPageButton(owner_id, max(1, page.page - 1), "p", disabled=page.page <= 1))
        items.append(SavedPageButton(owner_id, min(page.pages, page.page + 1), "n", disabled=page.page >= page.pages))
    return rendering.saved_page(page), dynamic_view(items)


async def load_saved_page(saved: SavedLists, owner_id: int, number: int) -> SavedPage:
    loaded = await saved.list(str(owner_id), page=number, per_page=SAVED_PER_PAGE)
    if not loaded.items and loaded.total:
        # The list shrank while it was open: show its last page rather than an empty one.
        loaded = await saved.list(str(owner_id), page=loaded.pages, per_page=SAVED_PER_PAGE)
    return loaded


async def start_saved_pager(interaction: discord.Interaction[Any], first: SavedPage) -> None:
    message, view = saved_list_page(interaction.user.id, first)
    await send(interaction, message, ephemeral=True, view=view)


class SavedPageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=SAVED_PAGE_TEMPLATE):
    def __init__(self, owner_id: int, page: int, way: str, *, disabled: bool = False) -> None:
        super().__init__(page_button(page_custom_id(owner_id, page, way), way, disabled=disabled))
        self.owner_id, self.page = owner_id, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SavedPageButton:
        return cls(int(match["owner"]), int(match["page"]), match["way"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        telemetry.mark_received(interaction)
        try:
            if interaction.user.id != self.owner_id:
                await send_notice(interaction, NOT_YOURS)
                return
            store = bot_of(interaction).store
            await interaction.response.defer()
            loaded = await load_saved_page(store.saved, self.owner_id, self.page)
            message, view = saved_list_page(self.owner_id, loaded)
            await interaction.edit_original_response(content=message.content, embeds=message.embeds, view=view)
            log.info(
                "button page by user %s completed in %d ms (page %d of %d)",
                interaction.user.id,
                telemetry.elapsed_ms(interaction),
                loaded.page,
                loaded.pages,
            )
        except Exception as error:
            await reply_with_error(interaction, error)


__all__ = ["NOT_YOURS", "SavedPageButton", "load_saved_page", "saved_list_page", "start_saved_pager"]
