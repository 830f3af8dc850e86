"""Time at the edges: RFC 3339 in, aware UTC inside, wall clocks of IANA zones out."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_ZONES: frozenset[str] | None = None

# The times the service takes in, at the edges: Python's datetime ends with the year 9999, and
# a booking's line check, teardown and join grace (hours), a weekly series (a year), a query's
# day (+1 day) and a zone's offset are added to what is read. Years 1970 to 2099 leave every
# such sum far inside that range, and are more than any telebridge needs.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive
RANGE_TEXT = f"between {EARLIEST:%Y-%m-%d} and {LATEST - timedelta(days=1):%Y-%m-%d}"


class TimeInputError(ValueError):
    """A time that cannot be read without guessing."""


class TimeOutOfRange(TimeInputError):
    """A time read well, but outside the years the service takes (EARLIEST..LATEST)."""


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA zone this machine knows."""
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return name in _ZONES


def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or TimeInputError."""
    if not known_zone(name):
        raise TimeInputError(f'"{name}" is not a known IANA time zone')
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeInputError(f'"{name}" is not a known IANA time zone') from None


def parse_rfc3339(value: object) -> datetime:
    """An aware UTC datetime from RFC 3339 text with an offset or Z; naive times are refused."""
    if not isinstance(value, str):
        raise TimeInputError("must be a date and time as text, such as 2026-12-01T14:00:00+04:00")
    text = value.strip()
    if "T" not in text and " " not in text:
        raise TimeInputError("needs a time of day and an offset, such as 2026-12-01T14:00:00+04:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise TimeInputError(f'"{value}" is not an RFC 3339 date and time') from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise TimeInputError(
            f'"{value}" has no UTC offset; write it as 2026-12-01T14:00:00+04:00 or with Z'
        )
    return in_range(parsed)


def in_range(moment: datetime) -> datetime:
    """An aware `moment` in UTC, or TimeOutOfRange when it lies outside EARLIEST..LATEST."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-23:59 is past the year 9999 in UTC
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise TimeOutOfRange(f"must be {RANGE_TEXT} (UTC)")
    return utc


def parse_day(value: str) -> datetime:
    """00:00 UTC of a plain date ("2026-12-01"), or TimeInputError."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise TimeInputError(f'"{value}" is not a date such as 2026-12-01') from None
    return in_range(datetime.combine(day, time(0), UTC))


def from_wall_clock(value: str, zone_name: str) -> datetime:
    """An aware UTC datetime from a wall-clock time ("2026-12-01T14:00") in an IANA zone.

    A time that the zone skips (spring forward) or shows twice (fall back) is refused rather
    than guessed: a show must not move by an hour because of a daylight-saving switch.
    """
    tz = zone(zone_name)
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        raise TimeInputError(f'"{value}" is not a date and time') from None
    if naive.tzinfo is not None:
        return in_range(naive)
    if not EARLIEST.year <= naive.year < LATEST.year:  # before a zone's offset can overflow
        raise TimeOutOfRange(f"must be {RANGE_TEXT}")
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        if _roundtrips(first):
            raise TimeInputError(
                f"{naive:%Y-%m-%d %H:%M} happens twice in {zone_name} (clocks go back); "
                "give the UTC offset"
            )
        raise TimeInputError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {zone_name} (clocks go forward)"
        )
    return in_range(first)


def _roundtrips(moment: datetime) -> bool:
    return moment.astimezone(UTC).astimezone(moment.tzinfo).replace(tzinfo=None) == (
        moment.replace(tzinfo=None)
    )


def utc_now() -> datetime:
    """Now, aware UTC (the default clock)."""
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """`moment` as RFC 3339 text; UTC moments end in Z."""
    if moment.utcoffset() == timedelta(0):
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.isoformat(timespec="seconds")
