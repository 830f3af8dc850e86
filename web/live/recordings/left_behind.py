"""Recordings a dead node left unfinished after their show: finished from the object store.

A node that dies in the last seconds of a show (before another node took its room over), or
that stopped mid-show and does not come back, leaves its recording unfinished in the archive,
with its closed segments in the object store. Every SCAN_S each node of a cluster looks for
such recordings: the show over for GRACE_S at least (a live node finishes its own at once), the
room placed nowhere or on a dead node, the directory not on this disk. The node claims the
booking's placement (a compare-and-set: one node wins), copies the segments back, finalizes and
files them, and lets the placement go. The dead node, back one day, finds the entry finished
elsewhere: it drops what the store held and files only the rest (web/live/recordings/control.py).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from schedules.archive import Recording
from schedules.errors import ScheduleError
from schedules.service import BookingService, Clock
from web.cluster.node import ClusterNode
from web.live.recordings.control import RecordingControl
from web.storage.s3 import StorageError
from web.tasks import Repeating, waiting_for_database

log = logging.getLogger("telebridge.web.live")

SCAN_S = 10.0
GRACE_S = 10.0  # after the show's end: its own node, alive, has finished it by then


class LeftBehind:
    """Finishes, from the object store, the recordings that dead nodes left unfinished."""

    def __init__(
        self,
        cluster: ClusterNode,
        recordings: RecordingControl,
        bookings: BookingService,
        clock: Clock,
    ) -> None:
        self.cluster = cluster
        self.recordings = recordings
        self.bookings = bookings
        self.clock = clock
        self.finished = 0  # recordings this node finished for dead ones
        self._scanning = Repeating(
            self.scan,
            SCAN_S,
            "finishing left-behind recordings",
            log,
            wait_first=True,
            waits_for=_waits_for,
        )

    def start(self) -> None:
        self._scanning.start()

    async def stop(self) -> None:
        await self._scanning.stop()

    async def scan(self) -> int:
        """Finish every recording left behind now; how many."""
        if not self.cluster.may_take_over():
            return 0
        done = 0
        unfinished = await self.recordings.archive.search(finished_only=False, status="recording")
        for rec in unfinished:
            if await self._left_behind(rec) and await self._finish(rec):
                done += 1
        return done

    async def _left_behind(self, rec: Recording) -> bool:
        """Whether nobody will finish `rec` but a node that takes it: its show is over (for
        GRACE_S) and it is not being recorded here or on this disk."""
        now = self.clock()
        try:
            booking = await self.bookings.get(rec.booking_id)
        except ScheduleError:
            booking = None  # deleted: its show is over
        if booking is not None and now < booking.ends_at + timedelta(seconds=GRACE_S):
            return False  # on air, or just over: its own node (or the next) records it
        if rec.id in self.recordings.active.values():
            return False
        local = self.recordings.root / rec.directory
        exists = await asyncio.get_running_loop().run_in_executor(None, local.exists)
        return not exists  # on this disk: this node's own recovery finishes it

    async def _finish(self, rec: Recording) -> bool:
        if not await self.cluster.claim_left_behind(rec.booking_id):
            return False  # a live node has it, or another node took it first
        try:
            if not await self.recordings.recovery.finish_from_store(rec, self.clock()):
                return False
        finally:
            await self.cluster.release(rec.booking_id)
        self.finished += 1
        log.warning(
            "recording %s of booking %s, left unfinished by a node that died, was finished "
            "here from the object store",
            rec.id,
            rec.booking_id,
        )
        return True


def _waits_for(exc: Exception) -> str | None:
    """A scan waits out an object store or a database that is away (the uploader and the
    database watch say so once)."""
    if isinstance(exc, StorageError):
        return f"the object store ({exc})"
    return waiting_for_database(exc)
