"""A booking's timeline: when its join links work, when its room is open, which phase a show is
in, and which lifecycle steps the clock has made due.

Line check (setup) starts at `busy_from`; the show is on air from `starts_at` to `ends_at`; the
studios stay booked for the teardown after it (`busy_until`), and join links, and with them the
room and its TURN credentials, last until the teardown's end plus the join grace: a show that
has ended keeps its room for that whole window, as its links promise. Everything here is a pure
function of a booking and a time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from schedules.model import BLOCKING_STATUSES, Booking, BookingStatus
from schedules.rules.lifecycle import Action, next_status

# A link of a booking in these states can never open again.
DEAD = frozenset({BookingStatus.CANCELLED, BookingStatus.DECLINED})
# The bookings whose room may be open: a completed show keeps its room to the window's end.
ROOM_STATUSES = BLOCKING_STATUSES | {BookingStatus.COMPLETED}


class JoinState(enum.StrEnum):
    """What a join link can do right now."""

    OPEN = "open"
    NOT_YET = "not_yet"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Phase(enum.StrEnum):
    """Where a show stands, as master control shows it."""

    UPCOMING = "upcoming"
    LINE_CHECK = "line_check"
    ON_AIR = "on_air"
    TEARDOWN = "teardown"


@dataclass(frozen=True)
class JoinWindow:
    """When a booking's join links work: from `valid_from` up to, not including, `valid_until`."""

    valid_from: datetime
    valid_until: datetime


def join_window(booking: Booking, grace_minutes: int) -> JoinWindow:
    """From setup (line check) start to the teardown's end plus the grace minutes."""
    return JoinWindow(booking.busy_from, booking.busy_until + timedelta(minutes=grace_minutes))


def join_state(booking: Booking, now: datetime, grace_minutes: int) -> JoinState:
    """Whether a link of `booking` opens now, later, or never again (a completed show's link
    works to the window's end: the studios may stay on the line after air)."""
    if booking.status in DEAD:
        return JoinState.CANCELLED
    w = join_window(booking, grace_minutes)
    if now < w.valid_from:
        return JoinState.NOT_YET
    if now >= w.valid_until:
        return JoinState.CLOSED
    return JoinState.OPEN


def room_due(booking: Booking, now: datetime, grace_minutes: int) -> bool:
    """Whether the booking's room should be open at `now`: inside its join window.

    The status is the caller's to judge (the autopilot reads only blocking bookings).
    """
    w = join_window(booking, grace_minutes)
    return w.valid_from <= now < w.valid_until


def phase(now: datetime, *, opens_at: datetime, on_air_at: datetime, off_air_at: datetime) -> Phase:
    """The phase of a show at `now`, given when its room opens, it goes on air and off air.

    Master control judges an open room by the moments it was opened with (they outlive a
    database outage), hence moments rather than a booking: a booking's are its `busy_from`,
    `starts_at` and `ends_at`.
    """
    if now < on_air_at:
        return Phase.LINE_CHECK if now >= opens_at else Phase.UPCOMING
    return Phase.ON_AIR if now < off_air_at else Phase.TEARDOWN


def on_air(booking: Booking, now: datetime) -> bool:
    """Whether `booking`'s show is on air at `now`: from its start to its end."""
    return booking.starts_at <= now < booking.ends_at


def records_now(booking: Booking, now: datetime) -> bool:
    """Whether `booking`'s room should be recording at `now` (unless stopped by hand)."""
    return booking.record and on_air(booking, now)


def steps_due(booking: Booking, now: datetime) -> tuple[Action, ...]:
    """The lifecycle steps the clock has made due, in order: a confirmed booking goes live at
    its start, a live one completes at its end (both at once when the autopilot was away)."""
    steps: list[Action] = []
    status = booking.status
    if status is BookingStatus.CONFIRMED and booking.starts_at <= now:
        steps.append(Action.GO_LIVE)
        status = next_status(status, Action.GO_LIVE)
    if status is BookingStatus.LIVE and now >= booking.ends_at:
        steps.append(Action.COMPLETE)
    return tuple(steps)
