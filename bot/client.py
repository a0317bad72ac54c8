"""The Discord client: created without touching the network, given its store once the model loads.

The runner starts the gateway connection and the model load side by side (the model takes
seconds, the handshake too), so the bot exists before the store does. Until
:meth:`InsightBot.attach_store`, ``bot.store`` raises :class:`StoreStarting`, which every command
turns into "starting up, try again".
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import telemetry
from bot.errors import StoreStarting, install_error_handler
from bot.exts import extension_names
from config.settings import Settings
from store import InsightStore

log = logging.getLogger(__name__)


class InsightTree(app_commands.CommandTree["InsightBot"]):
    async def interaction_check(self, interaction: discord.Interaction[InsightBot], /) -> bool:
        # The earliest point the bot sees an application command: start its latency clock here.
        telemetry.mark_received(interaction)
        return True


def intents() -> discord.Intents:
    """No privileged intents: slash commands and buttons arrive as interactions, which need none."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    # Reactions on digest posts are votes; this intent is not a privileged one.
    chosen.guild_reactions = True
    return chosen


class InsightBot(commands.Bot):
    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__(
            # Prefix commands are not used; the message-content intent is not even requested.
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents(),
            # Set on the client, this covers every message the bot sends, from any feature.
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=InsightTree,
            max_messages=None,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            **options,
        )
        self.settings = settings
        self._store: InsightStore | None = None
        self._store_attached = asyncio.Event()

    # -- the store --------------------------------------------------------------------------

    @property
    def store(self) -> InsightStore:
        if self._store is None:
            raise StoreStarting()
        return self._store

    @property
    def store_if_ready(self) -> InsightStore | None:
        """For autocomplete, which has no way to show an error and should just offer nothing."""
        return self._store

    def attach_store(self, store: InsightStore) -> None:
        if self._store is not None and self._store is not store:
            raise RuntimeError("a store is already attached to this bot")
        self._store = store
        self._store_attached.set()
        log.info("insight store attached; commands are answered from now on")

    async def wait_for_store(self) -> InsightStore:
        await self._store_attached.wait()
        return self.store

    # -- lifecycle --------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        for name in extension_names():
            await self.load_extension(name)
        install_error_handler(self.tree)
        if self.settings.dev_guild_id is not None:
            await self._sync_dev_guild(self.settings.dev_guild_id)

    async def _sync_dev_guild(self, guild_id: int) -> None:
        """Development only: a guild sync shows changes at once. A global sync is left to the
        explicit `sync-commands` command, since Discord rate-limits it and it touches every guild."""
        guild = discord.Object(id=guild_id)
        self.tree.copy_global_to(guild=guild)
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as error:
            log.error(
                "could not sync commands to the development guild %s (is the bot in it, invited with the "
                "applications.commands scope?): %s",
                guild_id,
                error,
            )
            return
        log.info("synced %d commands to the development guild %s", len(synced), guild_id)

    async def on_app_command_completion(
        self,
        interaction: discord.Interaction[InsightBot],
        command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu,
    ) -> None:
        log.info(
            "command %s by user %s completed in %d ms",
            command.qualified_name,
            interaction.user.id,
            telemetry.elapsed_ms(interaction),
        )

    async def close(self) -> None:
        """Safe before login, twice, and when an extension fails to unload. The store is left
        open: whoever opened it (the runner) closes it, after the bot."""
        try:
            await super().close()
        except Exception:
            log.exception("error while closing the Discord client")


class ShardedInsightBot(InsightBot, commands.AutoShardedBot):
    """The same bot on discord.py's AutoShardedClient, for large installations."""


def create_bot(settings: Settings) -> InsightBot:
    """No network and no model loading: the runner logs in and attaches the store afterwards."""
    bot_class = ShardedInsightBot if settings.sharded else InsightBot
    return bot_class(settings)


__all__ = ["InsightBot", "InsightTree", "ShardedInsightBot", "StoreStarting", "create_bot", "intents"]
