"""Buttons shared by the features: the persistent Save button and the pieces every pager uses.

Save is a DynamicItem whose custom id carries the insight id, registered once at start-up, so a
Save button on a message from last week (before any number of restarts) still works. The pagers
(in their features) work the same way: their state is in the custom id, or looked up by a key in
it, and every message is sent with a view of DynamicItems only and no timeout. Such a view is not
kept in discord.py's view store at all, so nothing expires in memory and nothing has to edit a
message through the original interaction's token (which Discord lets go after 15 minutes).

A view that holds DynamicItems must never time out or be stopped: when discord.py removes it from
its view store, it also forgets the DynamicItem's custom-id pattern for the whole bot, and every
Save button everywhere would go dead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, cast

import discord

from bot import telemetry
from bot.errors import reply_with_error
from bot.limits import BUTTON_LABEL, truncate
from bot.replies import defer_thinking, send_notice
from store import InsightNotFound

if TYPE_CHECKING:
    from discord.ext import commands

    from store import InsightStore

log = logging.getLogger(__name__)

SAVE_PREFIX = "ir:save:"
# The optional tail carries data a message needs to be found by (the digest's marker), invisibly.
SAVE_TEMPLATE = re.compile(r"ir:save:(?P<insight_id>[0-9a-f]{16})(?::(?P<tag>[0-9A-Za-z#._-]{1,60}))?")
HITS_PER_PAGE = 3
SAVED_PER_PAGE = 5
SAVED = "Saved. `/saved list` shows everything you saved; only you can see it."
ALREADY_SAVED = "Already saved: it is in your `/saved list`."
GONE = "That insight is no longer in the store, so it cannot be saved."


def save_custom_id(insight_id: str, tag: str | None = None) -> str:
    return f"{SAVE_PREFIX}{insight_id}" + (f":{tag}" if tag else "")


class StoreHolder(Protocol):
    """What the views and pagers need of the bot. Typed by shape, so this module does not import
    bot.client (which would make the client and the views import each other)."""

    @property
    def store(self) -> InsightStore: ...

    def get_cog(self, name: str, /) -> commands.Cog | None: ...


def bot_of(interaction: discord.Interaction[Any]) -> StoreHolder:
    return cast("StoreHolder", interaction.client)


class SaveButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=SAVE_TEMPLATE):
    """Saves the insight for whoever clicks, not for whoever ran the search: a public result is
    there for the whole channel to keep."""

    def __init__(self, insight_id: str, label: str = "Save", *, tag: str | None = None, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=truncate(label, BUTTON_LABEL),
                style=discord.ButtonStyle.secondary,
                custom_id=save_custom_id(insight_id, tag),
                row=row,
            )
        )
        self.insight_id = insight_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SaveButton:
        return cls(match["insight_id"], label=getattr(item, "label", None) or "Save", tag=match["tag"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        telemetry.mark_received(interaction)
        try:
            store = bot_of(interaction).store
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


def dynamic_view(items: Iterable[discord.ui.Item[Any]]) -> discord.ui.View:
    """A view of DynamicItems that never times out, so it is never removed (see the docstring)."""
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def save_buttons_on(message: discord.Message | None, *, row: int | None = None) -> list[SaveButton]:
    """The Save buttons a message carries, to keep them when its other buttons go."""
    found: list[SaveButton] = []
    for action_row in message.components if message is not None else []:
        for component in getattr(action_row, "children", []):
            match = SAVE_TEMPLATE.fullmatch(getattr(component, "custom_id", None) or "")
            if match is not None:
                found.append(SaveButton(match["insight_id"], component.label or "Save", tag=match["tag"], row=row))
    return found


def page_button(custom_id: str, way: str, *, disabled: bool, row: int = 1) -> discord.ui.Button[Any]:
    """Previous (``way`` "p") or Next ("n"), as every pager shows them."""
    return discord.ui.Button(
        label="Previous" if way == "p" else "Next",
        style=discord.ButtonStyle.primary,
        custom_id=custom_id,
        disabled=disabled,
        row=row,
    )


__all__ = [
    "ALREADY_SAVED",
    "HITS_PER_PAGE",
    "SAVED",
    "SAVED_PER_PAGE",
    "SAVE_PREFIX",
    "SaveButton",
    "bot_of",
    "dynamic_view",
    "page_button",
    "save_buttons_on",
    "save_custom_id",
]
