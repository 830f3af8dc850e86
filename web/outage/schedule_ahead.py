"""The schedule as the server last read it: what the autopilot and the join links go by while
the database is down.

A show must start on time even when the booking database has gone away: its studios hold their
join links, and nothing about the show changes while nobody can edit bookings. So the autopilot
keeps the next hours' bookings and their studios in memory, read again every few seconds while
the database answers. A booking changed after the last read (within REFRESH_S of the outage) is
the one thing this can get wrong; the next read after the outage puts it right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schedules.model import Booking, Studio
from schedules.rules.timeline import ROOM_STATUSES, room_due
from schedules.service import BookingService

LOOKAHEAD = timedelta(hours=12)  # an outage longer than this stops new shows from opening
REFRESH_S = 5.0


@dataclass(frozen=True)
class ScheduleAhead:
    """The bookings whose join window overlaps [read_at - grace, read_at + LOOKAHEAD]."""

    read_at: datetime
    bookings: tuple[Booking, ...]
    studios: dict[str, Studio] = field(default_factory=dict)

    def due(self, now: datetime, grace_minutes: int) -> list[Booking]:
        """The bookings whose room should be open at `now`."""
        return [b for b in self.bookings if room_due(b, now, grace_minutes)]

    def booking(self, booking_id: str) -> Booking | None:
        """One of the bookings read, if it was among them."""
        return next((b for b in self.bookings if b.id == booking_id), None)

    def with_booking(self, booking: Booking, studios: dict[str, Studio]) -> ScheduleAhead:
        """This schedule with `booking` as just read (a room opened for it)."""
        others = tuple(b for b in self.bookings if b.id != booking.id)
        return ScheduleAhead(self.read_at, (*others, booking), {**self.studios, **studios})

    def covers(self, now: datetime) -> bool:
        """Whether `now` is still inside what was read."""
        return now < self.read_at + LOOKAHEAD


async def read_ahead(bookings: BookingService, now: datetime, grace: timedelta) -> ScheduleAhead:
    """Read the schedule from `now` (raises like any read while the database is down)."""
    found = await bookings.search(
        start=now - grace, end=now + LOOKAHEAD, statuses=list(ROOM_STATUSES)
    )
    ids = sorted({sid for b in found for sid in b.studio_ids})
    studios = await bookings.studios_by_id(ids) if ids else {}
    return ScheduleAhead(now, tuple(found), studios)
