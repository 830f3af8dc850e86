"""Recording policy: when a room records, where the files go, and their archive entries.

The bridge records and finalizes; this module decides when (on air at the booking's start when
it says record, off at its end, or by the producer's hand) and registers the finished files.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from bridge.recorder import finalize_directory
from bridge.room import RecordedFile, Room
from schedules.archive import Archive, RecordingFile
from schedules.errors import ScheduleError
from schedules.model import Booking
from schedules.outage import database_down, describe
from schedules.service import BookingService

log = logging.getLogger("telebridge.web.recording")


ISO_PREFIX = "iso-"


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
        # Finished recordings whose archive entry could not be written (database down).
        self.unregistered: list[tuple[str, datetime, list[RecordingFile]]] = []

    async def register_finished(self) -> int:
        """Register files that finished while the database was down; how many entries."""
        done = 0
        while self.unregistered:
            recording_id, ended, entries = self.unregistered[0]
            await self.archive.finish(recording_id, ended, entries)  # raises while still down
            self.unregistered.pop(0)
            log.info("recording %s registered after the database came back", recording_id)
            done += 1
        return done

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
        files = await room.stop_recording() if room is not None else []
        if not any(f.kind == "program" for f in files):
            await self.archive.fail(recording_id, now)
            log.warning(
                "recording %s of booking %s had nothing to finalize", recording_id, booking_id
            )
            return True
        entries = [archive_file(recording_id, f) for f in files]
        try:
            await self.archive.finish(recording_id, now, entries)
        except Exception as exc:
            if not database_down(exc):
                raise
            # The files are finished on disk; only their archive entry waits for the database.
            self.unregistered.append((recording_id, now, entries))
            log.warning(
                "recording %s finished but not yet in the archive (%s); retrying",
                recording_id,
                describe(exc),
            )
            return True
        log.info(
            "recording finished booking=%s recording=%s files=%d",
            booking_id,
            recording_id,
            len(files),
        )
        return True

    async def suspend(self, booking_id: str, room: Room | None) -> None:
        """The server is going down mid-show: stop writing, finalize nothing; the next start
        continues the same archive entry as a new part."""
        async with self._lock:
            if self.active.pop(booking_id, None) is not None and room is not None:
                await room.suspend_recording()
                log.info("recording suspended booking=%s", booking_id)

    async def recover(self, bookings: BookingService, now: datetime) -> int:
        """Finalize recordings left unfinished by a crash whose show is over; how many."""
        done = 0
        for rec in await self.archive.search(finished_only=False, status="recording"):
            try:
                booking = await bookings.get(rec.booking_id)
                if booking.starts_at <= now < booking.ends_at and booking.record:
                    continue  # still on air: the autopilot continues it as a new part
            except ScheduleError:
                pass
            directory = self.root / rec.directory
            found = (
                await asyncio.get_running_loop().run_in_executor(
                    None, finalize_directory, directory
                )
                if directory.exists()
                else []
            )
            files = [
                archive_file(
                    rec.id,
                    RecordedFile(
                        "program" if name == "program" else "iso",
                        name.removeprefix(ISO_PREFIX) if name.startswith(ISO_PREFIX) else None,
                        finished,
                    ),
                )
                for name, finished in found
            ]
            if any(f.kind == "program" for f in files):
                await self.archive.finish(rec.id, now, files)
            else:
                await self.archive.fail(rec.id, now)
            log.info(
                "recovered recording %s of booking %s: %d files", rec.id, rec.booking_id, len(files)
            )
            done += 1
        return done


def archive_file(recording_id: str, recorded: RecordedFile) -> RecordingFile:
    """The archive record of a finalized file (the program's MP4 or a studio's WebM)."""
    f = recorded.file
    return RecordingFile(
        recording_id=recording_id,
        name=f.path.name,
        kind=recorded.kind,
        studio_id=recorded.studio_id,
        media_type="video/mp4" if f.path.suffix == ".mp4" else "video/webm",
        bytes=f.bytes,
        sha256=f.sha256,
        duration_s=round(f.duration_s, 3),
    )
