"""The /insight commands.

Every command that reaches the store defers first (the query encode and Chroma can take longer
than Discord's three seconds on a cold cache); refusals that need no store (a wrong file type)
are answered at once instead, so they never show a "thinking…" first.
"""

from __future__ import annotations

import logging
from pathlib import PurePath
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import rendering
from bot.checks import manager_only
from bot.errors import AttachmentRefused
from bot.limits import CHOICES
from bot.replies import defer_thinking, send
from bot.views import SaveButton, SearchPager
from store import MAX_QUERY_CHARS

if TYPE_CHECKING:
    from bot.client import InsightBot

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
INGEST_EXTENSIONS = (".txt", ".md", ".eml", ".mbox", ".jsonl", ".ndjson")
MAX_INSIGHT_CHARS = 2000


def check_upload(attachment: discord.Attachment) -> None:
    """Refuses by name and declared size, which Discord states before anything is downloaded."""
    extension = PurePath(attachment.filename).suffix.lower()
    if extension not in INGEST_EXTENSIONS:
        raise AttachmentRefused(
            f"Cannot ingest {attachment.filename}: upload a {', '.join(INGEST_EXTENSIONS[:-1])} or {INGEST_EXTENSIONS[-1]} file"
        )
    if attachment.size > MAX_UPLOAD_BYTES:
        raise AttachmentRefused(
            f"Cannot ingest {attachment.filename}: it is {attachment.size / (1024 * 1024):.1f} MB, over the "
            f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB limit for uploads; split it, or ingest it with the command line"
        )


class InsightsCog(commands.Cog):
    insight = app_commands.Group(name="insight", description="Recall podcast insights by meaning")

    def __init__(self, bot: InsightBot) -> None:
        self.bot = bot

    @insight.command(name="search", description="Find the insights closest in meaning to your words")
    @app_commands.describe(query="A few words or a question about the idea you want back", count="How many results (1-10)")
    async def search(
        self,
        interaction: discord.Interaction[InsightBot],
        query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
        count: app_commands.Range[int, 1, 10] | None = None,
    ) -> None:
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=False)
        result = await store.search(query, count or self.bot.settings.result_count)
        if result.is_empty:
            await send(interaction, rendering.no_match(result.query), ephemeral=False)
            return
        await SearchPager(interaction.user.id, result.query, result.hits).start(interaction, ephemeral=False)

    @insight.command(name="related", description="One insight with everything related to it")
    @app_commands.rename(insight_id="id")
    @app_commands.describe(insight_id="Type words from the insight, then pick it from the list")
    async def related(self, interaction: discord.Interaction[InsightBot], insight_id: app_commands.Range[str, 1, 100]) -> None:
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=False)
        hit = await store.related(insight_id)
        # A view that never times out is never removed from discord.py's store, so holding the
        # DynamicItem itself is safe here (unlike in the pagers; see bot.views).
        view = discord.ui.View(timeout=None)
        view.add_item(SaveButton(hit.id))
        await send(interaction, rendering.related_detail(hit), ephemeral=False, view=view)

    @related.autocomplete("insight_id")
    async def related_choices(self, interaction: discord.Interaction[InsightBot], current: str) -> list[app_commands.Choice[str]]:
        store = self.bot.store_if_ready
        if store is None:
            return []
        try:
            rows = await store.autocomplete(current[:100], limit=CHOICES)
        except Exception:
            log.warning("autocomplete for /insight related failed", exc_info=True)
            return []
        return [app_commands.Choice(name=rendering.choice_name(text), value=found) for found, text in rows[:CHOICES]]

    @insight.command(name="stats", description="How many insights, briefs and links the store holds")
    async def stats(self, interaction: discord.Interaction[InsightBot]) -> None:
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=False)
        await send(interaction, rendering.stats(await store.stats()), ephemeral=False)

    @insight.command(name="add", description="Add one insight by hand (Manage Server)")
    @app_commands.describe(text="The insight, one to three sentences", related="An insight related to it, if there is one")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @manager_only()
    async def add(
        self,
        interaction: discord.Interaction[InsightBot],
        text: app_commands.Range[str, 1, MAX_INSIGHT_CHARS],
        related: app_commands.Range[str, 1, MAX_INSIGHT_CHARS] | None = None,
    ) -> None:
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=True)
        report = await store.add_insight(text, [related] if related else [], origin="discord")
        await send(interaction, rendering.ingest_report(report, "Added by hand"), ephemeral=True)

    @insight.command(name="ingest", description="Add the briefs in an uploaded file (Manage Server)")
    @app_commands.describe(file="A brief, notes, email or JSON Lines file: .txt .md .eml .mbox .jsonl .ndjson, up to 8 MB")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @manager_only()
    async def ingest(self, interaction: discord.Interaction[InsightBot], file: discord.Attachment) -> None:
        check_upload(file)
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=True)
        try:
            data = await file.read()
        except discord.HTTPException as error:
            raise AttachmentRefused(
                f"Could not download {file.filename} from Discord ({error.status}): upload it again"
            ) from error
        report = await store.ingest_bytes(data, file.filename)
        await send(interaction, rendering.ingest_report(report, f"Ingested {file.filename}"), ephemeral=True)
