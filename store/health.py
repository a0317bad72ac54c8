"""Is the store reachable, and is a bot on this data directory alive? Asked by container health
checks and operators every half minute.

It asks the database and Chroma for an answer without loading the model, so it costs well under a
second. When a bot runs on this data directory it also checks the bot's heartbeat (store.heartbeat):
a gateway or digest loop that has stopped beating fails the check.
"""

from __future__ import annotations

import asyncio

from config.settings import Settings


async def check_health(settings: Settings) -> dict[str, str]:
    """Each part that does not answer, with a short reason; empty when all is well."""
    from sqlalchemy import text

    from store.database import create_engine
    from store.heartbeat import stale_parts

    problems: dict[str, str] = stale_parts(settings.data_dir)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:
        problems["database"] = f"unreachable ({type(error).__name__})"
    finally:
        await engine.dispose()
    if settings.chroma_url:
        # Imported only here: embedded Chroma has no server to ask, and numpy and chromadb cost time.
        from store.vector_index import open_chroma_client

        try:
            client = await asyncio.to_thread(open_chroma_client, settings.chroma_url, settings.chroma_dir)
            await asyncio.to_thread(client.heartbeat)
        except Exception as error:
            problems["chroma"] = f"unreachable ({type(error).__name__})"
    return problems
