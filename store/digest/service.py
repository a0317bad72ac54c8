"""The daily digest's records: each guild's settings, and one run per channel and local day.

How a digest is posted once, on time, never twice, even with two bot processes on one database:

1. ``due_guilds()`` names the guilds whose digest for *today* (in their own zone) is
   due and not posted. The scheduler calls it every beat; missed beats are caught up the same day,
   earlier days are never offered.
2. ``claim(guild, channel, local_date, worker)`` chooses the five and, in one transaction, inserts
   the day's run (UNIQUE(channel_id, local_date)) with its five items. Only the process whose
   insert succeeds gets a :class:`DigestClaim`; everyone else gets None.
3. The poster puts ``claim.marker`` on the message where a history search can read it (the bot:
   in a Save button's custom id, out of the readers' sight), sends it, then calls
   ``mark_posted(run_id, message_id)``. While it retries (rate limits, 5xx) it calls
   ``renew(claim)`` before each attempt and stops if that returns False: its lease was lost.
4. A crash between 2 and 3 leaves the run "claimed" without a message id. Once its lease
   (``LEASE``, doubling with each attempt up to 8x) has run out, the next ``claim`` for that day
   retakes it with a conditional UPDATE (status still 'claimed', claimed_at older than the lease,
   attempts unchanged), so exactly one process wins. It gets the *same* five (they were stored at
   claim time) and ``claim.resumed`` is True: before sending, the poster searches the channel's
   recent messages for ``claim.marker`` and, if found, only records that message with
   ``mark_posted``. ``mark_posted`` keeps the first message recorded; a False answer means the
   run already has one, so the caller's own message is a duplicate it may delete.
5. ``mark_failed(claim, error, permanent=False)`` (the poster gave up on 429/5xx) records the
   error and restarts the lease, so a later beat retries with the same five; like ``renew`` it
   does nothing once the claim is lost, so a stalled poster cannot end another process's run.
   ``permanent=True`` (403 missing permissions, 404 deleted channel) ends the run and turns the
   guild's digest off with the reason, which ``status`` shows. Turning it on again with
   ``configure_channel`` lets the same day's run be claimed again (``/digest now``); the scheduler
   offers it only if the day's post time is still to come, since a time that had passed when
   the settings were made is never caught up (see ``schedule``).

A server gets one digest a day: once a day is posted in one channel, moving the digest to another
channel neither makes that day due again nor lets it be claimed there.

An empty store claims nothing (no run row) and ``status`` says so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from store import sql_dialect
from store.digest import schedule
from store.digest.schedule import DigestConfig
from store.digest.schema import (
    digest_feedback,
    digest_items,
    digest_runs,
    digest_settings,
)
from store.digest.selection import DigestPick, DigestSelector, DigestWeights
from store.errors import InvalidInput
from store.outages import translate_outages
from store.repository import InsightRepository
from store.schema import insights
from store.vector_index import VectorIndex

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_LEASE_DOUBLINGS = 3
DIGEST_SIZE = 5
RESURFACE_DAYS = 30
# The only feedback there is: a 1 to 5 reaction on a posted digest, counted as a vote for that place.
FEEDBACK_KIND = "reaction"
# The reason the bot's /digest off once stored; a deliberate off now stores no reason at all.
TURNED_OFF_ON_PURPOSE = "turned off with /digest off"
_DISCORD_ID = re.compile(r"^\d{1,20}$")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored one is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _check_id(value: str, what: str) -> str:
    cleaned = str(value).strip()
    if not _DISCORD_ID.match(cleaned):
        raise InvalidInput(f"{cleaned[:24]!r} is not a {what} id: use the number Discord shows for it")
    return cleaned


def _day(local_date: date | str) -> str:
    if isinstance(local_date, date):
        return local_date.isoformat()
    try:
        return date.fromisoformat(local_date).isoformat()
    except ValueError:
        raise InvalidInput(f"{local_date[:20]!r} is not a date: use YYYY-MM-DD") from None


def lease_for(attempts: int) -> timedelta:
    """How long a claim is left alone: a run that keeps failing is retried less and less often."""
    return LEASE * (1 << min(max(attempts - 1, 0), MAX_LEASE_DOUBLINGS))


def marker_for(local_date: str, run_id: int) -> str:
    return f"insight-recall digest {local_date} #{run_id}"


@dataclass(frozen=True, slots=True)
class DigestClaim:
    """A run this process may post. ``resumed``: an earlier attempt may have posted it already."""

    run_id: int
    guild_id: str
    channel_id: str
    local_date: str
    picks: tuple[DigestPick, ...]
    resumed: bool
    claimed_by: str = ""
    attempt: int = 1

    @property
    def marker(self) -> str:
        return marker_for(self.local_date, self.run_id)


class DueDigest(NamedTuple):
    """A tuple, so ``for config, local_date in await digests.due_guilds()`` reads naturally."""

    config: DigestConfig
    local_date: date


@dataclass(frozen=True, slots=True)
class DigestStatus:
    config: DigestConfig | None
    last_posted_date: str | None
    last_message_id: str | None
    next_post_at: datetime | None
    problem: str | None
    store_empty: bool = False
    # Today's post failed and will be retried; this is the error it got.
    retry_error: str | None = None

    @property
    def state(self) -> str:
        """What the digest is doing, as a code for the fronts to word: "unset" (no channel),
        "off" (turned off on purpose), "failed" (turned off by a failure that needs fixing,
        ``config.disabled_reason`` says which), "empty" (on, nothing to post), "retrying" (on, today's
        post failed and is tried again) or "on"."""
        config = self.config
        if config is None or config.channel_id is None:
            return "unset"
        if not config.enabled:
            return "off" if config.disabled_reason in (None, TURNED_OFF_ON_PURPOSE) else "failed"
        if self.store_empty:
            return "empty"
        return "retrying" if self.retry_error else "on"

    @property
    def next_post_local(self) -> datetime | None:
        if self.next_post_at is None or self.config is None:
            return None
        return self.next_post_at.astimezone(ZoneInfo(self.config.timezone))

    def as_dict(self) -> dict[str, Any]:
        config = self.config
        local = self.next_post_local
        return {
            "channel_id": config.channel_id if config else None,
            "time": config.post_time if config else schedule.DEFAULT_TIME,
            "timezone": config.timezone if config else schedule.DEFAULT_TIMEZONE,
            "enabled": bool(config and config.enabled),
            "last_posted_date": self.last_posted_date,
            "last_message_id": self.last_message_id,
            "next_post_at": self.next_post_at.isoformat() if self.next_post_at else None,
            "next_post_local": local.isoformat() if local else None,
            "problem": self.problem,
            "store_empty": self.store_empty,
            "state": self.state,
        }


def _config(row: Any) -> DigestConfig:
    return DigestConfig(
        row.guild_id,
        row.channel_id,
        row.post_time,
        row.timezone,
        bool(row.enabled),
        row.disabled_reason,
        _aware(row.updated_at) if row.updated_at is not None else None,
    )


class DigestService:
    def __init__(
        self,
        engine: AsyncEngine,
        repository: InsightRepository,
        index: VectorIndex,
        same_idea_threshold: float,
        clock: Callable[[], datetime] = _utc_now,
        *,
        size: int = DIGEST_SIZE,
        resurface_days: int = RESURFACE_DAYS,
        weights: DigestWeights | None = None,
    ) -> None:
        self._engine = engine
        self._selector = DigestSelector(
            engine, repository, index, same_idea_threshold, size=size, resurface_days=resurface_days, weights=weights
        )
        # Public so tests (and the bot's stand-in tests) can move time.
        self.clock = clock

    def _insert(self, table: Any) -> Any:
        return sql_dialect.insert(self._engine, table)

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    # -- settings -----------------------------------------------------------------------------

    @translate_outages
    async def config(self, guild_id: str) -> DigestConfig | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(digest_settings).where(digest_settings.c.guild_id == str(guild_id)))).first()
        return _config(row) if row is not None else None

    async def _save(self, guild_id: str, **changes: Any) -> DigestConfig:
        """One upsert that touches only ``changes``, so two managers changing different settings
        at once both keep theirs."""
        guild_id = _check_id(guild_id, "server")
        changes["updated_at"] = self._now()
        defaults = {
            "guild_id": guild_id,
            "channel_id": None,
            "post_time": schedule.DEFAULT_TIME,
            "timezone": schedule.DEFAULT_TIMEZONE,
            "enabled": False,
            "disabled_reason": None,
        }
        statement = self._insert(digest_settings).values(**(defaults | changes))
        statement = statement.on_conflict_do_update(index_elements=["guild_id"], set_=changes)
        async with self._engine.begin() as connection:
            await connection.execute(statement)
        saved = await self.config(guild_id)
        assert saved is not None
        return saved

    @translate_outages
    async def configure_channel(self, guild_id: str, channel_id: str) -> DigestConfig:
        """Sets the channel and turns the digest on (again, after a failure turned it off)."""
        return await self._save(guild_id, channel_id=_check_id(channel_id, "channel"), enabled=True, disabled_reason=None)

    @translate_outages
    async def configure_time(self, guild_id: str, post_time: str, zone: str) -> DigestConfig:
        parsed = schedule.parse_time(post_time)
        schedule.parse_timezone(zone)
        return await self._save(guild_id, post_time=parsed.strftime("%H:%M"), timezone=zone.strip())

    @translate_outages
    async def turn_off(self, guild_id: str, reason: str | None = None) -> DigestConfig:
        return await self._save(guild_id, enabled=False, disabled_reason=reason)

    # -- reading ------------------------------------------------------------------------------

    @translate_outages
    async def status(self, guild_id: str) -> DigestStatus:
        config = await self.config(guild_id)
        empty = await self._store_is_empty()
        if config is None or config.channel_id is None:
            no_channel = "no channel set: use /digest channel"
            return DigestStatus(
                config, None, None, None, "the insight store is empty; " + no_channel if empty else no_channel, empty
            )
        now = self._now()
        async with self._engine.connect() as connection:
            last = (
                await connection.execute(
                    select(digest_runs.c.local_date, digest_runs.c.message_id)
                    .where(and_(digest_runs.c.guild_id == config.guild_id, digest_runs.c.status == "posted"))
                    .order_by(digest_runs.c.local_date.desc())
                    .limit(1)
                )
            ).first()
            today = schedule.local_today(now, config.timezone).isoformat()
            pending = (
                await connection.execute(
                    select(digest_runs.c.status, digest_runs.c.last_error).where(
                        and_(digest_runs.c.channel_id == config.channel_id, digest_runs.c.local_date == today)
                    )
                )
            ).first()
        last_date: str | None = last.local_date if last else None
        last_message: str | None = last.message_id if last else None
        problem: str | None = None
        retry_error = pending.last_error if pending is not None and pending.status == "claimed" else None
        if not config.enabled:
            problem = config.disabled_reason or "the digest is off: use /digest channel to turn it on"
        elif empty:
            problem = "the insight store is empty: nothing is posted until insights are added"
        elif pending is not None and pending.status == "claimed" and pending.last_error:
            problem = f"today's post failed and will be tried again: {pending.last_error}"
        next_at = schedule.next_post_at(config, now, last_date)
        return DigestStatus(config, last_date, last_message, next_at, problem, empty, retry_error if config.enabled else None)

    async def _store_is_empty(self) -> bool:
        async with self._engine.connect() as connection:
            return (await connection.execute(select(insights.c.id).limit(1))).first() is None

    @translate_outages
    async def preview(self, guild_id: str | None) -> list[DigestPick]:
        """What would be posted now; writes nothing. No guild: as for a channel that never had one."""
        config = await self.config(_check_id(guild_id, "server")) if guild_id is not None else None
        return await self._selector.choose(config.channel_id if config else None, self._now())

    @translate_outages
    async def due_guilds(self, now: datetime | None = None) -> list[DueDigest]:
        """Guilds whose digest for today, in their own zone, should be posted now (one query)."""
        now = (now or self.clock()).astimezone(UTC)
        # By guild, not channel: a digest moved to another channel after today's post is not due
        # again today (once a day per server).
        last_posted = (
            select(digest_runs.c.guild_id, func.max(digest_runs.c.local_date).label("last_posted"))
            .where(digest_runs.c.status == "posted")
            .group_by(digest_runs.c.guild_id)
            .subquery()
        )
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(digest_settings, last_posted.c.last_posted)
                    .outerjoin(last_posted, last_posted.c.guild_id == digest_settings.c.guild_id)
                    .where(and_(digest_settings.c.enabled.is_(True), digest_settings.c.channel_id.is_not(None)))
                    .order_by(digest_settings.c.guild_id)
                )
            ).all()
        found = []
        for row in rows:
            config = _config(row)
            local_date = schedule.due_date(config, now, row.last_posted)
            if local_date is not None:
                found.append(DueDigest(config, local_date))
        return found

    # -- claiming and posting -----------------------------------------------------------------

    @translate_outages
    async def claim(self, guild_id: str, channel_id: str, local_date: date | str, claimed_by: str) -> DigestClaim | None:
        """The day's run for this process to post, or None: the digest is off or moved, someone
        else holds the day, it is done, or there is nothing to post."""
        day = _day(local_date)
        config = await self.config(guild_id)
        if config is None or not config.enabled or config.channel_id != channel_id:
            return None
        existing = await self._run(channel_id, day)
        if existing is not None:
            return await self._retake(existing, claimed_by)
        if await self._posted_on(guild_id, day):
            return None  # posted today in the channel the digest was moved from
        now = self._now()
        picks = await self._selector.choose(channel_id, now)
        if not picks:
            return None
        try:
            async with self._engine.begin() as connection:
                run_id = (
                    await connection.execute(
                        digest_runs.insert()
                        .values(
                            guild_id=guild_id,
                            channel_id=channel_id,
                            local_date=day,
                            status="claimed",
                            claimed_by=claimed_by,
                            claimed_at=now,
                            attempts=1,
                        )
                        .returning(digest_runs.c.id)
                    )
                ).scalar_one()
                await connection.execute(
                    digest_items.insert(),
                    [
                        {
                            "run_id": run_id,
                            "rank": rank,
                            "insight_id": pick.insight_id,
                            "score": pick.score,
                            "why": pick.why,
                            "resurfaced": pick.resurfaced,
                        }
                        for rank, pick in enumerate(picks, start=1)
                    ],
                )
        except IntegrityError:
            if await self._run(channel_id, day) is None:
                # Not the day's claim but an insight deleted since it was chosen: the next beat
                # chooses again.
                log.warning("digest for guild %s (%s): a chosen insight vanished; choosing again next time", guild_id, day)
            return None
        log.info("digest for guild %s (%s) claimed as run %d by %s", guild_id, day, run_id, claimed_by)
        return DigestClaim(run_id, guild_id, channel_id, day, tuple(picks), resumed=False, claimed_by=claimed_by, attempt=1)

    async def _posted_on(self, guild_id: str, day: str) -> bool:
        async with self._engine.connect() as connection:
            found = await connection.execute(
                select(digest_runs.c.id)
                .where(
                    and_(digest_runs.c.guild_id == guild_id, digest_runs.c.local_date == day, digest_runs.c.status == "posted")
                )
                .limit(1)
            )
            return found.first() is not None

    async def _run(self, channel_id: str, day: str) -> Any:
        async with self._engine.connect() as connection:
            return (
                await connection.execute(
                    select(digest_runs).where(and_(digest_runs.c.channel_id == channel_id, digest_runs.c.local_date == day))
                )
            ).first()

    async def _retake(self, run: Any, claimed_by: str) -> DigestClaim | None:
        """A claim whose lease ran out, or a failed run of a digest turned on again, goes to
        exactly one taker: ``attempts`` is the row's version."""
        if run.status not in ("claimed", "failed") or run.message_id is not None:
            return None
        now = self._now()
        condition = and_(digest_runs.c.id == run.id, digest_runs.c.status == run.status, digest_runs.c.attempts == run.attempts)
        if run.status == "claimed":
            cutoff = now - lease_for(run.attempts)
            if _aware(run.claimed_at) > cutoff:
                return None
            condition = and_(condition, digest_runs.c.claimed_at <= cutoff)
        async with self._engine.begin() as connection:
            taken = await connection.execute(
                update(digest_runs)
                .where(condition)
                .values(status="claimed", claimed_by=claimed_by, claimed_at=now, attempts=run.attempts + 1)
            )
        if taken.rowcount != 1:
            return None
        log.info("digest run %d (%s) retaken by %s, attempt %d", run.id, run.local_date, claimed_by, run.attempts + 1)
        picks = tuple(await self.picks(run.id))
        return DigestClaim(
            run.id,
            run.guild_id,
            run.channel_id,
            run.local_date,
            picks,
            resumed=True,
            claimed_by=claimed_by,
            attempt=run.attempts + 1,
        )

    @translate_outages
    async def renew(self, claim: DigestClaim) -> bool:
        """Extends the claim's lease; False means another process has retaken the run (or it was
        recorded), so this one must not post."""
        async with self._engine.begin() as connection:
            renewed = await connection.execute(update(digest_runs).where(self._held_by(claim)).values(claimed_at=self._now()))
        return renewed.rowcount == 1

    @translate_outages
    async def picks(self, run_id: int) -> list[DigestPick]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(
                    digest_items.c.insight_id,
                    insights.c.text,
                    digest_items.c.score,
                    digest_items.c.why,
                    digest_items.c.resurfaced,
                )
                .join(insights, insights.c.id == digest_items.c.insight_id)
                .where(digest_items.c.run_id == run_id)
                .order_by(digest_items.c.rank)
            )
            return [DigestPick(found, text, score, why, bool(resurfaced)) for found, text, score, why, resurfaced in rows]

    @translate_outages
    async def mark_posted(self, run_id: int, message_id: str) -> bool:
        """Records the message that carries the run. False: the run already had one recorded."""
        async with self._engine.begin() as connection:
            done = await connection.execute(
                update(digest_runs)
                .where(and_(digest_runs.c.id == run_id, digest_runs.c.message_id.is_(None)))
                .values(status="posted", message_id=str(message_id), posted_at=self._now(), last_error=None)
            )
        if done.rowcount != 1:
            log.warning("digest run %d already has a message; %s is a second one", run_id, message_id)
            return False
        return True

    @translate_outages
    async def mark_failed(self, claim: DigestClaim, error: str, permanent: bool) -> bool:
        """Records a failed attempt, only while ``claim`` still holds the run: a poster stalled past
        its lease must not end (or turn off) a run another process has taken over or posted.
        False: the claim was lost and nothing was recorded."""
        now = self._now()
        async with self._engine.begin() as connection:
            changes: dict[str, Any] = {"last_error": error[:500]}
            if permanent:
                changes["status"] = "failed"
            else:
                changes["claimed_at"] = now  # the lease restarts: a later beat retries (same five) after a pause
            recorded = await connection.execute(update(digest_runs).where(self._held_by(claim)).values(**changes))
            if recorded.rowcount != 1:
                log.warning("digest run %d: %s lost its claim; its failure is not recorded", claim.run_id, claim.claimed_by)
                return False
            if permanent:
                await self._turn_off_for(connection, claim, f"turned off: {error[:300]}", now)
        return True

    @staticmethod
    def _held_by(claim: DigestClaim) -> Any:
        """The run is still this claim's: claimed by it, at this attempt, and not yet posted."""
        return and_(
            digest_runs.c.id == claim.run_id,
            digest_runs.c.status == "claimed",
            digest_runs.c.claimed_by == claim.claimed_by,
            digest_runs.c.attempts == claim.attempt,
            digest_runs.c.message_id.is_(None),
        )

    async def _turn_off_for(self, connection: AsyncConnection, run: DigestClaim, reason: str, now: datetime) -> None:
        # Only if the guild still posts to that channel: a manager may have moved it meanwhile.
        turned_off = await connection.execute(
            update(digest_settings)
            .where(and_(digest_settings.c.guild_id == run.guild_id, digest_settings.c.channel_id == run.channel_id))
            .values(enabled=False, disabled_reason=reason, updated_at=now)
        )
        if turned_off.rowcount:
            log.warning("digest for guild %s %s", run.guild_id, reason)

    # -- engagement ---------------------------------------------------------------------------

    @translate_outages
    async def vote_by_message(self, message_id: str, rank: int, user_id: str) -> bool:
        """A reaction 1 to 5 on a posted digest counts as a vote for the insight at that place."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(digest_items.c.run_id, digest_items.c.insight_id)
                    .join(digest_runs, digest_runs.c.id == digest_items.c.run_id)
                    .where(and_(digest_runs.c.message_id == str(message_id), digest_items.c.rank == rank))
                )
            ).first()
        if row is None:
            return False
        return await self.record_feedback(row.run_id, row.insight_id, user_id)

    @translate_outages
    async def record_feedback(self, run_id: int, insight_id: str, user_id: str) -> bool:
        """A reaction on a posted digest; counts once per person and insight."""
        async with self._engine.begin() as connection:
            done = await connection.execute(
                self._insert(digest_feedback)
                .values(run_id=run_id, insight_id=insight_id, user_id=str(user_id), kind=FEEDBACK_KIND)
                .on_conflict_do_nothing()
            )
            return done.rowcount == 1
