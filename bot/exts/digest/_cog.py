"""The /digest commands (Manage Server) and the loop that posts digests when they are due.

The loop starts once, when the cog loads, not in on_ready (which fires again after reconnects), so
reconnects never start a second loop; it only asks the database what is due, so missing a beat
(the bot was down) is caught up the next time it runs. Its body catches everything: a loop of
discord.ext.tasks stops for good on an exception it does not handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
from datetime import date
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot import rendering
from bot.checks import manager_only
from bot.exts.digest._poster import post_digest
from bot.limits import CHOICES
from bot.replies import defer_thinking, send, send_notice
from store import DIGEST_HEARTBEAT as DIGEST
from store import DigestStatus, InvalidInput, StoreUnavailable, local_today, parse_time, parse_timezone, timezone_choices
from store import record_heartbeat as beat

if TYPE_CHECKING:
    from bot.client import InsightBot

log = logging.getLogger(__name__)

LOOP_SECONDS = 30.0
# Guilds posting at once: enough that one guild's retry pauses (up to 14 s) delay nobody else,
# few enough to stay inside Discord's global rate limit and the database pool.
CONCURRENT_POSTS = 8
DIGEST_OFF = "The daily digest is off. `/digest channel` turns it on again."
NO_CHANNEL = "No digest channel is set yet: `/digest channel` picks one and turns the digest on."
# Reacting with 1️⃣ to 5️⃣ on a digest is a vote for the insight at that place; votes raise an
# insight's engagement in later digests.
VOTE_EMOJI = {"1\ufe0f\u20e3": 1, "2\ufe0f\u20e3": 2, "3\ufe0f\u20e3": 3, "4\ufe0f\u20e3": 4, "5\ufe0f\u20e3": 5}


class DigestCog(commands.Cog):
    digest = app_commands.Group(
        name="digest",
        description="A daily post of the five best insights (Manage Server)",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: InsightBot) -> None:
        self.bot = bot
        # Names this process in the claim records, to tell two bot processes apart in the logs.
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._posting: dict[str, asyncio.Task[str | None]] = {}
        self._post_slots = asyncio.Semaphore(CONCURRENT_POSTS)
        self._reports: set[asyncio.Task[int]] = set()

    async def cog_load(self) -> None:
        if not self.scheduler.is_running():
            self.scheduler.start()

    async def cog_unload(self) -> None:
        """Waits for a beat in progress to stop, so the store is not closed under it. Posts under
        way are cancelled: a claim left behind is retaken after its lease, and the marker in the
        channel keeps a post that went out from going out twice."""
        task = self.scheduler.get_task()
        self.scheduler.cancel()
        if task is not None and task is not asyncio.current_task():
            await asyncio.gather(task, return_exceptions=True)
        pending = [*self._posting.values(), *self._reports]
        for running in pending:
            running.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    @tasks.loop(seconds=LOOP_SECONDS)
    async def scheduler(self) -> None:
        # Starts the posts and returns: a guild whose post waits out Discord's retries must hold
        # up neither other guilds nor the next beat.
        # The loop is alive even when a beat fails; `insight-recall health` notices when it stops.
        with contextlib.suppress(OSError):
            await asyncio.to_thread(beat, self.bot.settings.data_dir, DIGEST)
        try:
            started = await self.start_due_digests()
        except StoreUnavailable:
            log.warning("the digest loop could not reach the store; it tries again at the next beat")
            return
        except Exception:
            log.exception("the digest loop hit an error; it goes on at the next beat")
            return
        report = asyncio.create_task(self._report_beat(started), name="digest beat report")
        self._reports.add(report)
        report.add_done_callback(self._reports.discard)

    @scheduler.before_loop
    async def _wait_for_store(self) -> None:
        await self.bot.wait_for_store()

    async def start_due_digests(self) -> list[asyncio.Task[str | None]]:
        """One task for each guild whose digest is due now, at most ``CONCURRENT_POSTS`` of them
        posting at once. A guild whose post is still under way from an earlier beat is left to it."""
        started: list[asyncio.Task[str | None]] = []
        for config, local_date in await self.bot.store.digests.due_guilds():
            guild_id = config.guild_id
            if guild_id in self._posting:
                continue
            poster = asyncio.create_task(
                self._post_guild(guild_id, config.channel_id or "", local_date), name=f"digest {guild_id}"
            )
            self._posting[guild_id] = poster
            poster.add_done_callback(functools.partial(self._forget_poster, guild_id))
            started.append(poster)
        return started

    def _forget_poster(self, guild_id: str, done: asyncio.Task[str | None]) -> None:
        if self._posting.get(guild_id) is done:
            del self._posting[guild_id]

    async def post_due_digests(self) -> int:
        """Claims and posts every digest due now and waits for the posts; returns how many went out."""
        return await self._report_beat(await self.start_due_digests())

    async def _report_beat(self, started: list[asyncio.Task[str | None]]) -> int:
        outcomes = await asyncio.gather(*started, return_exceptions=True)
        posted = sum(1 for outcome in outcomes if isinstance(outcome, str))
        # Lets an operator (and the two-process test) see each beat and which process posted.
        log.debug("digest beat by %s: %d started, %d posted", self.worker_id, len(started), posted)
        return posted

    async def _post_guild(self, guild_id: str, channel_id: str, local_date: date) -> str | None:
        async with self._post_slots:
            try:
                return await self._claim_and_post(guild_id, channel_id, local_date)
            except StoreUnavailable:
                # An outage, not a bug: a later beat tries again (after the lease, if the day was claimed).
                log.warning("digest for guild %s not posted now: the store is unavailable", guild_id)
            except Exception:
                log.exception("digest for guild %s failed", guild_id)
            return None

    async def _claim_and_post(self, guild_id: str, channel_id: str, local_date: date) -> str | None:
        claim = await self.bot.store.digests.claim(guild_id, channel_id, local_date, self.worker_id)
        if claim is None:
            return None
        return await post_digest(self.bot, claim)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        rank = VOTE_EMOJI.get(payload.emoji.name or "")
        store = self.bot.store_if_ready
        if rank is None or store is None or payload.user_id == getattr(self.bot.user, "id", None):
            return
        try:
            if await store.digests.vote_by_message(str(payload.message_id), rank, str(payload.user_id)):
                log.info("digest vote by user %s for place %d of message %s", payload.user_id, rank, payload.message_id)
        except Exception:
            log.warning("could not record a digest vote", exc_info=True)

    # -- commands -----------------------------------------------------------------------------

    @digest.command(name="channel", description="Post the daily digest in this channel")
    @app_commands.describe(channel="The text channel for the daily digest")
    @manager_only()
    async def channel(self, interaction: discord.Interaction[InsightBot], channel: app_commands.AppCommandChannel) -> None:
        # The resolved channel, not the cached one: the bot keeps no channel cache it would need.
        if channel.type not in (discord.ChannelType.text, discord.ChannelType.news):
            raise InvalidInput(f"#{channel.name} is not a text channel: pick a text channel for the digest")
        digests = self.bot.store.digests
        config = await digests.configure_channel(str(interaction.guild_id), str(channel.id))
        status = await digests.status(config.guild_id)
        await send_notice(
            interaction,
            f"The daily digest will be posted in <#{channel.id}> at {config.post_time} {config.timezone}. "
            f"{_first_post(status)} Change the time with `/digest time`; `/digest now` posts today's at once.",
        )

    @digest.command(name="time", description="When the daily digest is posted")
    @app_commands.describe(time="24-hour time, HH:MM (e.g. 08:00)", timezone="Your time zone, e.g. Europe/Berlin")
    @manager_only()
    async def time(self, interaction: discord.Interaction[InsightBot], time: str, timezone: str = "UTC") -> None:
        # Checked before the store is touched: a bad value is answered at once.
        parse_time(time)
        parse_timezone(timezone)
        digests = self.bot.store.digests
        config = await digests.configure_time(str(interaction.guild_id), time, timezone)
        status = await digests.status(config.guild_id)
        line = f"The daily digest will be posted at {config.post_time} {config.timezone}."
        if status.state in ("on", "empty", "retrying"):
            line += f" {_first_post(status, first=False)}"
        else:
            line += f" It is {rendering.digest_state(status)}."
        await send_notice(interaction, line)

    @time.autocomplete("timezone")
    async def timezone_choices(
        self, _interaction: discord.Interaction[InsightBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=name, value=name) for name in timezone_choices(current[:64], CHOICES)]

    @digest.command(name="off", description="Stop the daily digest")
    @manager_only()
    async def off(self, interaction: discord.Interaction[InsightBot]) -> None:
        await self.bot.store.digests.turn_off(str(interaction.guild_id))
        await send_notice(interaction, DIGEST_OFF)

    @digest.command(name="preview", description="See what the digest would post now (only you see it)")
    @manager_only()
    async def preview(self, interaction: discord.Interaction[InsightBot]) -> None:
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=True)
        picks = await store.digests.preview(str(interaction.guild_id))
        await send(interaction, rendering.digest_preview(picks), ephemeral=True)

    @digest.command(name="now", description="Post today's digest now, if today's was not posted yet")
    @manager_only()
    async def now(self, interaction: discord.Interaction[InsightBot]) -> None:
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=True)
        status = await store.digests.status(str(interaction.guild_id))
        config = status.config
        if config is None or config.channel_id is None or not config.enabled:
            await send_notice(interaction, _why_not_now(status))
            return
        today = local_today(store.digests.clock(), config.timezone)
        message_id = await self._claim_and_post(config.guild_id, config.channel_id, today)
        if message_id is not None:
            await send_notice(interaction, f"Posted today's digest in <#{config.channel_id}>.")
            return
        status = await store.digests.status(config.guild_id)
        if status.last_posted_date == today.isoformat():
            await send_notice(interaction, "Today's digest was already posted; the next one comes tomorrow.")
        elif status.state == "empty":
            await send_notice(interaction, "Nothing was posted: the insight store is empty. Add insights first.")
        elif status.state in ("failed", "retrying"):
            await send_notice(interaction, f"Nothing was posted: {rendering.digest_problem(status)}.")
        else:
            await send_notice(interaction, "Nothing was posted: another process is posting it right now.")

    @digest.command(name="status", description="Channel, time, last and next post, and any problem")
    @manager_only()
    async def status(self, interaction: discord.Interaction[InsightBot]) -> None:
        store = self.bot.store
        await defer_thinking(interaction, ephemeral=True)
        await send(interaction, rendering.digest_status(await store.digests.status(str(interaction.guild_id))), ephemeral=True)


def _first_post(status: DigestStatus, *, first: bool = True) -> str:
    """When the next post will come, said at set-up so nobody is surprised by one at once."""
    if status.next_post_at is None:
        return ""
    return f"The {'first' if first else 'next'} post: {rendering.when(status.next_post_at)}."


def _why_not_now(status: DigestStatus) -> str:
    if status.state == "unset":
        return NO_CHANNEL
    if status.state == "off":
        return "The daily digest is off (turned off with `/digest off`): `/digest channel` turns it on again, then `/digest now` posts today's."
    return f"The daily digest is off because a post failed: {rendering.digest_problem(status)}. Fix that, then `/digest channel` turns it on again."
