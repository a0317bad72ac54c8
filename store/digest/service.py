"""The daily digest's records: each guild's settings, and one run per channel and local day.

The protocol that makes a digest post once, on time, never twice:

1. ``claim`` chooses the five and, in one transaction, inserts the day's run (unique on channel and
   local date) with its five items. Only the process whose insert succeeds may post.
2. The poster sends the message with the run's ``marker`` in it, then calls ``mark_posted`` with the
   message id.
3. A crash between 1 and 2 leaves a run "claimed" with no message id. After ``LEASE`` any process
   may ``claim`` it again: a conditional UPDATE on the old claim time lets exactly one win, and it
   gets the same five (they were stored at claim time). Before sending, that poster looks for the
   marker among the channel's recent messages, in case the first attempt did post before dying.
4. ``mark_failed(permanent=True)`` (missing permissions, deleted channel) ends the run and turns the
   guild's digest off with the reason, shown by ``status``; a transient failure is retried by the
   poster and, if it dies, by the lease.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from store.digest import schedule
from store.digest.schedule import DigestConfig
from store.digest.schema import digest_feedback, digest_items, digest_runs, digest_settings
from store.digest.selection import DigestPick, select_digest
from store.errors import InvalidInput
from store.schema import insights
from store.vector_index import VectorIndex

LEASE = timedelta(minutes=5)
DIGEST_SIZE = 5


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class DigestClaim:
    run_id: int
    guild_id: str
    channel_id: str
    local_date: str
    picks: tuple[DigestPick, ...]
    resumed: bool

    @property
    def marker(self) -> str:
        return marker_for(self.local_date, self.run_id)


def marker_for(local_date: str, run_id: int) -> str:
    return f"insight-recall digest {local_date} #{run_id}"


@dataclass(frozen=True, slots=True)
class DigestStatus:
    config: DigestConfig | None
    last_posted_date: str | None
    last_message_id: str | None
    next_post_at: datetime | None
    problem: str | None

    def as_dict(self) -> dict[str, Any]:
        config = self.config
        return {
            "channel_id": config.channel_id if config else None,
            "time": config.post_time if config else schedule.DEFAULT_TIME,
            "timezone": config.timezone if config else schedule.DEFAULT_TIMEZONE,
            "enabled": bool(config and config.enabled),
            "last_posted_date": self.last_posted_date,
            "last_message_id": self.last_message_id,
            "next_post_at": self.next_post_at.isoformat() if self.next_post_at else None,
            "problem": self.problem,
        }


class DigestService:
    def __init__(
        self,
        engine: AsyncEngine,
        index: VectorIndex,
        same_idea_threshold: float,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._engine = engine
        self._index = index
        self._threshold = same_idea_threshold
        self.clock = clock

    def _upsert(self) -> Any:
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        return insert(digest_settings)

    # -- settings -----------------------------------------------------------------------------

    async def config(self, guild_id: str) -> DigestConfig | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(digest_settings).where(digest_settings.c.guild_id == guild_id))).first()
        if row is None:
            return None
        return DigestConfig(row.guild_id, row.channel_id, row.post_time, row.timezone, row.enabled, row.disabled_reason)

    async def _save(self, guild_id: str, **values: Any) -> DigestConfig:
        current = await self.config(guild_id)
        merged = {
            "guild_id": guild_id,
            "channel_id": current.channel_id if current else None,
            "post_time": current.post_time if current else schedule.DEFAULT_TIME,
            "timezone": current.timezone if current else schedule.DEFAULT_TIMEZONE,
            "enabled": current.enabled if current else False,
            "disabled_reason": current.disabled_reason if current else None,
            "updated_at": self.clock(),
        } | values
        statement = self._upsert().values(**merged)
        statement = statement.on_conflict_do_update(index_elements=["guild_id"], set_={key: merged[key] for key in merged if key != "guild_id"})
        async with self._engine.begin() as connection:
            await connection.execute(statement)
        result = await self.config(guild_id)
        assert result is not None
        return result

    async def configure_channel(self, guild_id: str, channel_id: str) -> DigestConfig:
        return await self._save(guild_id, channel_id=channel_id, enabled=True, disabled_reason=None)

    async def configure_time(self, guild_id: str, post_time: str, zone: str) -> DigestConfig:
        parsed = schedule.parse_time(post_time)
        schedule.parse_timezone(zone)
        return await self._save(guild_id, post_time=parsed.strftime("%H:%M"), timezone=zone.strip())

    async def turn_off(self, guild_id: str, reason: str | None = None) -> DigestConfig:
        return await self._save(guild_id, enabled=False, disabled_reason=reason)

    # -- reading ------------------------------------------------------------------------------

    async def _posted_dates(self, channel_id: str | None) -> dict[str, str | None]:
        if channel_id is None:
            return {}
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(digest_runs.c.local_date, digest_runs.c.message_id).where(
                    and_(digest_runs.c.channel_id == channel_id, digest_runs.c.status == "posted")
                )
            )
            return {local_date: message_id for local_date, message_id in rows}

    async def status(self, guild_id: str) -> DigestStatus:
        config = await self.config(guild_id)
        posted = await self._posted_dates(config.channel_id if config else None)
        last = max(posted) if posted else None
        problem = None
        if config is None or config.channel_id is None:
            problem = "no channel set: use /digest channel"
        elif not config.enabled:
            problem = config.disabled_reason or "the digest is off: use /digest channel to turn it on"
        elif await self._store_is_empty():
            problem = "the insight store is empty: nothing will be posted until insights are ingested"
        next_at = schedule.next_post_at(config, self.clock(), set(posted)) if config else None
        return DigestStatus(config, last, posted.get(last) if last else None, next_at, problem)

    async def _store_is_empty(self) -> bool:
        async with self._engine.connect() as connection:
            return (await connection.execute(select(func.count()).select_from(select(insights.c.id).limit(1).subquery()))).scalar_one() == 0

    async def preview(self, guild_id: str | None) -> list[DigestPick]:
        """What would be posted now; writes nothing."""
        config = await self.config(guild_id) if guild_id else None
        channel_id = config.channel_id if config else None
        return await select_digest(self._engine, self._index, channel_id, self.clock(), self._threshold, DIGEST_SIZE)

    async def due(self) -> list[tuple[DigestConfig, date]]:
        """Guilds whose digest for today (in their own time zone) should be posted now."""
        now = self.clock()
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(digest_settings).where(digest_settings.c.enabled.is_(True)))).all()
        found: list[tuple[DigestConfig, date]] = []
        for row in rows:
            config = DigestConfig(row.guild_id, row.channel_id, row.post_time, row.timezone, row.enabled, row.disabled_reason)
            posted = await self._posted_dates(config.channel_id)
            local_date = schedule.due_local_date(config, now, set(posted))
            if local_date is not None:
                found.append((config, local_date))
        return found

    # -- claiming and posting -----------------------------------------------------------------

    async def claim(self, guild_id: str, channel_id: str, local_date: date | str, claimed_by: str) -> DigestClaim | None:
        """The day's run for this process to post, or None: someone else has it, it is done, or
        there is nothing to post."""
        day = local_date.isoformat() if isinstance(local_date, date) else local_date
        existing = await self._run(channel_id, day)
        if existing is not None:
            return await self._retake(existing, claimed_by)
        picks = await select_digest(self._engine, self._index, channel_id, self.clock(), self._threshold, DIGEST_SIZE)
        if not picks:
            return None
        now = self.clock()
        try:
            async with self._engine.begin() as connection:
                run_id = (
                    await connection.execute(
                        digest_runs.insert()
                        .values(guild_id=guild_id, channel_id=channel_id, local_date=day, status="claimed", claimed_by=claimed_by, claimed_at=now, attempts=1)
                        .returning(digest_runs.c.id)
                    )
                ).scalar_one()
                await connection.execute(
                    digest_items.insert(),
                    [
                        {"run_id": run_id, "rank": rank, "insight_id": pick.insight_id, "score": pick.score, "why": pick.why, "resurfaced": pick.resurfaced}
                        for rank, pick in enumerate(picks, start=1)
                    ],
                )
        except IntegrityError:
            return None
        return DigestClaim(run_id, guild_id, channel_id, day, tuple(picks), resumed=False)

    async def _run(self, channel_id: str, day: str) -> Any:
        async with self._engine.connect() as connection:
            return (
                await connection.execute(select(digest_runs).where(and_(digest_runs.c.channel_id == channel_id, digest_runs.c.local_date == day)))
            ).first()

    async def _retake(self, run: Any, claimed_by: str) -> DigestClaim | None:
        """A claimed run whose poster went quiet for longer than the lease goes to exactly one taker."""
        if run.status == "posted" or run.message_id is not None:
            return None
        now = self.clock()
        # A failed run (the digest was off) may be taken again at once once it is back on.
        if run.status == "claimed" and _aware(run.claimed_at) > now - LEASE:  # type: ignore[operator]
            return None
        async with self._engine.begin() as connection:
            taken = await connection.execute(
                update(digest_runs)
                .where(and_(digest_runs.c.id == run.id, digest_runs.c.status == run.status, digest_runs.c.claimed_at == run.claimed_at))
                .values(status="claimed", claimed_by=claimed_by, claimed_at=now, attempts=digest_runs.c.attempts + 1)
            )
            if taken.rowcount != 1:
                return None
        return DigestClaim(run.id, run.guild_id, run.channel_id, run.local_date, tuple(await self.picks(run.id)), resumed=True)

    async def picks(self, run_id: int) -> list[DigestPick]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(digest_items.c.insight_id, insights.c.text, digest_items.c.score, digest_items.c.why, digest_items.c.resurfaced)
                .join(insights, insights.c.id == digest_items.c.insight_id)
                .where(digest_items.c.run_id == run_id)
                .order_by(digest_items.c.rank)
            )
            return [DigestPick(found, text, score, why, bool(resurfaced)) for found, text, score, why, resurfaced in rows]

    async def mark_posted(self, run_id: int, message_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(digest_runs).where(digest_runs.c.id == run_id).values(status="posted", message_id=message_id, posted_at=self.clock(), last_error=None)
            )

    async def mark_failed(self, run_id: int, error: str, permanent: bool) -> None:
        async with self._engine.begin() as connection:
            values: dict[str, Any] = {"last_error": error[:500]}
            if permanent:
                values["status"] = "failed"
            await connection.execute(update(digest_runs).where(digest_runs.c.id == run_id).values(**values))
            if permanent:
                guild_id = (await connection.execute(select(digest_runs.c.guild_id).where(digest_runs.c.id == run_id))).scalar_one()
                await connection.execute(
                    update(digest_settings)
                    .where(digest_settings.c.guild_id == guild_id)
                    .values(enabled=False, disabled_reason=f"turned off: {error[:300]}", updated_at=self.clock())
                )

    async def vote_by_message(self, message_id: str, rank: int, user_id: str) -> bool:
        """A reaction 1 to 5 on a posted digest counts as a vote for the insight at that place."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(digest_items.c.run_id, digest_items.c.insight_id)
                    .join(digest_runs, digest_runs.c.id == digest_items.c.run_id)
                    .where(and_(digest_runs.c.message_id == message_id, digest_items.c.rank == rank))
                )
            ).first()
        if row is None:
            return False
        return await self.record_feedback(row.run_id, row.insight_id, user_id, "reaction")

    async def record_feedback(self, run_id: int, insight_id: str, user_id: str, kind: str) -> bool:
        """A reaction or vote on a posted digest; counts once per person, insight and kind."""
        if kind not in ("reaction", "vote"):
            raise InvalidInput("feedback is a reaction or a vote")
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        async with self._engine.begin() as connection:
            done = await connection.execute(
                insert(digest_feedback).values(run_id=run_id, insight_id=insight_id, user_id=user_id, kind=kind).on_conflict_do_nothing()
            )
            return done.rowcount == 1
