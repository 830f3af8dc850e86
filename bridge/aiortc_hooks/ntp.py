"""NTP time as aiortc's clock gives it, without its timezone-aware datetimes."""

from __future__ import annotations

import time

NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP's epoch) to 1970-01-01


def ntp_time() -> int:
    """Now as a 64-bit NTP timestamp, as aiortc's clock.current_ntp_time() gives it (which
    goes through timezone-aware datetimes: a few microseconds, on every relayed packet)."""
    now = time.time() + NTP_UNIX_OFFSET
    seconds = int(now)
    return (seconds << 32) | int((now - seconds) * 0xFFFFFFFF)


def ntp_ms() -> int:
    """Now in milliseconds since NTP's epoch, as aiortc's clock.current_ms() gives it."""
    return int((time.time() + NTP_UNIX_OFFSET) * 1000)
