"""Background upkeep of the store while the bot runs: no commands, only a loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.upkeep._cog import UpkeepCog

if TYPE_CHECKING:
    from bot.client import InsightBot


async def setup(bot: InsightBot) -> None:
    await bot.add_cog(UpkeepCog(bot))
