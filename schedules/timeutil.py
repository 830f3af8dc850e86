"""Time at the edges: RFC 3339 in, aware UTC inside, wall clocks of IANA zones out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_ZONES: frozenset[str] | None = None


class TimeInputError(ValueError):
    """A time that cannot be read without guessing."""


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
    return parsed.astimezone(UTC)


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
        return naive.astimezone(UTC)
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
    return first.astimezone(UTC)


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
