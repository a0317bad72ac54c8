"""Previous/Next for search results: the hits stay in this process, the buttons name them by key.

A search's hits (at most ten) are remembered under a short random key, which the page buttons
carry in their custom id with the page they turn to; the buttons are DynamicItems, so they need no
view in memory and no timeout. A click reads the remembered search and edits the message through
its own interaction. Only a key this process no longer knows (after a restart, or once many newer
searches pushed it out) cannot be answered, and the click says so plainly and takes the page
buttons off, keeping the Save buttons, which work for ever.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import discord

from bot import rendering, telemetry
from bot.errors import reply_with_error
from bot.rendering import RenderedMessage
from bot.replies import send, send_notice
from bot.views import HITS_PER_PAGE, SaveButton, bot_of, dynamic_view, page_button, save_buttons_on
from store import SearchHit

log = logging.getLogger(__name__)

SEARCH_PAGE_TEMPLATE = re.compile(r"ir:search:(?P<key>[0-9a-f]{12}):(?P<page>\d{1,2}):(?P<way>[pn])")
# About 40 KiB each at most (ten hits with eight related insights each, measured with tracemalloc):
# 40 MB for a full memory, whatever the traffic.
REMEMBERED_SEARCHES = 1000
NOT_YOURS = "These buttons belong to someone else's search. Run the command yourself to get your own."
EXPIRED = "This search has expired (the bot restarted since, or it is one of many older ones): run `/insight search` again."


@dataclass(frozen=True, slots=True)
class RememberedSearch:
    owner_id: int
    query: str
    hits: tuple[SearchHit, ...]
    asked: int
    min_score: float
    per_page: int = HITS_PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.hits) // self.per_page))

    def page_hits(self, page: int) -> tuple[SearchHit, ...]:
        start = (page - 1) * self.per_page
        return self.hits[start : start + self.per_page]


class SearchMemory:
    """The most recent searches, by key; a bounded map, so a busy server cannot grow it."""

    def __init__(self, capacity: int = REMEMBERED_SEARCHES) -> None:
        self._capacity = capacity
        self._searches: OrderedDict[str, RememberedSearch] = OrderedDict()

    def remember(self, search: RememberedSearch) -> str:
        key = secrets.token_hex(6)
        self._searches[key] = search
        while len(self._searches) > self._capacity:
            self._searches.popitem(last=False)
        return key

    def recall(self, key: str) -> RememberedSearch | None:
        search = self._searches.get(key)
        if search is not None:
            self._searches.move_to_end(key)
        return search


def page_custom_id(key: str, page: int, way: str) -> str:
    return f"ir:search:{key}:{page}:{way}"


def search_page(search: RememberedSearch, key: str, page: int) -> tuple[RenderedMessage, discord.ui.View]:
    page = min(max(1, page), search.pages)
    first = (page - 1) * search.per_page + 1
    hits = search.page_hits(page)
    message = rendering.search_page(
        search.query,
        hits,
        first_number=first,
        page=page,
        pages=search.pages,
        found=len(search.hits),
        asked=search.asked,
        min_score=search.min_score,
    )
    items: list[discord.ui.Item[Any]] = [SaveButton(hit.id, f"Save {first + offset}", row=0) for offset, hit in enumerate(hits)]
    if search.pages > 1:
        items.append(SearchPageButton(key, max(1, page - 1), "p", disabled=page <= 1))
        items.append(SearchPageButton(key, min(search.pages, page + 1), "n", disabled=page >= search.pages))
    return message, dynamic_view(items)


async def start_search_pager(interaction: discord.Interaction[Any], memory: SearchMemory, search: RememberedSearch) -> None:
    key = memory.remember(search) if search.pages > 1 else ""
    message, view = search_page(search, key, 1)
    await send(interaction, message, ephemeral=False, view=view)


class SearchPageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=SEARCH_PAGE_TEMPLATE):
    def __init__(self, key: str, page: int, way: str, *, disabled: bool = False) -> None:
        super().__init__(page_button(page_custom_id(key, page, way), way, disabled=disabled))
        self.key, self.page = key, page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SearchPageButton:
        return cls(match["key"], int(match["page"]), match["way"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        telemetry.mark_received(interaction)
        try:
            cog = bot_of(interaction).get_cog("InsightsCog")
            search = getattr(cog, "searches", SearchMemory()).recall(self.key)
            if search is None:
                await self._expired(interaction)
                return
            if interaction.user.id != search.owner_id:
                await send_notice(interaction, NOT_YOURS)
                return
            message, view = search_page(search, self.key, self.page)
            await interaction.response.edit_message(content=message.content, embeds=message.embeds, view=view)
            log.info(
                "button page by user %s completed in %d ms (page %d of %d)",
                interaction.user.id,
                telemetry.elapsed_ms(interaction),
                self.page,
                search.pages,
            )
        except Exception as error:
            await reply_with_error(interaction, error)

    async def _expired(self, interaction: discord.Interaction[Any]) -> None:
        """The page buttons go (through this click's own answer), the Save buttons stay; then
        the person is told why, privately."""
        await interaction.response.edit_message(view=dynamic_view(save_buttons_on(interaction.message, row=0)))
        await interaction.followup.send(EXPIRED, ephemeral=True)


__all__ = [
    "EXPIRED",
    "NOT_YOURS",
    "RememberedSearch",
    "SearchMemory",
    "SearchPageButton",
    "search_page",
    "start_search_pager",
]
