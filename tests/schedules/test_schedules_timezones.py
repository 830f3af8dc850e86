"""Time zones: UTC inside, each studio's wall clock outside, daylight saving in Rome."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from schedules.model import Recurrence
from schedules.rules.recurrence import weekly_occurrences
from schedules.timeutil import TimeInputError, from_wall_clock, parse_rfc3339

SHOW_UTC = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "starts_at",
    [
        pytest.param("2026-12-01T14:00:00Z", id="Z"),
        pytest.param("2026-12-01T14:00:00+00:00", id="+00:00"),
        pytest.param("2026-12-01T18:00:00+04:00", id="Baku +04:00"),
        pytest.param("2026-12-01T17:00:00+03:00", id="Istanbul +03:00"),
        pytest.param("2026-12-01T15:00:00+01:00", id="Rome winter +01:00"),
        pytest.param("2026-12-01T19:00:00+05:00", id="Tashkent and Astana +05:00"),
        pytest.param("2026-12-01T20:00:00+06:00", id="Bishkek +06:00"),
        pytest.param("2026-12-01T09:00:00-05:00", id="negative offset -05:00"),
        pytest.param(
            datetime(2026, 12, 1, 18, tzinfo=timezone(timedelta(hours=4))),
            id="aware datetime object +04:00",
        ),
    ],
)
async def test_same_instant_stores_same_utc(service, body, starts_at):
    created = (
        await service.create(body(starts_at=starts_at, ends_at="2026-12-01T15:00:00Z"), "producer")
    ).created[0]
    stored = await service.get(created.id)
    for booking in (created, stored):
        assert booking.starts_at == SHOW_UTC
        # Not only the same instant: the same UTC representation, as the model promises.
        assert booking.starts_at.utcoffset() == timedelta(0)
        assert booking.starts_at.tzinfo is UTC


# Wall clocks of every partner studio for 14:00 UTC in winter and in summer.
WALL_CLOCKS = [
    ("trend", "18:00", "18:00"),
    ("azertac", "18:00", "18:00"),
    ("dha", "17:00", "17:00"),
    ("albayrak", "17:00", "17:00"),
    ("aa", "17:00", "17:00"),
    ("qazcontent", "19:00", "19:00"),  # Kazakhstan is on +05 all year since 2024
    ("uza", "19:00", "19:00"),
    ("kabar", "20:00", "20:00"),
    ("ansa", "15:00", "16:00"),  # the only partner with daylight saving
]


@pytest.mark.parametrize(
    ("studio_id", "winter", "summer"),
    [pytest.param(*row, id=row[0]) for row in WALL_CLOCKS],
)
async def test_studio_local_wall_clock(studios, studio_id, winter, summer):
    studio = studios[studio_id]
    assert f"{studio.local(SHOW_UTC):%H:%M}" == winter
    assert f"{studio.local(datetime(2027, 7, 1, 14, tzinfo=UTC)):%H:%M}" == summer
    assert str(studio.local(SHOW_UTC).tzinfo) == studio.timezone


def utc(text: str) -> datetime:
    return parse_rfc3339(text)


# (first start, until, zone of the repetition or None for the first studio's, expected starts
#  in UTC, expected wall clock in Baku)
DST_SERIES = [
    pytest.param(
        "2027-03-16T13:00:00Z",
        date(2027, 4, 6),
        None,
        ["2027-03-16T13:00Z", "2027-03-23T13:00Z", "2027-03-30T12:00Z", "2027-04-06T12:00Z"],
        ["17:00", "17:00", "16:00", "16:00"],
        id="spring 2027-03-28: 14:00 Rome stays, UTC 13:00 -> 12:00",
    ),
    pytest.param(
        "2026-10-13T12:00:00Z",
        date(2026, 11, 3),
        None,
        ["2026-10-13T12:00Z", "2026-10-20T12:00Z", "2026-10-27T13:00Z", "2026-11-03T13:00Z"],
        ["16:00", "16:00", "17:00", "17:00"],
        id="autumn 2026-10-25: 14:00 Rome stays, UTC 12:00 -> 13:00",
    ),
    pytest.param(
        "2027-03-16T13:00:00Z",
        date(2027, 4, 6),
        "Asia/Baku",
        ["2027-03-16T13:00Z", "2027-03-23T13:00Z", "2027-03-30T13:00Z", "2027-04-06T13:00Z"],
        ["17:00", "17:00", "17:00", "17:00"],
        id="spring 2027 repeated on Baku time: UTC and Baku stay, Rome moves",
    ),
]


@pytest.mark.parametrize(("first", "until", "zone_name", "starts", "baku"), DST_SERIES)
def test_weekly_occurrences_across_rome_dst(first, until, zone_name, starts, baku):
    start = utc(first)
    out = weekly_occurrences(
        start, start + timedelta(hours=1), Recurrence(until, zone_name), "Europe/Rome"
    )
    assert [s for s, _ in out] == [utc(s) for s in starts]
    assert all(s.utcoffset() == timedelta(0) for s, _ in out)
    assert all(e - s == timedelta(hours=1) for s, e in out)
    assert [f"{s.astimezone(ZoneInfo('Asia/Baku')):%H:%M}" for s, _ in out] == baku
    if zone_name is None:
        assert {f"{s.astimezone(ZoneInfo('Europe/Rome')):%H:%M}" for s, _ in out} == {"14:00"}


@pytest.mark.parametrize(
    ("first", "until", "utc_hours", "baku"),
    [
        pytest.param(
            "2027-03-16T14:00:00+01:00",
            "2027-04-06",
            [13, 13, 12, 12],
            [17, 17, 16, 16],
            id="spring 2027-03-28",
        ),
        pytest.param(
            "2027-10-19T14:00:00+02:00",
            "2027-11-09",
            [12, 12, 13, 13],
            [16, 16, 17, 17],
            id="autumn 2027-10-31",
        ),
    ],
)
async def test_series_booked_at_rome_time(service, body, studios, first, until, utc_hours, baku):
    start = utc(first)
    result = await service.create(
        body(
            title="Roman hour",
            studios=["ansa", "trend"],  # the first studio's zone drives the repetition
            starts_at=first,
            ends_at=(start + timedelta(hours=1)).isoformat(),
            recurrence={"until": until},
        ),
        "producer",
    )
    assert not result.skipped
    starts = [b.starts_at for b in result.created]
    assert [s.hour for s in starts] == utc_hours
    assert {f"{studios['ansa'].local(s):%H:%M}" for s in starts} == {"14:00"}
    assert [studios["trend"].local(s).hour for s in starts] == baku


@pytest.mark.parametrize(
    ("wall", "zone_name", "expected"),
    [
        pytest.param("2027-03-28T01:30", "Europe/Rome", "2027-03-28T00:30:00Z", id="before spring"),
        pytest.param("2027-03-28T03:30", "Europe/Rome", "2027-03-28T01:30:00Z", id="after spring"),
        pytest.param("2026-10-25T01:30", "Europe/Rome", "2026-10-24T23:30:00Z", id="before autumn"),
        pytest.param("2026-10-25T03:30", "Europe/Rome", "2026-10-25T02:30:00Z", id="after autumn"),
        pytest.param("2026-12-01T18:00", "Asia/Baku", "2026-12-01T14:00:00Z", id="Baku"),
        pytest.param("2026-12-01T20:00", "Asia/Bishkek", "2026-12-01T14:00:00Z", id="Bishkek"),
        pytest.param(
            "2026-10-25T02:30+01:00",
            "Europe/Rome",
            "2026-10-25T01:30:00Z",
            id="an explicit offset settles the ambiguous hour",
        ),
    ],
)
def test_from_wall_clock(wall, zone_name, expected):
    assert from_wall_clock(wall, zone_name) == utc(expected)


@pytest.mark.parametrize(
    ("wall", "zone_name", "message"),
    [
        pytest.param(
            "2027-03-28T02:30",
            "Europe/Rome",
            "2027-03-28 02:30 does not exist in Europe/Rome (clocks go forward)",
            id="nonexistent spring-forward hour",
        ),
        pytest.param(
            "2026-10-25T02:30",
            "Europe/Rome",
            "2026-10-25 02:30 happens twice in Europe/Rome (clocks go back); give the UTC offset",
            id="ambiguous fall-back hour",
        ),
        pytest.param(
            "2027-03-28T02:00",
            "Europe/Rome",
            "2027-03-28 02:00 does not exist in Europe/Rome (clocks go forward)",
            id="first minute of the skipped hour",
        ),
        pytest.param(
            "2026-10-25T02:59",
            "Europe/Rome",
            "2026-10-25 02:59 happens twice in Europe/Rome (clocks go back); give the UTC offset",
            id="last minute of the repeated hour",
        ),
        pytest.param(
            "2026-12-01T18:00",
            "Asia/Atlantis",
            '"Asia/Atlantis" is not a known IANA time zone',
            id="unknown zone",
        ),
        pytest.param(
            "first of December",
            "Asia/Baku",
            '"first of December" is not a date and time',
            id="not a time",
        ),
    ],
)
def test_from_wall_clock_refuses_guessing(wall, zone_name, message):
    with pytest.raises(TimeInputError) as caught:
        from_wall_clock(wall, zone_name)
    assert str(caught.value) == message
