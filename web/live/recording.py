"""Recording policy: when a room records, where the files go, and their archive entries.

The bridge records and finalizes; this module decides when (on air at the booking's start when
it says record, off at its end, or by the producer's hand) and registers the finished files.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from bridge.recording.directory import finalize_directory, first_written
from bridge.room import Room
from bridge.spec import RecordedFile
from schedules.archive import Archive, Recording, RecordingFile
from schedules.errors import ScheduleError
from schedules.model import Booking
from schedules.outage import database_down, describe
from schedules.rules.timeline import records_now
from schedules.service import BookingService

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
        # Recordings started while the database was down: their archive entry waits for it.
        self.unstored: list[Recording] = []
        # Finished recordings whose archive entry could not be written (database down).
        self.unregistered: list[tuple[str, datetime, list[RecordingFile]]] = []

    async def catch_up(self) -> int:
        """Store the archive entries that waited for the database (raises while it is still
        down): the recordings started, then the files finished meanwhile; how many entries."""
        done = 0
        while self.unstored:
            await self.archive.add_recording(self.unstored[0])
            recording = self.unstored.pop(0)
            log.info("recording %s stored after the database came back", recording.id)
            done += 1
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
        stored = True
        try:
            recording = await self.archive.open_recording(
                booking.id, booking.title, booking.studio_ids, now
            )
        except Exception as exc:
            if not database_down(exc):
                raise
            # The show must be recorded all the same: a new entry of its own, stored later.
            recording = self.archive.new_recording(
                booking.id, booking.title, booking.studio_ids, now
            )
            stored = False
        directory = self.root / recording.directory
        if not room.start_recording(directory):
            return False
        self.active[booking.id] = recording.id
        if not stored:
            self.unstored.append(recording)
        log.info(
            "recording started booking=%s recording=%s part=%d%s",
            booking.id,
            recording.id,
            recording.parts,
            "" if stored else " (archive entry waits for the database)",
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
            log.warning(
                "recording %s of booking %s had nothing to finalize", recording_id, booking_id
            )
            never_stored = [r for r in self.unstored if r.id == recording_id]
            if never_stored:  # no entry to mark failed: it never reached the archive
                self.unstored.remove(never_stored[0])
                return True
            try:
                await self.archive.fail(recording_id, now)
            except Exception as exc:
                if not database_down(exc):
                    raise
                # Left "recording": the next start's recovery finds no program and fails it.
                log.warning("recording %s not marked failed: %s", recording_id, describe(exc))
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

    async def adopt_orphans(self, bookings: BookingService) -> int:
        """Store the archive entries of recording directories the archive does not know: a
        recording started while the database was down, and the server stopped before it came
        back. Their files are on disk; `recover` then finishes them like any other."""
        known = await self.archive.directories()
        found = await asyncio.get_running_loop().run_in_executor(
            None, _recording_directories, self.root
        )
        adopted = 0
        for directory, written_at in found:
            if directory in known:
                continue
            booking_id, recording_id = directory.split("/")
            try:
                booking = await bookings.get(booking_id)
            except ScheduleError:
                log.warning("recording directory %s belongs to no booking; left alone", directory)
                continue
            await self.archive.add_recording(
                Recording(
                    recording_id,
                    booking_id,
                    booking.title,
                    booking.studio_ids,
                    "recording",
                    directory,
                    written_at,
                    None,
                    None,
                    1,
                )
            )
            log.info("recording %s of booking %s adopted from disk", recording_id, booking_id)
            adopted += 1
        return adopted

    async def delete_files(self, recording: Recording) -> None:
        """Remove a recording's directory from this disk (off the event loop)."""
        root = self.root.resolve()
        directory = (root / recording.directory).resolve()
        if directory.is_relative_to(root) and directory != root and directory.exists():
            await asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, directory)

    async def recover(
        self,
        bookings: BookingService,
        now: datetime,
        elsewhere: Callable[[str], Awaitable[bool]] | None = None,
    ) -> int:
        """Finalize recordings left unfinished by a crash whose show is over; how many.

        In a cluster `elsewhere` says whether a booking's room runs on another live node. A
        recording's parts are then on the disks of the nodes that recorded them: this node
        finishes only what is on its own disk, and a part of a show that another node went
        on with (it took the room over while this node was down) is filed at once as a
        recording of its own, so that nothing on this disk is invisible to the archive."""
        done = 0
        if elsewhere is not None:
            done += await self._file_parts_continued_elsewhere(bookings, now, elsewhere)
        await self.adopt_orphans(bookings)
        for rec in await self.archive.search(finished_only=False, status="recording"):
            directory = self.root / rec.directory
            if elsewhere is not None and not directory.exists():
                continue  # recorded on another node's disk: that node finishes it
            try:
                booking = await bookings.get(rec.booking_id)
                if records_now(booking, now):
                    continue  # still on air: the autopilot continues it as a new part
            except ScheduleError:
                pass
            found = (
                await asyncio.get_running_loop().run_in_executor(
                    None, finalize_directory, directory
                )
                if directory.exists()
                else []
            )
            await self._file(rec, found, now)
            done += 1
        return done

    async def _file(self, rec: Recording, found: list[RecordedFile], now: datetime) -> None:
        files = [archive_file(rec.id, f) for f in found]
        if any(f.kind == "program" for f in files):
            await self.archive.finish(rec.id, now, files)
        else:
            await self.archive.fail(rec.id, now)
        log.info(
            "recovered recording %s of booking %s: %d files", rec.id, rec.booking_id, len(files)
        )

    async def _file_parts_continued_elsewhere(
        self, bookings: BookingService, now: datetime, elsewhere: Callable[[str], Awaitable[bool]]
    ) -> int:
        """File each part on this disk of a recording another node went on with (or finished)
        as a recording of its own, under a new id; how many."""
        filed = 0
        for directory, written_at in await asyncio.get_running_loop().run_in_executor(
            None, _recording_directories, self.root
        ):
            booking_id, recording_id = directory.split("/")
            try:
                entry = await self.archive.get(recording_id)
            except ScheduleError:
                continue  # unknown: adopted as an orphan next
            if entry.status == "recording":
                if not await elsewhere(booking_id):
                    continue  # nobody went on with it: recovered or continued here
            elif entry.node_id in (None, self.archive.node_id):
                continue  # finished here: what is left is not media of the show
            part = self.archive.new_recording(booking_id, entry.title, entry.studios, written_at)
            target = self.root / part.directory
            (self.root / directory).rename(target)
            await self.archive.add_recording(part)
            found = await asyncio.get_running_loop().run_in_executor(
                None, finalize_directory, target
            )
            await self._file(part, found, now)
            log.warning(
                "a part of recording %s recorded here was filed as recording %s: another node "
                "went on with the show",
                recording_id,
                part.id,
            )
            filed += 1
        return filed


def archive_file(recording_id: str, f: RecordedFile) -> RecordingFile:
    """The archive record of a finalized file (the program's MP4 or a studio's WebM)."""
    return RecordingFile(
        recording_id=recording_id,
        name=f.name,
        kind=f.kind,
        studio_id=f.studio_id,
        media_type=f.media_type,
        bytes=f.bytes,
        sha256=f.sha256,
        duration_s=round(f.duration_s, 3),
    )


def _recording_directories(root: Path) -> list[tuple[str, datetime]]:
    """Every `<booking>/<recording>` directory under `root` holding media, with the time its
    oldest file was written (off the event loop: it reads the disk)."""
    out: list[tuple[str, datetime]] = []
    if not root.is_dir():
        return out
    for booking_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for rec_dir in sorted(p for p in booking_dir.iterdir() if p.is_dir()):
            oldest = first_written(rec_dir)
            if oldest is not None:
                out.append((f"{booking_dir.name}/{rec_dir.name}", oldest))
    return out
