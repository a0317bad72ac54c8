"""When a digest is due, in several time zones and across daylight-saving changes, with the clock
handed in (the schedule never reads the real time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.digest.schedule import (
    DigestConfig,
    due_date,
    next_post_at,
    parse_time,
    parse_timezone,
    post_instant,
    timezone_choices,
)
from store.errors import InvalidInput


def _config(post_time: str, zone: str, enabled: bool = True) -> DigestConfig:
    return DigestConfig("1", "2", post_time, zone, enabled)


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "local_eight_in_utc"),
    [
        ("UTC", _utc(2026, 3, 2, 8, 0)),
        ("America/New_York", _utc(2026, 3, 2, 13, 0)),
        ("Asia/Kolkata", _utc(2026, 3, 2, 2, 30)),  # +5:30
        ("Pacific/Auckland", _utc(2026, 3, 1, 19, 0)),  # +13 in March: the local day starts the UTC day before
    ],
)
def test_due_exactly_at_the_local_time_in_each_zone(zone: str, local_eight_in_utc: datetime) -> None:
    config = _config("08:00", zone)
    assert due_date(config, local_eight_in_utc - timedelta(seconds=1)) is None
    assert due_date(config, local_eight_in_utc) == date(2026, 3, 2)
    assert due_date(config, local_eight_in_utc, "2026-03-02") is None
    assert due_date(config, local_eight_in_utc, date(2026, 3, 1)) == date(2026, 3, 2)


def _post_days(
    config: DigestConfig, start: datetime, days: int, step: timedelta = timedelta(minutes=10)
) -> list[tuple[str, datetime]]:
    """Walks a clock in steps, posting whenever due: the local dates posted and when."""
    last: str | None = None
    posted: list[tuple[str, datetime]] = []
    now = start
    while now < start + timedelta(days=days):
        due = due_date(config, now, last)
        if due is not None:
            last = due.isoformat()
            posted.append((last, now))
        now += step
    return posted


@pytest.mark.parametrize(
    ("zone", "post_time", "start", "change_day"),
    [
        ("America/New_York", "02:30", _utc(2026, 3, 6, 12, 0), "2026-03-08"),  # spring forward: no 02:30 on 8 March
        ("Europe/Berlin", "02:30", _utc(2026, 3, 27, 12, 0), "2026-03-29"),  # spring forward on 29 March
        ("America/New_York", "01:30", _utc(2026, 10, 30, 12, 0), "2026-11-01"),  # fall back: 01:30 twice on 1 November
        ("Europe/Berlin", "02:30", _utc(2026, 10, 23, 12, 0), "2026-10-25"),  # fall back: 02:30 twice on 25 October
        ("Pacific/Auckland", "02:30", _utc(2026, 9, 24, 0, 0), "2026-09-27"),  # southern spring forward
        ("Pacific/Auckland", "02:30", _utc(2026, 4, 2, 0, 0), "2026-04-05"),  # southern fall back
        ("Australia/Lord_Howe", "02:10", _utc(2026, 10, 1, 12, 0), "2026-10-04"),  # a half-hour jump
    ],
)
def test_daylight_saving_changes_neither_skip_nor_double_a_day(
    zone: str, post_time: str, start: datetime, change_day: str
) -> None:
    posted = [day for day, _ in _post_days(_config(post_time, zone), start, 5)]
    first = date.fromisoformat(posted[0])
    assert posted == [(first + timedelta(days=offset)).isoformat() for offset in range(len(posted))], (
        "a day was skipped or doubled"
    )
    assert change_day in posted
    assert len(posted) == 6  # the start day (its time had passed: caught up) and the five that follow


def test_a_nonexistent_local_time_posts_when_the_clock_jumps_past_it() -> None:
    # New York, 8 March 2026: 01:59:59 EST is followed by 03:00:00 EDT (07:00 UTC).
    assert post_instant(date(2026, 3, 8), "02:30", "America/New_York") == _utc(2026, 3, 8, 7, 0)
    assert post_instant(date(2026, 3, 29), "02:30", "Europe/Berlin") == _utc(2026, 3, 29, 1, 0)
    assert post_instant(date(2026, 10, 4), "02:10", "Australia/Lord_Howe") == _utc(2026, 10, 3, 15, 30)
    config = _config("02:30", "America/New_York")
    assert due_date(config, _utc(2026, 3, 8, 6, 59, 59)) is None
    assert due_date(config, _utc(2026, 3, 8, 7, 0)) == date(2026, 3, 8)


def test_an_ambiguous_local_time_posts_once_at_its_first_occurrence() -> None:
    assert post_instant(date(2026, 11, 1), "01:30", "America/New_York") == _utc(2026, 11, 1, 5, 30)  # EDT, not EST
    posted = _post_days(_config("01:30", "America/New_York"), _utc(2026, 11, 1, 4, 0), 1, timedelta(minutes=1))
    assert posted == [("2026-11-01", _utc(2026, 11, 1, 5, 30))], "the second 01:30 (06:30 UTC) must not post again"


def test_catch_up_later_the_same_day_but_no_backfill_of_yesterday() -> None:
    config = _config("08:00", "Europe/Berlin")
    back_at_noon = _utc(2026, 6, 10, 10, 0)  # 12:00 in Berlin, the bot was down at 08:00
    assert due_date(config, back_at_noon, "2026-06-09") == date(2026, 6, 10)
    assert next_post_at(config, back_at_noon, "2026-06-09") == back_at_noon, "overdue: the next post is now"
    just_after_midnight = _utc(2026, 6, 10, 22, 30)  # 00:30 on the 11th in Berlin; the 10th never posted
    assert due_date(config, just_after_midnight, "2026-06-09") is None
    assert next_post_at(config, just_after_midnight, "2026-06-09") == _utc(2026, 6, 11, 6, 0)


def test_down_for_days_posts_only_today() -> None:
    config = _config("08:00", "Asia/Kolkata")
    back = _utc(2026, 6, 20, 9, 0)  # 14:30 in Kolkata, last post ten days ago
    assert due_date(config, back, "2026-06-10") == date(2026, 6, 20)


def test_a_time_zone_change_does_not_post_a_day_twice() -> None:
    # Posted for 11 June in Auckland; moved to Honolulu, where it is still 10 June: not due again.
    config = _config("08:00", "Pacific/Honolulu")
    now = _utc(2026, 6, 10, 20, 0)  # 10:00 on 10 June in Honolulu
    assert due_date(config, now, "2026-06-11") is None
    assert next_post_at(config, now, "2026-06-11") == _utc(2026, 6, 12, 18, 0)


def test_next_post_after_today_is_posted_is_tomorrow() -> None:
    config = _config("08:00", "UTC")
    assert next_post_at(config, _utc(2026, 6, 10, 9, 0), "2026-06-10") == _utc(2026, 6, 11, 8, 0)
    assert next_post_at(config, _utc(2026, 6, 10, 7, 0)) == _utc(2026, 6, 10, 8, 0)


def test_nothing_is_due_when_off_or_without_a_channel() -> None:
    assert due_date(_config("08:00", "UTC", enabled=False), _utc(2026, 6, 10, 9, 0)) is None
    assert next_post_at(_config("08:00", "UTC", enabled=False), _utc(2026, 6, 10, 9, 0)) is None
    assert due_date(DigestConfig("1", None, "08:00", "UTC", True), _utc(2026, 6, 10, 9, 0)) is None


_ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Tehran",
]


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(_ZONES), hour=st.integers(0, 23), minute=st.integers(0, 59), year=st.sampled_from([2025, 2026]))
def test_every_local_date_has_one_post_instant_on_that_date_at_or_after_the_set_time(
    zone: str, hour: int, minute: int, year: int
) -> None:
    post_time = f"{hour:02d}:{minute:02d}"
    wall = parse_time(post_time)
    previous: datetime | None = None
    day = date(year, 1, 1)
    while day.year == year:
        instant = post_instant(day, post_time, zone)
        local = instant.astimezone(ZoneInfo(zone))
        assert local.date() == day
        assert local.time() >= wall
        assert previous is None or instant > previous
        just_before = (instant - timedelta(seconds=1)).astimezone(ZoneInfo(zone))
        assert just_before.date() != day or just_before.time() < wall, "it must be the first instant at or after the set time"
        previous = instant
        day += timedelta(days=1)


@pytest.mark.parametrize("value", ["25:99", "8", "24:00", "ab:cd", "", "12:60", "08:00:00", "-1:00"])
def test_bad_times_say_how_to_write_one(value: str) -> None:
    with pytest.raises(InvalidInput, match="HH:MM"):
        parse_time(value)


def test_the_exact_message_for_a_bad_time() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_time("25:99")
    assert str(raised.value) == "25:99 is not a time: use HH:MM, 24-hour, e.g. 08:00"


def test_good_times() -> None:
    assert parse_time("8:05").strftime("%H:%M") == "08:05"
    assert parse_time(" 23:59 ").strftime("%H:%M") == "23:59"
    assert parse_time("00:00").strftime("%H:%M") == "00:00"


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "utc+2", "../etc/passwd", "/etc/localtime", "europe/berlin"])
def test_unknown_time_zones_are_refused_with_an_example(name: str) -> None:
    with pytest.raises(InvalidInput, match="Europe/Berlin"):
        parse_timezone(name)


def test_the_exact_message_for_an_unknown_time_zone() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_timezone("Mars/Olympus")
    assert str(raised.value) == "Mars/Olympus is not a time zone: pick one from the list, e.g. Europe/Berlin"


def test_time_zone_choices_for_autocomplete() -> None:
    assert timezone_choices("berl") == ["Europe/Berlin"]
    assert timezone_choices("new york")[0] == "America/New_York"
    assert timezone_choices("america/", limit=25)[0].startswith("America/")
    assert len(timezone_choices("a")) == 25
    assert len(timezone_choices("a", limit=5)) == 5
    assert "UTC" in timezone_choices("")
    assert timezone_choices("zzzz-nothing") == []
    assert all(parse_timezone(name) for name in timezone_choices("") + timezone_choices("kol"))


def test_a_time_that_had_passed_when_the_settings_were_made_is_not_caught_up() -> None:
    """Issue 16: a channel set at 12:00 with the default 08:00 was posted to within one beat."""
    set_at_noon = DigestConfig("1", "2", "08:00", "UTC", True, changed_at=_utc(2026, 6, 10, 12, 0))

    assert due_date(set_at_noon, _utc(2026, 6, 10, 12, 0, 30)) is None
    assert due_date(set_at_noon, _utc(2026, 6, 10, 23, 59)) is None
    assert next_post_at(set_at_noon, _utc(2026, 6, 10, 12, 0, 30)) == _utc(2026, 6, 11, 8, 0)
    assert due_date(set_at_noon, _utc(2026, 6, 11, 8, 0)) == date(2026, 6, 11)


def test_catch_up_still_works_for_settings_made_before_the_time() -> None:
    set_the_day_before = DigestConfig("1", "2", "08:00", "Europe/Berlin", True, changed_at=_utc(2026, 6, 9, 20, 0))
    set_this_morning = DigestConfig("1", "2", "08:00", "Europe/Berlin", True, changed_at=_utc(2026, 6, 10, 5, 0))
    down_at_eight_up_at_ten = _utc(2026, 6, 10, 8, 0)  # 10:00 in Berlin

    assert due_date(set_the_day_before, down_at_eight_up_at_ten) == date(2026, 6, 10)
    assert due_date(set_this_morning, down_at_eight_up_at_ten) == date(2026, 6, 10), "set at 07:00, due at 08:00"
    assert next_post_at(set_this_morning, down_at_eight_up_at_ten) == down_at_eight_up_at_ten


@pytest.mark.parametrize(
    ("day", "zone", "gap_hour", "gap_minutes", "jump_utc"),
    [
        (date(2026, 3, 8), "America/New_York", 2, 60, datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        (date(2026, 3, 29), "Europe/Berlin", 2, 60, datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (date(2026, 10, 4), "Australia/Lord_Howe", 2, 30, datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
    ],
)
def test_every_time_in_a_spring_forward_gap_posts_at_the_jump_to_the_second(
    day: date, zone: str, gap_hour: int, gap_minutes: int, jump_utc: datetime
) -> None:
    for minute in range(gap_minutes):
        assert post_instant(day, f"{gap_hour:02d}:{minute:02d}", zone) == jump_utc, f"{gap_hour:02d}:{minute:02d}"


def test_an_empty_or_long_value_is_named_in_the_message() -> None:
    with pytest.raises(InvalidInput) as empty_time:
        parse_time("   ")
    assert str(empty_time.value) == "an empty value is not a time: use HH:MM, 24-hour, e.g. 08:00"
    with pytest.raises(InvalidInput) as long_time:
        parse_time("1234567890" * 3)
    assert str(long_time.value).startswith("12345678901234567890 is not a time")
    with pytest.raises(InvalidInput) as empty_zone:
        parse_timezone(" ")
    assert str(empty_zone.value).startswith("an empty value is not a time zone")
    with pytest.raises(InvalidInput) as long_zone:
        parse_timezone("z" * 100)
    assert str(long_zone.value).startswith("z" * 64 + " is not a time zone")


@pytest.mark.parametrize("typed", ["lon", "us", "louisville", "ber"])
def test_zones_starting_with_what_was_typed_come_before_zones_only_containing_it(typed: str) -> None:
    choices = timezone_choices(typed, limit=1000)
    starts = [name.lower().startswith(typed) or name.lower().rsplit("/", 1)[-1].startswith(typed) for name in choices]
    assert choices and starts == sorted(starts, reverse=True), "every zone whose name or city starts with it comes first"
    assert [name for name, first in zip(choices, starts, strict=True) if first] == sorted(
        n for n, f in zip(choices, starts, strict=True) if f
    )


def test_time_zone_choices_by_city_and_by_containing() -> None:
    assert timezone_choices("louisville") == ["America/Kentucky/Louisville", "America/Louisville"], (
        "the city of a three-part name"
    )
    assert timezone_choices("us", limit=1000)[:3] == ["America/Argentina/Ushuaia", "Asia/Ust-Nera", "US/Alaska"]
    assert "Australia/Sydney" in timezone_choices("us", limit=1000), "containing it is enough, after the rest"
    assert timezone_choices("york") == ["America/New_York"], "a zone that only contains the text is still offered"
    assert timezone_choices("EUROPE/BER") == ["Europe/Berlin"]
