"""/insight: search, related, stats, and the managers' add and ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.insights._cog import InsightsCog

if TYPE_CHECKING:
    from bot.client import InsightBot


async def setup(bot: InsightBot) -> None:
    await bot.add_cog(InsightsCog(bot))
