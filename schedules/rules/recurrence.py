"""Weekly occurrences of a booking at the same wall-clock time in one IANA zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schedules.model import Recurrence
from schedules.timeutil import zone

MAX_OCCURRENCES = 60


def weekly_occurrences(
    starts_at: datetime, ends_at: datetime, recurrence: Recurrence, default_zone: str
) -> list[tuple[datetime, datetime]]:
    """(start, end) in UTC for every occurrence from the first up to `recurrence.until`.

    Stepping happens on the wall clock of the zone, not in UTC, so daylight-saving switches keep
    the local time and move the UTC time. The duration stays the same in real time.
    """
    tz = zone(recurrence.timezone or default_zone)
    duration = ends_at - starts_at
    local_first = starts_at.astimezone(tz).replace(tzinfo=None)
    step = timedelta(weeks=recurrence.interval_weeks)
    out: list[tuple[datetime, datetime]] = []
    wall = local_first
    while wall.date() <= recurrence.until and len(out) < MAX_OCCURRENCES:
        start = wall.replace(tzinfo=tz).astimezone(UTC)
        out.append((start, start + duration))
        wall += step
    return out
