"""Buttons: the persistent Save button and the pagers for search results and saved lists.

Save is a DynamicItem whose custom id carries the insight id, registered once at start-up, so a
Save button on a message from last week (before any number of restarts) still works. The pagers
are ordinary views that live for ten minutes in memory.

Pagers show Save buttons through inert look-alikes (:class:`SaveButtonFace`) rather than
DynamicItem instances, on purpose: when a view holding a DynamicItem is removed from discord.py's
view store (on timeout or stop), the store also forgets that DynamicItem's custom-id pattern for
the whole bot, and every Save button everywhere would go dead after the first pager timed out.
A face has the Save custom id, so the registered DynamicItem answers the click; the face itself
declines it, so nothing answers twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import discord

from bot import rendering, telemetry
from bot.errors import reply_with_error
from bot.limits import BUTTON_LABEL, truncate
from bot.rendering import RenderedMessage
from bot.replies import defer_thinking, send, send_notice
from store import InsightNotFound, SavedPage, SearchHit

if TYPE_CHECKING:
    from store import InsightStore

log = logging.getLogger(__name__)

SAVE_PREFIX = "ir:save:"
SAVE_TEMPLATE = re.compile(r"ir:save:(?P<insight_id>[0-9a-f]{16})")
PAGER_TIMEOUT = 600.0
HITS_PER_PAGE = 3
SAVED_PER_PAGE = 5
SAVED = "Saved. `/saved list` shows everything you saved; only you can see it."
ALREADY_SAVED = "Already saved: it is in your `/saved list`."
GONE = "That insight is no longer in the store, so it cannot be saved."


def save_custom_id(insight_id: str) -> str:
    return f"{SAVE_PREFIX}{insight_id}"


class StoreHolder(Protocol):
    """What the views need of the bot. Typed by shape, so this module does not import bot.client
    (which would make the client and the views import each other)."""

    @property
    def store(self) -> InsightStore: ...


def _bot(interaction: discord.Interaction[Any]) -> StoreHolder:
    return cast("StoreHolder", interaction.client)


class SaveButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=SAVE_TEMPLATE):
    """Saves the insight for whoever clicks, not for whoever ran the search: a public result is
    there for the whole channel to keep."""

    def __init__(self, insight_id: str, label: str = "Save") -> None:
        super().__init__(
            discord.ui.Button(
                label=truncate(label, BUTTON_LABEL), style=discord.ButtonStyle.secondary, custom_id=save_custom_id(insight_id)
            )
        )
        self.insight_id = insight_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SaveButton:
        return cls(match["insight_id"], label=getattr(item, "label", None) or "Save")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        telemetry.mark_received(interaction)
        try:
            store = _bot(interaction).store
            await defer_thinking(interaction, ephemeral=True)
            try:
                newly_saved = await store.saved.save(str(interaction.user.id), self.insight_id)
            except InsightNotFound:
                await send_notice(interaction, GONE)
                return
            await send_notice(interaction, SAVED if newly_saved else ALREADY_SAVED)
            log.info(
                "button save by user %s completed in %d ms (%s)",
                interaction.user.id,
                telemetry.elapsed_ms(interaction),
                "saved" if newly_saved else "already saved",
            )
        except Exception as error:
            await reply_with_error(interaction, error)


class SaveButtonFace(discord.ui.Button[Any]):
    """Looks and identifies like a Save button inside a pager; declines every click so the
    registered :class:`SaveButton` alone answers it (see the module docstring for why)."""

    def __init__(self, insight_id: str, label: str, row: int) -> None:
        super().__init__(
            label=truncate(label, BUTTON_LABEL),
            style=discord.ButtonStyle.secondary,
            custom_id=save_custom_id(insight_id),
            row=row,
        )

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return False


class OwnedPager(discord.ui.View):
    """Previous/Next for one person's result: anyone may read it, only its owner turns pages, so
    one person paging does not yank the message away from another reading it."""

    refusal = "These buttons belong to someone else's search. Run the command yourself to get your own."
    timeout_seconds = PAGER_TIMEOUT

    def __init__(self, owner_id: int, pages: int) -> None:
        super().__init__(timeout=self.timeout_seconds)
        self.owner_id = owner_id
        self.page = 1
        self.pages = max(1, pages)
        self.message: discord.Message | None = None
        self.previous_button: discord.ui.Button[Any] = discord.ui.Button(
            label="Previous", style=discord.ButtonStyle.primary, row=1
        )
        self.next_button: discord.ui.Button[Any] = discord.ui.Button(label="Next", style=discord.ButtonStyle.primary, row=1)
        self.previous_button.callback = self._previous  # type: ignore[method-assign]
        self.next_button.callback = self._next  # type: ignore[method-assign]

    def faces(self) -> list[discord.ui.Item[Any]]:
        return []

    def render(self) -> RenderedMessage:
        raise NotImplementedError

    async def show(self, interaction: discord.Interaction[Any]) -> None:
        """Puts the current page on the message this pager belongs to."""
        raise NotImplementedError

    def layout(self) -> None:
        self.clear_items()
        for face in self.faces():
            self.add_item(face)
        if self.pages > 1:
            self.previous_button.disabled = self.page <= 1
            self.next_button.disabled = self.page >= self.pages
            self.add_item(self.previous_button)
            self.add_item(self.next_button)

    async def start(self, interaction: discord.Interaction[Any], *, ephemeral: bool) -> None:
        self.layout()
        self.message = await send(interaction, self.render(), ephemeral=ephemeral, view=self)

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        telemetry.mark_received(interaction)
        if interaction.user.id == self.owner_id:
            return True
        try:
            await send_notice(interaction, self.refusal)
        except discord.HTTPException:
            log.warning("could not refuse a page turn for user %s", interaction.user.id, exc_info=True)
        return False

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any], /) -> None:
        await reply_with_error(interaction, error)

    async def on_timeout(self) -> None:
        """Takes Previous/Next off the message (the Save buttons stay: they work for ever), so a
        late click is not met with Discord's "interaction failed"."""
        if self.message is None or self.pages <= 1:
            return
        remaining = discord.ui.View(timeout=None)
        for face in self.faces():
            remaining.add_item(face)
        remaining.stop()  # a finished view is sent but not stored: nothing of it needs handling
        try:
            await self.message.edit(view=remaining)
        except discord.HTTPException:
            log.debug("could not remove the page buttons after the timeout", exc_info=True)

    async def _previous(self, interaction: discord.Interaction[Any]) -> None:
        await self._turn_to(interaction, self.page - 1)

    async def _next(self, interaction: discord.Interaction[Any]) -> None:
        await self._turn_to(interaction, self.page + 1)

    async def _turn_to(self, interaction: discord.Interaction[Any], page: int) -> None:
        self.page = min(max(1, page), self.pages)
        await self.show(interaction)
        log.info(
            "button page by user %s completed in %d ms (page %d of %d)",
            interaction.user.id,
            telemetry.elapsed_ms(interaction),
            self.page,
            self.pages,
        )


class SearchPager(OwnedPager):
    """All hits are in memory already (at most ten), so turning a page needs no store call and
    answers at once by editing the message."""

    def __init__(self, owner_id: int, query: str, hits: Sequence[SearchHit], *, per_page: int = HITS_PER_PAGE) -> None:
        self.query = query
        self.hits = tuple(hits)
        self.per_page = per_page
        super().__init__(owner_id, -(-len(self.hits) // per_page))

    def _page_hits(self) -> tuple[SearchHit, ...]:
        start = (self.page - 1) * self.per_page
        return self.hits[start : start + self.per_page]

    def faces(self) -> list[discord.ui.Item[Any]]:
        first = (self.page - 1) * self.per_page + 1
        return [SaveButtonFace(hit.id, f"Save {first + offset}", row=0) for offset, hit in enumerate(self._page_hits())]

    def render(self) -> RenderedMessage:
        first = (self.page - 1) * self.per_page + 1
        return rendering.search_page(self.query, self._page_hits(), first_number=first, page=self.page, pages=self.pages)

    async def show(self, interaction: discord.Interaction[Any]) -> None:
        self.layout()
        message = self.render()
        await interaction.response.edit_message(content=message.content, embeds=message.embeds, view=self)


class SavedListPager(OwnedPager):
    """Pages are read from the store when turned to, so the list is current (an item removed
    meanwhile is gone); the click is acknowledged before that read."""

    refusal = "These buttons belong to someone else's saved list. `/saved list` shows your own."

    def __init__(self, owner_id: int, first: SavedPage, load_page: Callable[[int], Awaitable[SavedPage]]) -> None:
        super().__init__(owner_id, first.pages)
        self.current = first
        self.load_page = load_page

    def render(self) -> RenderedMessage:
        return rendering.saved_page(self.current)

    async def show(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer()
        loaded = await self.load_page(self.page)
        if not loaded.items and loaded.total:
            # The list shrank while it was open: show its last page rather than an empty one.
            loaded = await self.load_page(loaded.pages)
        self.current, self.page, self.pages = loaded, loaded.page, loaded.pages
        self.layout()
        message = self.render()
        await interaction.edit_original_response(content=message.content, embeds=message.embeds, view=self)


__all__ = [
    "ALREADY_SAVED",
    "HITS_PER_PAGE",
    "SAVED",
    "SAVED_PER_PAGE",
    "SAVE_PREFIX",
    "OwnedPager",
    "SaveButton",
    "SaveButtonFace",
    "SavedListPager",
    "SearchPager",
    "save_custom_id",
]
