"""The /saved commands: everything here is private to the person who runs it.

The owner is always ``interaction.user.id`` and never an option, so no command can be pointed at
somebody else's list; the store filters every statement by that owner as well.
"""

from __future__ import annotations

import asyncio
import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import rendering
from bot.errors import AttachmentRefused
from bot.exts.saved._pager import load_saved_page, start_saved_pager
from bot.exts.saved._remove import NOT_SAVED, REMOVED, best_first, confirmation, nothing_matches
from bot.limits import CHOICES
from bot.replies import defer_thinking, send, send_notice
from bot.typed import id_or_words, query_or_refusal
from store import export_saved

if TYPE_CHECKING:
    from bot.client import InsightBot

log = logging.getLogger(__name__)

EXPORT_CHOICES = [
    app_commands.Choice(name="Markdown (.md)", value="markdown"),
    app_commands.Choice(name="CSV (.csv)", value="csv"),
    app_commands.Choice(name="JSON (.json)", value="json"),
]
SEARCH_RESULTS = 10


def owner(interaction: discord.Interaction[InsightBot]) -> str:
    return str(interaction.user.id)


class SavedCog(commands.Cog):
    saved = app_commands.Group(name="saved", description="Your saved insights, visible only to you")

    def __init__(self, bot: InsightBot) -> None:
        self.bot = bot

    @saved.command(name="list", description="Your saved insights, newest first")
    async def list_saved(self, interaction: discord.Interaction[InsightBot]) -> None:
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=True)
        first = await load_saved_page(store.saved, interaction.user.id, 1)
        await start_saved_pager(interaction, first)

    @saved.command(name="remove", description="Take an insight off your saved list")
    @app_commands.describe(item="Type words from the saved insight, then pick it from the list")
    async def remove(self, interaction: discord.Interaction[InsightBot], item: app_commands.Range[str, 1, 100]) -> None:
        typed = id_or_words(item, "item")
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=True)
        if typed.insight_id is not None:
            removed = await store.saved.remove(owner(interaction), typed.insight_id)
            await send_notice(interaction, REMOVED if removed else NOT_SAVED)
            return
        # Words typed, not an item picked: the items they match are offered, nothing is removed yet.
        assert typed.words is not None
        matching = await store.saved.search(owner(interaction), typed.words, limit=SEARCH_RESULTS)
        if not matching:
            await send_notice(interaction, nothing_matches(typed.words))
            return
        message, view = confirmation(typed.words, best_first(typed.words, matching))
        await send(interaction, message, ephemeral=True, view=view)

    @remove.autocomplete("item")
    async def remove_choices(self, interaction: discord.Interaction[InsightBot], current: str) -> list[app_commands.Choice[str]]:
        store = self.bot.store_if_ready
        if store is None:
            return []
        try:
            items = await store.saved.autocomplete(owner(interaction), current[:100], limit=CHOICES)
        except Exception:
            log.warning("autocomplete for /saved remove failed", exc_info=True)
            return []
        return [app_commands.Choice(name=rendering.choice_name(saved.text), value=saved.insight_id) for saved in items[:CHOICES]]

    @saved.command(name="search", description="Find insights in your own saved list")
    @app_commands.describe(query="Words the saved insight contains; every word must match")
    async def search(self, interaction: discord.Interaction[InsightBot], query: app_commands.Range[str, 1, 200]) -> None:
        query = query_or_refusal(query)
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=True)
        items = await store.saved.search(owner(interaction), query, limit=SEARCH_RESULTS)
        await send(interaction, rendering.saved_search(query, items), ephemeral=True)

    @saved.command(name="export", description="Your saved list as a file: Markdown, CSV or JSON")
    @app_commands.rename(export_format="format")
    @app_commands.describe(export_format="Markdown for notes apps, CSV for spreadsheets, JSON for scripts")
    @app_commands.choices(export_format=EXPORT_CHOICES)
    async def export(self, interaction: discord.Interaction[InsightBot], export_format: app_commands.Choice[str]) -> None:
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=True)
        items = await store.saved.all_items(owner(interaction))
        if not items:
            await send_notice(interaction, "Nothing saved yet: press Save under a search result first.")
            return
        # Formatting thousands of items is CPU work; it runs beside the event loop, not on it.
        filename, data = await asyncio.to_thread(export_saved, items, export_format.value, interaction.user.name)  # type: ignore[arg-type]
        if len(data) > interaction.filesize_limit:
            raise AttachmentRefused(
                f"the export is {len(data) / (1024 * 1024):.1f} MB, more than Discord lets the bot upload here: "
                "use `insight-recall saved export` on the command line"
            )
        count = len(items)
        summary = rendering.rendered(f"Your {count} saved insight{'s' if count != 1 else ''} as {export_format.name}.")
        await send(interaction, summary, ephemeral=True, file=discord.File(io.BytesIO(data), filename=filename))
