"""Helpers for tests: time slots relative to today, auth headers."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from schedules.timeutil import utc_now
from web.demo import DEMO_PASSWORD

__all__ = ["DEMO_PASSWORD", "bearer", "future_slot"]


def future_slot(
    days: int, hour: int, zone: str = "Asia/Baku", minutes: int = 60
) -> tuple[str, str]:
    """(starts_at, ends_at) as RFC 3339 with the zone's offset, `days` from today."""
    tz = ZoneInfo(zone)
    day = (utc_now().astimezone(tz) + timedelta(days=days)).date()
    start = datetime.combine(day, time(hour), tz)
    return start.isoformat(), (start + timedelta(minutes=minutes)).isoformat()


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}
