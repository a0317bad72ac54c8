"""The /insight commands.

Every command that reaches the store defers first (the query encode and Chroma can take longer
than Discord's three seconds on a cold cache); refusals that need no store (a wrong file type, a
query of only spaces, a broken id) are answered at once instead, so they never show a "thinking…"
first, and are private.
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
from bot.exts.insights._pager import RememberedSearch, SearchMemory, start_search_pager
from bot.limits import CHOICES
from bot.replies import defer_thinking, send
from bot.typed import PICK_FROM_THE_LIST, id_or_words, query_or_refusal
from bot.views import SaveButton, dynamic_view
from store import MAX_QUERY_CHARS, InvalidInput, SearchHit, clean_text
from store import insight_id as id_for_text

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
        # Search results the page buttons turn through; this process's memory only (see _pager).
        self.searches = SearchMemory()

    @insight.command(name="search", description="Find the insights closest in meaning to your words")
    @app_commands.describe(query="A few words or a question about the idea you want back", count="How many results (1-10)")
    async def search(
        self,
        interaction: discord.Interaction[InsightBot],
        query: app_commands.Range[str, 1, MAX_QUERY_CHARS],
        count: app_commands.Range[int, 1, 10] | None = None,
    ) -> None:
        cleaned = query_or_refusal(query)
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=False)
        asked = count or self.bot.settings.result_count
        result = await store.search(cleaned, asked)
        if result.is_empty:
            await send(interaction, rendering.no_match(result.query), ephemeral=False)
            return
        search = RememberedSearch(interaction.user.id, result.query, result.hits, asked, self.bot.settings.min_score)
        await start_search_pager(interaction, self.searches, search)

    @insight.command(name="related", description="One insight with everything related to it")
    @app_commands.rename(insight_id="id")
    @app_commands.describe(insight_id="Type words from the insight, then pick it from the list")
    async def related(self, interaction: discord.Interaction[InsightBot], insight_id: app_commands.Range[str, 1, 100]) -> None:
        typed = id_or_words(insight_id)
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=False)
        heading: str | None = None
        if typed.insight_id is not None:
            hit = await store.related(typed.insight_id)
        else:
            assert typed.words is not None
            closest, heading = await self._closest(typed.words)
            if closest is None:
                await send(interaction, rendering.rendered(heading), ephemeral=False)
                return
            hit = closest
        # A view that never times out is never removed from discord.py's store, so holding the
        # DynamicItem itself is safe here (see bot.views).
        message = rendering.related_detail(hit)
        if heading is not None:
            message = rendering.rendered(heading, message.embeds)
        await send(interaction, message, ephemeral=False, view=dynamic_view([SaveButton(hit.id)]))

    async def _closest(self, words: str) -> tuple[SearchHit | None, str]:
        """Words typed instead of picking from the list: the insight they match best, said to be
        that, or the truth that nothing matches."""
        quoted = rendering.safe(rendering.one_line(words)[:100])
        result = await self.bot.store.search(words, 1)
        if result.is_empty:
            return None, f"No insight matches “{quoted}”: {PICK_FROM_THE_LIST}, or try `/insight search`."
        best = await self.bot.store.related(result.hits[0].id)
        weak = " (a weak match)" if result.hits[0].score < self.bot.settings.min_score else ""
        return best, (
            f"“{quoted}” is not an id from the list; this is the insight it matches best{weak}. "
            f"Not the one? Type words from it, then {PICK_FROM_THE_LIST}."
        )

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
        main = clean_text(text)
        if not main:
            raise InvalidInput("the insight is empty: write one to three sentences")
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=True)
        report = await store.add_insight(main, [related] if related else [], origin="discord")
        main_id = id_for_text(main)
        title = "Already there" if main_id in report.already_there else "Added by hand"
        await send(interaction, rendering.ingest_report(report, title, already_there=main_id), ephemeral=True)

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
