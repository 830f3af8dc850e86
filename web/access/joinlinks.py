"""Join links: one signed URL per booking and studio, valid from setup start to end + grace."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from schedules.model import Booking, BookingStatus
from web.access.security import Signer

JOIN_PURPOSE = "join"
CALENDAR_PURPOSE = "calendar"
# A link of a booking in these states can never open again.
DEAD = frozenset({BookingStatus.CANCELLED, BookingStatus.DECLINED, BookingStatus.COMPLETED})


class JoinState(enum.StrEnum):
    """What a join link can do right now."""

    OPEN = "open"
    NOT_YET = "not_yet"
    CLOSED = "closed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class JoinWindow:
    """When a booking's join links work."""

    valid_from: datetime
    valid_until: datetime


def window(booking: Booking, grace_minutes: int) -> JoinWindow:
    """From setup (line check) start to the show's end plus the grace minutes."""
    return JoinWindow(booking.busy_from, booking.ends_at + timedelta(minutes=grace_minutes))


def join_token(signer: Signer, booking_id: str, studio_id: str) -> str:
    """The signed token of one studio's join link (stable, so sent invitations stay valid)."""
    return signer.sign(JOIN_PURPOSE, {"b": booking_id, "s": studio_id})


def join_path(signer: Signer, booking_id: str, studio_id: str) -> str:
    """The path and query of a join link."""
    token = join_token(signer, booking_id, studio_id)
    return f"/join/{quote(booking_id)}/{quote(studio_id)}?token={quote(token)}"


def token_matches(signer: Signer, token: str | None, booking_id: str, studio_id: str) -> bool:
    """Whether `token` is the join token of exactly this booking and studio."""
    payload = signer.unsign(JOIN_PURPOSE, token or "")
    return payload is not None and payload == {"b": booking_id, "s": studio_id}


def join_state(booking: Booking, now: datetime, grace_minutes: int) -> JoinState:
    """Whether a link of `booking` opens now, later, or never again."""
    if booking.status in DEAD:
        return (
            JoinState.CANCELLED
            if booking.status is not BookingStatus.COMPLETED
            else (JoinState.CLOSED)
        )
    w = window(booking, grace_minutes)
    if now < w.valid_from:
        return JoinState.NOT_YET
    if now >= w.valid_until:
        return JoinState.CLOSED
    return JoinState.OPEN


def calendar_token(signer: Signer, studio_id: str) -> str:
    """The token of a studio's calendar subscription feed."""
    return signer.sign(CALENDAR_PURPOSE, {"s": studio_id})


def calendar_token_matches(signer: Signer, token: str | None, studio_id: str) -> bool:
    """Whether `token` opens the calendar feed of `studio_id`."""
    return signer.unsign(CALENDAR_PURPOSE, token or "") == {"s": studio_id}
