"""Times at the edges of the calendar (issue 12): Python's datetime ends with the year 9999, and
"9999-12-31T23:00:00-23:59" or "9999-12-31" plus a day answered 500 (OverflowError).

Every time the service reads is refused outside EARLIEST..LATEST (years 1970 to 2099, UTC),
with the field named; inside it, every sum the service makes of a time (line check, teardown,
join grace, a weekly series, a query's next day) stays computable.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from schedules.errors import ValidationError
from schedules.model import MAX_BUFFER_MINUTES
from schedules.timeutil import (
    EARLIEST,
    LATEST,
    TimeInputError,
    TimeOutOfRange,
    from_wall_clock,
    parse_day,
    parse_rfc3339,
)
from schedules.validation import MAX_SERIES, parse_draft

LAYOUTS = ("auto",)
# The longest join grace we would ever configure; the sums below must hold with it.
GRACE = timedelta(days=1)
# Cheap pure functions: many examples in well under a second; the same ones every run.
FUZZ = settings(max_examples=400, derandomize=True, deadline=None, database=None)

OUT_OF_RANGE = [
    pytest.param("9999-12-31T23:00:00Z", id="year 9999"),
    pytest.param("9999-12-31T23:00:00-23:59", id="past year 9999 in UTC"),
    pytest.param("0001-01-01T00:00:00+01:00", id="before year 1 in UTC"),
    pytest.param("0001-01-01T00:00:00Z", id="year 1"),
    pytest.param("2100-01-01T00:00:00Z", id="LATEST itself"),
    pytest.param("2099-12-31T23:30:00-01:00", id="2100 in UTC by its offset"),
    pytest.param("1969-12-31T23:59:59Z", id="a second before EARLIEST"),
    pytest.param("1970-01-01T03:00:00+04:00", id="1969 in UTC by its offset"),
]
IN_RANGE = [
    pytest.param("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC), id="EARLIEST"),
    pytest.param(
        "2099-12-31T23:59:59Z", datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC), id="last second"
    ),
    pytest.param(
        "2099-12-31T23:30:00+01:00", datetime(2099, 12, 31, 22, 30, tzinfo=UTC), id="offset"
    ),
]


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_times_outside_the_range_are_refused_with_the_range(text: str) -> None:
    with pytest.raises(TimeOutOfRange, match="between 1970-01-01 and 2099-12-31"):
        parse_rfc3339(text)


@pytest.mark.parametrize(("text", "utc"), IN_RANGE)
def test_times_inside_the_range_are_read(text: str, utc: datetime) -> None:
    assert parse_rfc3339(text) == utc


@pytest.mark.parametrize(
    ("wall", "zone"),
    [
        pytest.param("9999-12-31T23:00", "America/New_York", id="9999 west of UTC"),
        pytest.param("0001-01-01T00:00", "Asia/Baku", id="year 1 east of UTC"),
        pytest.param("2100-01-01T00:30", "Europe/Rome", id="2100"),
        pytest.param("1970-01-01T01:00", "Asia/Baku", id="1969 in UTC"),
        pytest.param("9999-12-31T23:00-23:59", "UTC", id="with an offset past 9999"),
    ],
)
def test_wall_clock_times_outside_the_range_are_refused(wall: str, zone: str) -> None:
    with pytest.raises(TimeOutOfRange):
        from_wall_clock(wall, zone)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2100-01-01", "1969-12-31"])
def test_days_outside_the_range_are_refused(day: str) -> None:
    with pytest.raises(TimeOutOfRange):
        parse_day(day)


def test_a_day_reads_as_its_midnight_in_utc() -> None:
    assert parse_day("2099-12-31") == datetime(2099, 12, 31, tzinfo=UTC)
    with pytest.raises(TimeInputError, match="not a date"):
        parse_day("31/12/2099")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"starts_at": "9999-12-31T23:00:00Z"}, id="starts_at 9999"),
        pytest.param({"ends_at": "9999-12-31T23:00:00-23:59"}, id="ends_at past 9999"),
        pytest.param(
            {"starts_at": datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=23)))},
            id="an aware datetime past 9999",
        ),
    ],
)
def test_a_booking_out_of_range_names_its_field(change: dict[str, Any]) -> None:
    body = {
        "title": "Year's end",
        "studios": ["trend", "dha"],
        "starts_at": "2099-12-31T10:00:00Z",
        "ends_at": "2099-12-31T11:00:00Z",
        **change,
    }
    with pytest.raises(ValidationError) as raised:
        parse_draft(body, LAYOUTS)
    assert set(raised.value.fields) & set(change), raised.value.fields
    assert "1970-01-01" in str(raised.value)


def test_the_latest_booking_adds_every_buffer_without_overflow() -> None:
    draft = parse_draft(
        {
            "title": "The last show",
            "studios": ["trend", "dha"],
            "starts_at": "2099-12-31T11:59:59Z",
            "ends_at": "2099-12-31T23:59:59Z",
            "setup_minutes": MAX_BUFFER_MINUTES,
            "teardown_minutes": MAX_BUFFER_MINUTES,
        },
        LAYOUTS,
    )
    buffers = timedelta(minutes=MAX_BUFFER_MINUTES)
    # Teardown, join grace and a year of weekly repetitions: still far from the year 9999.
    assert draft.ends_at + buffers + GRACE + MAX_SERIES < datetime(2102, 1, 1, tzinfo=UTC)
    assert draft.starts_at - buffers > EARLIEST


OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
ANY_TIME = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59))


@FUZZ
@given(moment=ANY_TIME, offset=OFFSETS)
@example(moment=datetime(9999, 12, 31, 23), offset=timezone(-timedelta(hours=23, minutes=59)))
@example(moment=datetime(1, 1, 1), offset=timezone(timedelta(hours=1)))
def test_any_time_is_read_in_range_or_refused_and_its_sums_hold(
    moment: datetime, offset: timezone
) -> None:
    text = moment.replace(tzinfo=offset).isoformat()
    try:
        utc = parse_rfc3339(text)
    except TimeOutOfRange:
        return
    assert EARLIEST <= utc < LATEST and utc.tzinfo is UTC
    buffers = timedelta(minutes=MAX_BUFFER_MINUTES)
    # What the service adds to a time it read: none of it may overflow.
    assert utc - buffers - GRACE - MAX_SERIES < utc + buffers + GRACE + MAX_SERIES
    assert parse_day(utc.date().isoformat()) + timedelta(days=1) > utc


@FUZZ
@given(
    moment=ANY_TIME,
    zone=st.sampled_from(["UTC", "Asia/Baku", "Europe/Rome", "America/Los_Angeles", "Etc/GMT-14"]),
)
def test_any_wall_clock_time_is_read_in_range_or_refused(moment: datetime, zone: str) -> None:
    try:
        utc = from_wall_clock(moment.isoformat(timespec="minutes"), zone)
    except TimeOutOfRange:
        assert not EARLIEST.year + 1 <= moment.year <= LATEST.year - 2
        return
    except TimeInputError:  # skipped or doubled by a daylight-saving switch
        return
    assert EARLIEST <= utc < LATEST


@FUZZ
@given(day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_any_day_is_read_in_range_or_refused(day: date) -> None:
    try:
        midnight = parse_day(day.isoformat())
    except TimeOutOfRange:
        assert not EARLIEST.year <= day.year < LATEST.year
        return
    assert midnight + timedelta(days=1) <= LATEST
