"""When a digest is due, in each guild's own time zone. Pure functions over an injected "now".

Only today's local date is ever due (days that passed are not backfilled). A local time that does
not exist on a spring-forward day is posted at the same offset as before the change (02:30 becomes
03:30); a time that happens twice on a fall-back day is posted at its first occurrence. Either way
each local date has exactly one post instant, so no day is skipped or doubled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from store.errors import InvalidInput

DEFAULT_TIME = "08:00"
DEFAULT_TIMEZONE = "UTC"
_TIME_SHAPE = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class DigestConfig:
    guild_id: str
    channel_id: str | None
    post_time: str
    timezone: str
    enabled: bool
    disabled_reason: str | None = None


def parse_time(value: str) -> time:
    match = _TIME_SHAPE.match(value.strip())
    if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise InvalidInput(f"{value.strip()[:20]} is not a time: use HH:MM, 24-hour, e.g. 08:00")
    return time(int(match.group(1)), int(match.group(2)))


def parse_timezone(name: str) -> ZoneInfo:
    cleaned = name.strip()
    if cleaned not in _zone_names():
        raise InvalidInput(f"{cleaned[:64]} is not a time zone: pick one from the list, e.g. Europe/Berlin")
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"{cleaned[:64]} is not a time zone: pick one from the list, e.g. Europe/Berlin") from None


_ZONES: frozenset[str] | None = None


def _zone_names() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def timezone_choices(fragment: str, limit: int = 25) -> list[str]:
    """Zones containing what was typed, the ones that start with it first."""
    typed = fragment.strip().lower().replace(" ", "_")
    names = sorted(_zone_names())
    if not typed:
        common = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago", "America/Los_Angeles", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland"]
        return common[:limit]
    starting = [name for name in names if name.lower().startswith(typed) or name.lower().split("/")[-1].startswith(typed)]
    containing = [name for name in names if typed in name.lower() and name not in starting]
    return (starting + containing)[:limit]


def post_instant(local_date: date, post_time: str, zone_name: str) -> datetime:
    """The UTC instant of one local date's post."""
    zone = ZoneInfo(zone_name)
    wall = datetime.combine(local_date, parse_time(post_time), tzinfo=zone).replace(fold=0)
    return wall.astimezone(timezone.utc)


def local_today(now_utc: datetime, zone_name: str) -> date:
    return now_utc.astimezone(ZoneInfo(zone_name)).date()


def due_local_date(config: DigestConfig, now_utc: datetime, posted_dates: set[str]) -> date | None:
    """Today's local date if its post time has come and it has not been posted; never an earlier day."""
    if not config.enabled or config.channel_id is None:
        return None
    today = local_today(now_utc, config.timezone)
    if today.isoformat() in posted_dates:
        return None
    return today if now_utc >= post_instant(today, config.post_time, config.timezone) else None


def next_post_at(config: DigestConfig, now_utc: datetime, posted_dates: set[str]) -> datetime | None:
    if not config.enabled or config.channel_id is None:
        return None
    today = local_today(now_utc, config.timezone)
    if today.isoformat() not in posted_dates:
        return max(post_instant(today, config.post_time, config.timezone), now_utc)
    return post_instant(today + timedelta(days=1), config.post_time, config.timezone)
