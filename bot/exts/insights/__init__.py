"""/insight: search, related, stats, and the managers' add and ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.insights._cog import InsightsCog
from bot.exts.insights._pager import SearchPageButton

if TYPE_CHECKING:
    from bot.client import InsightBot


async def setup(bot: InsightBot) -> None:
    await bot.add_cog(InsightsCog(bot))
    # Registered once, not per message, so page buttons sent before a restart are still answered.
    bot.add_dynamic_items(SearchPageButton)
