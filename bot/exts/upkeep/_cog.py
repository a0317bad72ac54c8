"""Keeps Chroma in step with SQL while the bot runs.

A Chroma write that fails after its SQL commit (the Chroma server restarting, a network blip)
would otherwise leave the insight out of meaning search until the next start-up, in this process
or in any other that shares the store. Every few minutes the store compares the two by id and
indexes what is missing. The first beat comes one interval after start-up, which reconciles
already. Like the digest loop, its body catches everything, since an unhandled exception would
stop a discord.ext.tasks loop for good.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from discord.ext import commands, tasks

from store import StoreUnavailable

if TYPE_CHECKING:
    from bot.client import InsightBot

log = logging.getLogger(__name__)

REPAIR_MINUTES = 5.0


class UpkeepCog(commands.Cog):
    def __init__(self, bot: InsightBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        if not self.index_repair.is_running():
            self.index_repair.start()

    async def cog_unload(self) -> None:
        task = self.index_repair.get_task()
        self.index_repair.cancel()
        if task is not None and task is not asyncio.current_task():
            await asyncio.gather(task, return_exceptions=True)

    @tasks.loop(minutes=REPAIR_MINUTES)
    async def index_repair(self) -> None:
        try:
            repaired = await self.bot.store.repair_index()
        except StoreUnavailable:
            log.warning("index repair skipped: the store is unavailable; trying again in %.0f minutes", REPAIR_MINUTES)
        except Exception:
            log.exception("index repair hit an error; it goes on at the next beat")
        else:
            if repaired.indexed or repaired.removed:
                log.info("index repair: %d indexed, %d removed", repaired.indexed, repaired.removed)

    @index_repair.before_loop
    async def _wait_for_store(self) -> None:
        await self.bot.wait_for_store()
        await asyncio.sleep(REPAIR_MINUTES * 60)
