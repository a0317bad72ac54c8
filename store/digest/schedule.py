"""When a digest is due, in each guild's own time zone. Pure functions over an injected "now".

Each local date has exactly one post instant, so daylight-saving changes neither skip nor double a
day: the first instant at which the guild's wall clock reads the set time or later. A time that
does not exist that day (the spring-forward gap: 02:30 when clocks jump from 02:00 to 03:00) is
therefore posted when the clock jumps past it (03:00); a time that happens twice (fall back) is
posted at its first occurrence.

Only today's local date is ever due: days that passed while the bot was down are not backfilled,
and a day on or before the last posted one is never due again (even after a time-zone change
moves "today" back a day). Nor is a day whose post instant had passed when the settings were
last changed: catch-up is for a post that was due while the bot was down, not for one that was
never due under the new settings (a channel set at 12:00 with the default 08:00 first posts
tomorrow at 08:00, which the set-up reply says).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from store.errors import InvalidInput

DEFAULT_TIME = "08:00"
DEFAULT_TIMEZONE = "UTC"
_TIME_SHAPE = re.compile(r"^(\d{1,2}):(\d{2})$")
# Offered before anything is typed: Discord shows at most 25 choices, and these cover most people.
_COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


@dataclass(frozen=True, slots=True)
class DigestConfig:
    """One guild's digest settings (a digest_settings row)."""

    guild_id: str
    channel_id: str | None
    post_time: str
    timezone: str
    enabled: bool
    disabled_reason: str | None = None
    # When these settings were last changed (UTC); None for settings not read from the store.
    changed_at: datetime | None = None


def parse_time(value: str) -> time:
    match = _TIME_SHAPE.match(value.strip())
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise InvalidInput(f"{value.strip()[:20] or 'an empty value'} is not a time: use HH:MM, 24-hour, e.g. 08:00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_timezone(name: str) -> ZoneInfo:
    cleaned = name.strip()
    # Checking the list first keeps paths and odd strings away from ZoneInfo's file lookup.
    if cleaned not in zone_names():
        raise InvalidInput(f"{cleaned[:64] or 'an empty value'} is not a time zone: pick one from the list, e.g. Europe/Berlin")
    return ZoneInfo(cleaned)


@functools.cache
def zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone_choices(fragment: str, limit: int = 25) -> list[str]:
    """Zones containing what was typed, those whose name or city starts with it first."""
    typed = fragment.strip().lower().replace(" ", "_")
    if not typed:
        return list(_COMMON_ZONES[:limit])
    names = sorted(zone_names())
    starting = [name for name in names if name.lower().startswith(typed) or name.lower().rsplit("/", 1)[-1].startswith(typed)]
    chosen = set(starting)
    containing = [name for name in names if typed in name.lower() and name not in chosen]
    return (starting + containing)[:limit]


def local_today(now_utc: datetime, zone_name: str) -> date:
    return now_utc.astimezone(ZoneInfo(zone_name)).date()


def post_instant(local_date: date, post_time: str, zone_name: str) -> datetime:
    """The UTC instant of one local date's post: the first instant its wall clock reads
    ``post_time`` or later."""
    zone = ZoneInfo(zone_name)
    wall = datetime.combine(local_date, parse_time(post_time))
    earlier = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if earlier.astimezone(zone).replace(tzinfo=None) == wall:
        return earlier  # the time exists; fold=0 is its first occurrence when it happens twice
    # In a gap, fold=0 reads the wall time with the offset from before the jump, which lands after
    # the jump, and fold=1 with the offset after it, which lands before: the jump lies between.
    # Set times are whole minutes and offsets whole seconds, so seconds are exact enough.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(earlier.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _set_before(config: DigestConfig, instant: datetime) -> bool:
    """Whether the settings were in place when ``instant`` came, so a post then was owed."""
    return config.changed_at is None or config.changed_at <= instant


def due_date(config: DigestConfig, now_utc: datetime, last_posted_local_date: date | str | None = None) -> date | None:
    """Today's local date if its post instant has come, under settings made before it, and it has
    not been posted; never an earlier day."""
    if not config.enabled or config.channel_id is None:
        return None
    today = local_today(now_utc, config.timezone)
    last = _as_date(last_posted_local_date)
    if last is not None and last >= today:
        return None
    instant = post_instant(today, config.post_time, config.timezone)
    return today if now_utc >= instant and _set_before(config, instant) else None


def next_post_at(config: DigestConfig, now_utc: datetime, last_posted_local_date: date | str | None = None) -> datetime | None:
    """When the next digest goes out (``now_utc`` itself if one is due and waiting), or None when
    the digest is off."""
    if not config.enabled or config.channel_id is None:
        return None
    today = local_today(now_utc, config.timezone)
    last = _as_date(last_posted_local_date)
    if last is None or last < today:
        instant = post_instant(today, config.post_time, config.timezone)
        if _set_before(config, instant):
            return max(instant, now_utc)
        return post_instant(today + timedelta(days=1), config.post_time, config.timezone)
    return post_instant(last + timedelta(days=1), config.post_time, config.timezone)
