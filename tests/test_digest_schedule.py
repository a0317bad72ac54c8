"""When a digest is due, in several time zones and across daylight-saving changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from store.digest.schedule import DigestConfig, due_local_date, next_post_at, parse_time, parse_timezone, post_instant, timezone_choices
from store.errors import InvalidInput


def _config(post_time: str, zone: str) -> DigestConfig:
    return DigestConfig("1", "2", post_time, zone, True)


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("zone", "local_eight_in_utc"),
    [
        ("UTC", _utc(2026, 3, 2, 8, 0)),
        ("America/New_York", _utc(2026, 3, 2, 13, 0)),
        ("Asia/Kolkata", _utc(2026, 3, 2, 2, 30)),
        ("Pacific/Auckland", _utc(2026, 3, 1, 19, 0)),
    ],
)
def test_due_exactly_at_the_local_time_in_each_zone(zone: str, local_eight_in_utc: datetime) -> None:
    config = _config("08:00", zone)
    assert due_local_date(config, local_eight_in_utc - timedelta(seconds=1), set()) is None
    assert due_local_date(config, local_eight_in_utc, set()) == date(2026, 3, 2)
    assert due_local_date(config, local_eight_in_utc, {"2026-03-02"}) is None


def _post_days(config: DigestConfig, start: datetime, days: int) -> list[str]:
    """Walks a clock minute by minute, posting whenever due: the list of local dates posted."""
    posted: set[str] = set()
    order: list[str] = []
    now = start
    while now < start + timedelta(days=days):
        due = due_local_date(config, now, posted)
        if due is not None:
            posted.add(due.isoformat())
            order.append(due.isoformat())
        now += timedelta(minutes=10)
    return order


@pytest.mark.parametrize(
    ("zone", "post_time", "start", "change_day"),
    [
        ("America/New_York", "02:30", _utc(2026, 3, 6, 12, 0), "2026-03-08"),  # spring forward: no 02:30 on 8 March
        ("Europe/Berlin", "02:30", _utc(2026, 3, 27, 12, 0), "2026-03-29"),  # spring forward on 29 March
        ("America/New_York", "01:30", _utc(2026, 10, 30, 12, 0), "2026-11-01"),  # fall back: 01:30 twice on 1 November
        ("Europe/Berlin", "02:30", _utc(2026, 10, 23, 12, 0), "2026-10-25"),  # fall back on 25 October
    ],
)
def test_daylight_saving_changes_neither_skip_nor_double_a_day(zone: str, post_time: str, start: datetime, change_day: str) -> None:
    posted = _post_days(_config(post_time, zone), start, 5)
    first = datetime.fromisoformat(posted[0]).date()
    assert posted == [(first + timedelta(days=offset)).isoformat() for offset in range(len(posted))], "a day was skipped or doubled"
    assert change_day in posted
    assert len(posted) == 6  # the start day (its time had passed: caught up) and the five that follow


def test_a_nonexistent_local_time_posts_at_the_offset_before_the_change() -> None:
    assert post_instant(date(2026, 3, 8), "02:30", "America/New_York") == _utc(2026, 3, 8, 7, 30)


def test_an_ambiguous_local_time_posts_at_its_first_occurrence() -> None:
    assert post_instant(date(2026, 11, 1), "01:30", "America/New_York") == _utc(2026, 11, 1, 5, 30)


def test_catch_up_later_the_same_day_but_no_backfill_of_yesterday() -> None:
    config = _config("08:00", "Europe/Berlin")
    back_at_noon = _utc(2026, 6, 10, 10, 0)  # 12:00 in Berlin, the bot was down at 08:00
    assert due_local_date(config, back_at_noon, set()) == date(2026, 6, 10)
    just_after_midnight = _utc(2026, 6, 10, 22, 30)  # 00:30 on the 11th in Berlin, 10th never posted
    assert due_local_date(config, just_after_midnight, set()) is None
    assert next_post_at(config, just_after_midnight, set()) == _utc(2026, 6, 11, 6, 0)


def test_next_post_after_today_is_posted_is_tomorrow() -> None:
    config = _config("08:00", "UTC")
    assert next_post_at(config, _utc(2026, 6, 10, 9, 0), {"2026-06-10"}) == _utc(2026, 6, 11, 8, 0)
    assert next_post_at(config, _utc(2026, 6, 10, 7, 0), set()) == _utc(2026, 6, 10, 8, 0)


@pytest.mark.parametrize("value", ["25:99", "8", "24:00", "ab:cd", "", "12:60"])
def test_bad_times_say_how_to_write_one(value: str) -> None:
    with pytest.raises(InvalidInput, match="HH:MM"):
        parse_time(value)


def test_good_times() -> None:
    assert parse_time("8:05").strftime("%H:%M") == "08:05"
    assert parse_time(" 23:59 ").strftime("%H:%M") == "23:59"


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "utc+2", "../etc/passwd"])
def test_unknown_time_zones_are_refused_with_an_example(name: str) -> None:
    with pytest.raises(InvalidInput, match="Europe/Berlin"):
        parse_timezone(name)


def test_time_zone_choices_for_autocomplete() -> None:
    assert timezone_choices("berl") == ["Europe/Berlin"]
    assert timezone_choices("america/", limit=25)[0].startswith("America/")
    assert len(timezone_choices("a")) == 25
    assert "UTC" in timezone_choices("")
