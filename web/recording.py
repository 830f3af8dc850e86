"""Recording policy: when a room records, where the files go, and their archive entries.

The bridge records and finalizes; this module decides when (on air at the booking's start when
it says record, off at its end, or by the producer's hand) and registers the finished files.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from bridge.recorder import FinishedFile
from bridge.room import Room
from schedules.archive import Archive, RecordingFile
from schedules.model import Booking

log = logging.getLogger("telebridge.web.recording")


class RecordingControl:
    """Starts and stops rooms' recordings and keeps the archive in step."""

    def __init__(self, archive: Archive, root: Path) -> None:
        self.archive = archive
        self.root = root
        self.active: dict[str, str] = {}  # booking id -> recording id
        # Bookings whose recording the producer stopped: the autopilot leaves them stopped.
        self.stopped_by_hand: set[str] = set()
        # The autopilot and a producer's click may arrive together: one change at a time.
        self._lock = asyncio.Lock()

    def is_recording(self, booking_id: str) -> bool:
        """Whether the booking's room is recording now."""
        return booking_id in self.active

    async def start(self, booking: Booking, room: Room, now: datetime) -> bool:
        """Record the room's program (continuing an unfinished recording of the booking)."""
        async with self._lock:
            return await self._start(booking, room, now)

    async def _start(self, booking: Booking, room: Room, now: datetime) -> bool:
        if booking.id in self.active:
            return False
        recording = await self.archive.open_recording(
            booking.id, booking.title, booking.studio_ids, now
        )
        directory = self.root / recording.directory
        if not room.start_recording(directory):
            return False
        self.active[booking.id] = recording.id
        log.info(
            "recording started booking=%s recording=%s part=%d",
            booking.id,
            recording.id,
            recording.parts,
        )
        return True

    async def stop(self, booking_id: str, room: Room | None, now: datetime) -> bool:
        """Stop, finalize and register the booking's recording; False when none was running."""
        async with self._lock:
            return await self._stop(booking_id, room, now)

    async def _stop(self, booking_id: str, room: Room | None, now: datetime) -> bool:
        recording_id = self.active.pop(booking_id, None)
        if recording_id is None:
            return False
        finished = await room.stop_recording() if room is not None else None
        if finished is None:
            await self.archive.fail(recording_id, now)
            log.warning(
                "recording %s of booking %s had nothing to finalize", recording_id, booking_id
            )
            return True
        await self.archive.finish(recording_id, now, [program_file(recording_id, finished)])
        log.info(
            "recording finished booking=%s recording=%s bytes=%d sha256=%s",
            booking_id,
            recording_id,
            finished.bytes,
            finished.sha256,
        )
        return True


def program_file(recording_id: str, finished: FinishedFile) -> RecordingFile:
    """The archive record of a finalized program file."""
    return RecordingFile(
        recording_id=recording_id,
        name=finished.path.name,
        kind="program",
        studio_id=None,
        media_type="video/mp4",
        bytes=finished.bytes,
        sha256=finished.sha256,
        duration_s=round(finished.duration_s, 3),
    )
