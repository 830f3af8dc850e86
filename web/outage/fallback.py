"""The one thing the rest of the server asks about a database outage.

While the database is down, live rooms go on: the autopilot opens, records and closes rooms by
the schedule it read last, join pages and the producer's controls find their booking there,
callers whose credential the database accepted before are still recognised, and audit lines
wait in order for the database. Each of those is its own small part of `web.outage`; this
facade puts them behind one object, so that a route or the autopilot asks "the booking now",
"who is this caller", "log this line" and never tells a down database from a real error
itself.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta

from schedules.model import Booking, Studio
from schedules.outage import DatabaseUnavailable, database_down
from schedules.rules.access import Principal
from schedules.service import BookingService, Clock
from web.outage.audit_outbox import AuditLine, AuditOutbox
from web.outage.database_watch import DatabaseWatch
from web.outage.remembered_callers import RememberedCallers
from web.outage.schedule_ahead import REFRESH_S, ScheduleAhead, read_ahead


class OutageFallback:
    """The database's state and everything the server goes by while it is down."""

    def __init__(
        self,
        bookings: BookingService,
        watch: DatabaseWatch,
        audit: AuditOutbox,
        clock: Clock,
        callers: RememberedCallers | None = None,
    ) -> None:
        self.bookings = bookings
        self.watch = watch
        self.audit = audit
        self.clock = clock
        self.callers = callers or RememberedCallers()
        self.schedule: ScheduleAhead | None = None
        self._schedule_read = -math.inf  # loop time of the last read

    @property
    def up(self) -> bool:
        """Whether the database answered the watch's last ping."""
        return self.watch.up

    def status(self) -> str:
        """`ok`, or `unavailable` while the database is down (for /healthz)."""
        return self.watch.status()

    # The schedule as last read

    async def refresh_schedule(self, now: datetime, grace: timedelta) -> None:
        """Read the next hours' bookings again when the last read is REFRESH_S old (raises
        like any read while the database is down)."""
        loop_now = asyncio.get_running_loop().time()
        if loop_now - self._schedule_read >= REFRESH_S:
            self.schedule = await read_ahead(self.bookings, now, grace)
            self._schedule_read = loop_now

    def due(self, now: datetime, grace_minutes: int) -> list[Booking] | None:
        """The bookings whose room should be open at `now` by the schedule read last; None
        when nothing was read that covers `now`."""
        if self.schedule is None or not self.schedule.covers(now):
            return None
        return self.schedule.due(now, grace_minutes)

    def keep(self, booking: Booking, studios: dict[str, Studio]) -> None:
        """Keep `booking` as just read (its room opened), even one booked since the last read."""
        schedule = self.schedule or ScheduleAhead(self.clock(), ())
        self.schedule = schedule.with_booking(booking, studios)

    def remembered(self, booking_id: str) -> Booking | None:
        """The booking as read last, if it is among the next hours' shows."""
        if self.schedule is None or not self.schedule.covers(self.clock()):
            return None
        return self.schedule.booking(booking_id)

    async def booking_now(self, booking_id: str) -> tuple[Booking, bool]:
        """The booking as stored (True), or while the database is down as read last (False):
        join links, the producer's controls and the booking page go on through an outage.
        The database's error when it knows neither (NotFound, or a 503)."""
        try:
            return await self.bookings.get(booking_id), True
        except Exception as exc:
            booking = self.remembered(booking_id) if database_down(exc) else None
            if booking is None:
                raise
            return booking, False

    async def studios_now(self, ids: tuple[str, ...]) -> dict[str, Studio]:
        """The studios as stored, or as read last while the database is down."""
        try:
            if not self.up:
                raise DatabaseUnavailable(ConnectionError("the database watch says it is down"))
            return await self.bookings.studios_by_id(ids)
        except Exception as exc:
            if not database_down(exc) or self.schedule is None:
                raise
            return {sid: s for sid, s in self.schedule.studios.items() if sid in ids}

    # Callers

    def accepted(self, digest: str, caller: Principal, expires: datetime | None) -> None:
        """The database accepted this credential just now: remember it for an outage."""
        self.callers.remember(digest, caller, self.clock(), expires)

    def refused(self, digest: str) -> None:
        """The credential was ended or refused: forget it."""
        self.callers.forget(digest)

    def caller(self, digest: str, exc: Exception) -> Principal:
        """Who this credential was when the database last accepted it, while the database is
        down (the show goes on: the producer's controls and master control keep working).
        Otherwise `exc` (a 503, or the real error) goes on up."""
        if not database_down(exc):
            raise exc
        p = self.callers.recall(digest, self.clock())
        if p is None:
            raise exc
        return p

    # The audit log

    def log_later(self, line: AuditLine) -> None:
        """Queue an audit line (never blocks; written in order, through an outage)."""
        self.audit.put(line)

    async def log(self, line: AuditLine) -> None:
        """Write an audit line now, or queue it while the database is down."""
        await self.audit.write(line)
