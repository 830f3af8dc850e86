"""Helpers for tests: time slots relative to today, auth headers."""

from __future__ import annotations

import ipaddress
import os
import socket
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from schedules.timeutil import utc_now
from web.demo import DEMO_PASSWORD

__all__ = ["DEMO_PASSWORD", "bearer", "future_slot", "in_test_network"]

# The veth pair that .ci/netns creates inside a private network namespace (.ci/netns).
TEST_NETWORK = ipaddress.ip_network("10.77.0.0/24")


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


def in_test_network() -> bool:
    """Whether WebRTC traffic would stay on the test veth pair of .ci/netns.

    aioice skips 127.0.0.1, so WebRTC tests need a host address; they must never use this
    machine's own outside address. On a laptop without root, TELEBRIDGE_TEST_ANY_NETWORK=1
    lets them use whatever address the machine has.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.77.0.2", 9))
            source = ipaddress.ip_address(s.getsockname()[0])
    except OSError:
        return False
    if os.environ.get("TELEBRIDGE_TEST_ANY_NETWORK") == "1":
        return not source.is_loopback
    return source in TEST_NETWORK
