"""/saved: each person's own list of saved insights (list, remove, search, export)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.saved._cog import SavedCog
from bot.exts.saved._pager import SavedPageButton
from bot.exts.saved._remove import RemoveButton
from bot.views import SaveButton

if TYPE_CHECKING:
    from bot.client import InsightBot


async def setup(bot: InsightBot) -> None:
    await bot.add_cog(SavedCog(bot))
    # Registered once, not per message: the buttons carry their state and survive restarts. Saving is
    # this feature's too; its button appears under search results and digests as well.
    bot.add_dynamic_items(SaveButton, SavedPageButton, RemoveButton)
