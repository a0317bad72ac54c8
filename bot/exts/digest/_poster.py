"""Posting one claimed digest to its channel, at most once.

Discord's client already retries rate limits and server errors a few times; what still fails is
retried here with a growing pause. Before each retry the claim's lease is renewed; if another
process has taken the run meanwhile (this one was stalled past the lease), this one stops. If it
still loses the race after sending, its message is a duplicate and is deleted again.
The message carries the run's marker in its first Save button's custom id, where a restarted
process searching the channel finds it and no reader sees it.
Missing permissions or a deleted channel will not heal by waiting: the digest is turned off for
that server with the reason, which `/digest status` shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from bot import rendering
from bot.views import SaveButton, dynamic_view
from store import DigestClaim

if TYPE_CHECKING:
    from bot.client import InsightBot

log = logging.getLogger(__name__)

ATTEMPTS = 4
FIRST_PAUSE_SECONDS = 2.0
RELATED_PER_INSIGHT = 2
HISTORY_TO_SEARCH = 50

Sleeper = Callable[[float], Awaitable[None]]


async def post_digest(bot: InsightBot, claim: DigestClaim, sleep: Sleeper = asyncio.sleep) -> str | None:
    """Returns the id of the message that carries the digest, or None if it could not be posted."""
    store = bot.store
    channel = bot.get_partial_messageable(int(claim.channel_id), guild_id=int(claim.guild_id))
    if claim.resumed:
        already = await _find_marker(channel, claim)
        if already is not None:
            # The process that claimed it posted and died before recording it: record, don't repost.
            await store.digests.mark_posted(claim.run_id, already)
            return already
    hits = [await store.related(pick.insight_id) for pick in claim.picks]
    message = rendering.digest_message(claim, hits, RELATED_PER_INSIGHT)
    tag = marker_tag(claim)
    view = dynamic_view(
        SaveButton(pick.insight_id, label=f"Save {number}", tag=tag if number == 1 else None)
        for number, pick in enumerate(claim.picks, start=1)
    )
    for attempt in range(1, ATTEMPTS + 1):
        if attempt > 1 and not await store.digests.renew(claim):
            log.warning(
                "digest for guild %s (%s): another process took the run over; not posting", claim.guild_id, claim.local_date
            )
            return None
        try:
            sent = await channel.send(content=message.content, embeds=message.embeds, view=view)
        except (discord.Forbidden, discord.NotFound) as error:
            reason = _permanent_reason(error, claim.channel_id)
            log.warning("digest for guild %s turned off: %s", claim.guild_id, reason)
            await store.digests.mark_failed(claim, reason, permanent=True)
            return None
        except discord.HTTPException as error:
            if not (error.status == 429 or error.status >= 500) or attempt == ATTEMPTS:
                log.error("digest for guild %s not posted after %d attempts: %s", claim.guild_id, attempt, error)
                await store.digests.mark_failed(claim, f"Discord answered {error.status}: {error.text[:200]}", permanent=False)
                return None
            pause = FIRST_PAUSE_SECONDS * 2 ** (attempt - 1)
            log.warning("digest for guild %s: Discord answered %s; trying again in %.0f s", claim.guild_id, error.status, pause)
            await sleep(pause)
            continue
        if not await store.digests.mark_posted(claim.run_id, str(sent.id)):
            await _withdraw(sent, claim)
            return None
        log.info("posted the digest for guild %s (%s) as message %s", claim.guild_id, claim.local_date, sent.id)
        return str(sent.id)
    return None


async def _withdraw(sent: discord.Message, claim: DigestClaim) -> None:
    """Another process recorded its post of this run first: ours is the second and goes."""
    try:
        await sent.delete()
        log.warning(
            "digest for guild %s (%s) was posted by another process too; deleted ours (%s)",
            claim.guild_id,
            claim.local_date,
            sent.id,
        )
    except discord.HTTPException:
        log.error(
            "digest for guild %s (%s) was posted twice; could not delete message %s",
            claim.guild_id,
            claim.local_date,
            sent.id,
            exc_info=True,
        )


def _permanent_reason(error: discord.HTTPException, channel_id: str) -> str:
    if isinstance(error, discord.Forbidden):
        return f"missing permission to post in <#{channel_id}> (403): give the bot Send Messages and Embed Links there, then /digest channel again"
    return f"the channel <#{channel_id}> no longer exists (404): choose another with /digest channel"


def marker_tag(claim: DigestClaim) -> str:
    """The run's marker as a custom-id tail ("digest-2026-11-29-#1"): data on the message that a
    history search can read and no reader sees."""
    return claim.marker.removeprefix("insight-recall ").replace(" ", "-")


def _carries_marker(message: discord.Message, claim: DigestClaim) -> bool:
    tail = f":{marker_tag(claim)}"
    for row in message.components:
        for component in getattr(row, "children", []):
            if (getattr(component, "custom_id", None) or "").endswith(tail):
                return True
    # Posts from before the marker moved out of sight carried it in their text.
    return claim.marker in (message.content or "")


async def _find_marker(channel: discord.PartialMessageable, claim: DigestClaim) -> str | None:
    try:
        async for message in channel.history(limit=HISTORY_TO_SEARCH):
            if _carries_marker(message, claim):
                return str(message.id)
    except discord.HTTPException:
        log.warning("could not read channel %s history to check for an earlier post", channel.id, exc_info=True)
    return None
