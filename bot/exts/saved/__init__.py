"""/saved: each person's own list of saved insights (list, remove, search, export)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.saved._cog import SavedCog

if TYPE_CHECKING:
    from bot.client import InsightBot


async def setup(bot: InsightBot) -> None:
    await bot.add_cog(SavedCog(bot))
