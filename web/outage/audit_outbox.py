"""Audit lines that must reach the booking's log even when the database is away for a while.

What happens on air during a database outage (a studio rejoins, the producer switches the
program or pulls a fader) happens all the same; its line in the partners' audit log waits in
a bounded queue and is written, in order, once the database answers again. Anything else that
goes wrong writing a line is logged and the line dropped: it must never stop the show.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from schedules.outage import database_down, describe
from schedules.service import BookingService, Clock
from schedules.timeutil import utc_now
from web.tasks import cancel_and_wait, sleep_until

log = logging.getLogger("telebridge.web.audit")

OUTBOX_LINES = 2000  # a long outage of a busy server: the oldest lines are kept, the rest dropped
RETRY_S = 2.0
FLUSH_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class AuditLine:
    """One line of a booking's audit log."""

    booking_id: str
    actor: str
    action: str
    details: dict[str, Any] = field(default_factory=dict)
    # When it happened; None: when the outbox is handed it. A line that waits out an outage
    # keeps this time, not the time the database came back.
    at: datetime | None = None


class AuditOutbox:
    """Writes audit lines now when it can, later (in order) while the database is down."""

    def __init__(
        self, bookings: BookingService, size: int = OUTBOX_LINES, clock: Clock = utc_now
    ) -> None:
        self.bookings = bookings
        self.size = size
        self.clock = clock
        self._lines: deque[AuditLine] = deque()
        self._ready = asyncio.Event()  # set while lines wait
        self._task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """Lines waiting for the database."""
        return len(self._lines)

    async def write(self, line: AuditLine) -> None:
        """Write `line` now; while the database is down (or lines wait already), queue it."""
        line = self._stamped(line)
        if not self._lines:
            try:
                await self._write_once(line)
                return
            except Exception as exc:
                if not database_down(exc):
                    self._dropped(line, exc)
                    return
        self.put(line)

    def put(self, line: AuditLine) -> None:
        """Queue `line` for the writer (never blocks; a full queue drops it and says so)."""
        line = self._stamped(line)
        if len(self._lines) >= self.size:
            log.warning(
                "audit queue full: %s of booking %s not logged", line.action, line.booking_id
            )
            return
        self._lines.append(line)
        self._ready.set()

    def start(self) -> None:
        """Run the writer in the background."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stop the writer, then try once more to write what waits (bounded in time)."""
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await asyncio.wait_for(self._drain(), FLUSH_TIMEOUT_S)
        except Exception as exc:
            log.warning("%d audit lines not logged at shutdown: %s", self.waiting, describe(exc))

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            try:
                await self._drain()
            except Exception as exc:  # down: keep every line and try again
                log.debug("audit lines wait for the database: %s", describe(exc))
                # RETRY_S by the app's clock: a test's clock holds the next try until moved.
                await sleep_until(self.clock, self.clock() + timedelta(seconds=RETRY_S), RETRY_S)

    async def _drain(self) -> None:
        """Write waiting lines in order; raises (keeping the line) while the database is down."""
        while self._lines:
            line = self._lines[0]  # taken off only once written (or refused for good)
            try:
                await self._write_once(line)
            except Exception as exc:
                if database_down(exc):
                    raise
                self._dropped(line, exc)
            self._lines.popleft()
        self._ready.clear()

    def _stamped(self, line: AuditLine) -> AuditLine:
        return line if line.at is not None else replace(line, at=self.clock())

    async def _write_once(self, line: AuditLine) -> None:
        await self.bookings.note(line.booking_id, line.actor, line.action, line.details, at=line.at)

    @staticmethod
    def _dropped(line: AuditLine, exc: BaseException) -> None:
        log.warning(
            "could not log %s of booking %s: %s", line.action, line.booking_id, describe(exc)
        )
