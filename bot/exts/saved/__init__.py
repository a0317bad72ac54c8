"""/saved: each person's own list of saved insights (list, remove, search, export)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.saved._cog import SavedCog
from bot.views import SaveButton

if TYPE_CHECKING:
    from bot.client import InsightBot


async def setup(bot: InsightBot) -> None:
    await bot.add_cog(SavedCog(bot))
    # Saving is this feature's; its button appears under search results and digests too. Registered
    # once rather than per message, so Save buttons sent before a restart still work.
    bot.add_dynamic_items(SaveButton)
