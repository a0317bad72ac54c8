"""/digest: a daily top-five post per server, at the server's own time, once a day."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.exts.digest._cog import DigestCog

if TYPE_CHECKING:
    from bot.client import InsightBot


async def setup(bot: InsightBot) -> None:
    await bot.add_cog(DigestCog(bot))
